package templates

import (
	"embed"
	"io/fs"
)

// initFS holds the files `modelgit init` lays out in a new GitOps
// repository. Paths inside are the paths in the repository.
//
//go:embed all:init
var initFS embed.FS

// Init returns the files `modelgit init` writes, rooted at the repository.
func Init() fs.FS {
	sub, err := fs.Sub(initFS, "init")
	if err != nil {
		panic(err) // the embedded tree always has init/
	}
	return sub
}

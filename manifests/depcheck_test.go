package manifests

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNoModelgitImports keeps manifests the leaf of the module: it imports
// no other package of ours.
func TestNoModelgitImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range ast.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, "github.com/modelgit/modelgit") && p != "github.com/modelgit/modelgit/manifests" {
				t.Errorf("%s imports %s; manifests must import no other modelgit package", f, p)
			}
		}
	}
}

package check

import (
	"errors"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/modelgit/modelgit/manifests"
)

// mergeAddsNothing reports whether a merge commit brings no governed
// content of its own: modelgit.yaml and every file under models/,
// environments/, rendered/ and policies/ is, byte for byte, the version
// of one of its parents, and
// every file it drops is absent from one of them. Such a merge (a forge's
// merge button on a clean pull request) needs no signature of its own:
// what it brings in was signed in the commits it merges, which are
// verified themselves. A merge that resolves a conflict by writing new
// content does not pass, and must be signed.
func mergeAddsNothing(c *object.Commit) (bool, error) {
	if c.NumParents() < 2 {
		return false, nil
	}
	files, err := governedFiles(c)
	if err != nil {
		return false, err
	}
	var parents []map[string]plumbing.Hash
	err = c.Parents().ForEach(func(p *object.Commit) error {
		pf, err := governedFiles(p)
		parents = append(parents, pf)
		return err
	})
	if err != nil {
		return false, err
	}
	fromAParent := func(path string, h plumbing.Hash, present bool) bool {
		for _, pf := range parents {
			ph, ok := pf[path]
			if ok == present && (!present || ph == h) {
				return true
			}
		}
		return false
	}
	for path, h := range files {
		if !fromAParent(path, h, true) {
			return false, nil
		}
	}
	for _, pf := range parents {
		for path := range pf {
			if _, ok := files[path]; !ok && !fromAParent(path, plumbing.ZeroHash, false) {
				return false, nil
			}
		}
	}
	return true, nil
}

// governedFiles maps modelgit.yaml and every file under the governed
// directories of c to its blob hash.
func governedFiles(c *object.Commit) (map[string]plumbing.Hash, error) {
	tree, err := c.Tree()
	if err != nil {
		return nil, err
	}
	out := map[string]plumbing.Hash{}
	switch e, err := tree.FindEntry(manifests.ConfigFile); {
	case err == nil:
		out[manifests.ConfigFile] = e.Hash
	case !errors.Is(err, object.ErrEntryNotFound) && !errors.Is(err, object.ErrDirectoryNotFound):
		return nil, err
	}
	for _, dir := range manifests.GovernedDirs {
		sub, err := tree.Tree(dir)
		if errors.Is(err, object.ErrDirectoryNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		walker := object.NewTreeWalker(sub, true, nil)
		for {
			name, e, err := walker.Next()
			if err != nil {
				walker.Close()
				if errors.Is(err, io.EOF) {
					break
				}
				return nil, err
			}
			if e.Mode != filemode.Dir {
				out[dir+"/"+name] = e.Hash
			}
		}
	}
	return out, nil
}

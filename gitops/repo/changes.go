package repo

import (
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Changes lists what turns commit from's tree into commit to's, as the
// Files of a commit: every added or modified path with its content and
// mode, every removed path as a Delete. A merge that takes to's tree
// (CommitRequest.Merge) passes them, so that exactly those paths of the
// work tree are rewritten.
func (r *Repo) Changes(from, to plumbing.Hash) ([]File, error) {
	trees := make([]*object.Tree, 2)
	for i, h := range []plumbing.Hash{from, to} {
		c, err := r.git.CommitObject(h)
		if err != nil {
			return nil, fmt.Errorf("reading commit %s: %w", h, err)
		}
		if trees[i], err = c.Tree(); err != nil {
			return nil, fmt.Errorf("reading the tree of %s: %w", h, err)
		}
	}
	changes, err := object.DiffTree(trees[0], trees[1])
	if err != nil {
		return nil, fmt.Errorf("comparing %s with %s: %w", short(from), short(to), err)
	}
	var out []File
	for _, ch := range changes {
		if ch.To.Name == "" {
			out = append(out, File{Path: ch.From.Name, Delete: true})
			continue
		}
		if ch.From.Name != "" && ch.From.Name != ch.To.Name {
			out = append(out, File{Path: ch.From.Name, Delete: true})
		}
		if ch.To.TreeEntry.Mode == filemode.Submodule {
			return nil, fmt.Errorf("comparing %s with %s: %q is a submodule, which modelgit does not write", short(from), short(to), ch.To.Name)
		}
		b, err := r.ReadBlob(ch.To.TreeEntry.Hash)
		if err != nil {
			return nil, err
		}
		out = append(out, File{Path: ch.To.Name, Content: b, Mode: ch.To.TreeEntry.Mode})
	}
	return out, nil
}

package repo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/modelgit/modelgit/gitops/internal/durable"
	"github.com/modelgit/modelgit/manifests"
)

// A cloned repository is untrusted input: a committed symbolic link must
// not lead a command outside it. Every file modelgit reads, writes or
// deletes in the work tree goes through an os.Root opened on the work
// tree's root (a link that leaves it fails the operation), and in the
// governed paths (manifests.NoSymlinkPaths) a link is refused outright,
// naming it, since it would make one manifest stand for another even
// inside the repository.

// openRoot opens the work tree as an os.Root.
func (r *Repo) openRoot() (*os.Root, error) {
	root, err := os.OpenRoot(r.Root)
	if err != nil {
		return nil, fmt.Errorf("opening the work tree %q: %w", r.Root, err)
	}
	return root, nil
}

// checkPath refuses a symbolic link along rel (slash-separated, relative
// to the work tree) when rel is in a governed path.
func checkPath(root *os.Root, rel string) error {
	if !manifests.InNoSymlinkPath(rel) {
		return nil
	}
	return durable.NoLinks(root, filepath.FromSlash(rel))
}

// CheckWorktreePaths refuses, before anything is written, paths that
// pass through a symbolic link in a governed path of the work tree.
func (r *Repo) CheckWorktreePaths(paths ...string) error {
	root, err := r.openRoot()
	if err != nil {
		return err
	}
	defer root.Close()
	for _, p := range paths {
		if err := checkPath(root, p); err != nil {
			return err
		}
	}
	return nil
}

// ReadWorktreeFile reads rel from the work tree, never through a link
// out of it (nor through any link in a governed path). A missing file
// gives an error matching fs.ErrNotExist.
func (r *Repo) ReadWorktreeFile(rel string) ([]byte, error) {
	root, err := r.openRoot()
	if err != nil {
		return nil, err
	}
	defer root.Close()
	if err := checkPath(root, rel); err != nil {
		return nil, err
	}
	data, err := root.ReadFile(filepath.FromSlash(rel))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading %q: %w", rel, err)
	}
	return data, err
}

// WriteWorktreeFile writes rel in the work tree durably (a temp file
// renamed into place), confined to the work tree like ReadWorktreeFile.
func (r *Repo) WriteWorktreeFile(rel string, data []byte, perm fs.FileMode) error {
	root, err := r.openRoot()
	if err != nil {
		return err
	}
	defer root.Close()
	if err := checkPath(root, rel); err != nil {
		return err
	}
	if err := durable.WriteFileIn(root, filepath.FromSlash(rel), data, perm, nil); err != nil {
		return fmt.Errorf("writing %q: %w", rel, err)
	}
	return nil
}

// RemoveWorktreeFile deletes the file rel from the work tree, confined
// like ReadWorktreeFile; a file already gone is not an error.
func (r *Repo) RemoveWorktreeFile(rel string) error {
	root, err := r.openRoot()
	if err != nil {
		return err
	}
	defer root.Close()
	if err := checkPath(root, rel); err != nil {
		return err
	}
	if err := root.Remove(filepath.FromSlash(rel)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing %q: %w", rel, err)
	}
	return nil
}

// CheckStateDir refuses a work tree whose .modelgit (modelgit's local,
// git-ignored state: the default store, caches) is a symbolic link the
// repository itself committed: a clone must not choose where modelgit
// writes. A link the user made is theirs (it is not in HEAD's tree).
// HEAD's tree is read only when the work tree's .modelgit is a link:
// otherwise nothing can be written through one, and reading a tree with
// go-git loads the pack's whole index (tens of MiB on a long history),
// which every command would pay for in memory.
func (r *Repo) CheckStateDir() error {
	if fi, err := os.Lstat(filepath.Join(r.Root, manifests.StateDir)); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		return nil
	}
	head, _, err := r.Head()
	if err != nil || head.IsZero() {
		return err
	}
	// Through git, not go-git: every command opens the repository, and
	// go-git's first object read indexes every object of the pack (0.3 s on
	// 100,000 commits), which a command that reads nothing else through
	// go-git (audit, which) would pay for this one entry.
	out, err := gitCmd(context.Background(), r.Root, "ls-tree", "--full-tree", head.String(), "--", manifests.StateDir)
	if err != nil {
		return err
	}
	if mode, _, _ := strings.Cut(out, " "); mode != "120000" { // a symbolic link
		return nil
	}
	return fmt.Errorf("%s is a symbolic link committed in the repository: modelgit keeps its local state (the default store, caches) there and does not write through a link a clone chose; remove it (git rm --cached %s, then delete the link)", manifests.StateDir, manifests.StateDir)
}

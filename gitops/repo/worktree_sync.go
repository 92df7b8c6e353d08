package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"

	"github.com/modelgit/modelgit/gitops/internal/durable"
)

// finishWorktree brings the work tree and index up to date with commit h,
// which is on the branch already. It is not cancelled with ctx (the
// commit has landed: leaving the work tree half-way would be worse than
// the few writes left), and when it fails (a full disk, a lock held too
// long) its error says that the commit is made and exactly what to run.
func (r *Repo) finishWorktree(ctx context.Context, h plumbing.Hash, refName string, changes []File, onWait func(string)) error {
	err := r.syncWorktree(context.WithoutCancel(ctx), refName, changes, onWait)
	if err == nil {
		return nil
	}
	return &WorktreeError{Commit: h, Ref: refName, Files: changes, Err: err}
}

// WorktreeError is Commit's error when the commit is on the branch but
// the work tree or index could not be brought up to date with it. The
// commit is whole; Fix is the command that completes the rest.
type WorktreeError struct {
	Commit plumbing.Hash
	Ref    string
	Files  []File
	Err    error
}

func (e *WorktreeError) Error() string {
	return fmt.Sprintf("committed %s to %s, but the work tree and index could not be updated: %v\n"+
		"The commit is complete. Do not commit with git before fixing this (git would see the new files as deleted); "+
		"once the cause is fixed, run:\n  %s\n(or run the same modelgit command again)",
		e.Commit.String()[:12], strings.TrimPrefix(e.Ref, "refs/heads/"), e.Err, e.Fix())
}

func (e *WorktreeError) Unwrap() error { return e.Err }

// Fix is the shell command that makes the work tree and index match HEAD
// for exactly the committed paths, leaving everything else alone.
func (e *WorktreeError) Fix() string {
	var written, deleted []string
	for _, f := range e.Files {
		if f.Delete {
			deleted = append(deleted, shellQuote(f.Path))
		} else {
			written = append(written, shellQuote(f.Path))
		}
	}
	var cmds []string
	if len(written) > 0 {
		cmds = append(cmds, "git checkout HEAD -- "+strings.Join(written, " "))
	}
	if len(deleted) > 0 {
		d := strings.Join(deleted, " ")
		cmds = append(cmds, "git rm -q -r --cached --ignore-unmatch -- "+d, "rm -rf -- "+d)
	}
	return strings.Join(cmds, " && ")
}

// shellQuote quotes s for a POSIX shell when it holds anything but
// letters, digits and -_./+@=:,
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./+@=:,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// syncWorktree writes the committed files into the worktree and updates
// exactly their index entries, when refName is the checked-out branch.
// Every path is opened through an os.Root on the work tree, so a
// symbolic link in a clone cannot lead a write or a delete out of it.
func (r *Repo) syncWorktree(ctx context.Context, refName string, changes []File, onWait func(string)) error {
	t, err := r.headTarget()
	if err != nil || t != refName || len(changes) == 0 {
		return err
	}
	root, err := r.openRoot()
	if err != nil {
		return err
	}
	defer root.Close()
	stats := map[string]os.FileInfo{}
	tmpDir := r.worktreeTempDir()
	for _, f := range changes {
		p := filepath.FromSlash(f.Path)
		if err := checkPath(root, f.Path); err != nil {
			return fmt.Errorf("writing %q to the worktree: %w", f.Path, err)
		}
		if !f.Delete {
			if err := injected("worktree-write"); err != nil {
				return fmt.Errorf("writing %q to the worktree: %w", f.Path, err)
			}
		}
		if f.Delete {
			if err := root.RemoveAll(p); err != nil {
				return fmt.Errorf("removing %q from the worktree: %w", f.Path, err)
			}
			removeEmptyParents(root, filepath.Dir(p))
			continue
		}
		if err := writeWorktreeFile(root, p, f, tmpDir); err != nil {
			return fmt.Errorf("writing %q to the worktree: %w", f.Path, err)
		}
		fi, err := root.Lstat(p)
		if err != nil {
			return fmt.Errorf("writing %q to the worktree: %w", f.Path, err)
		}
		stats[f.Path] = fi
		checkpoint("worktree-file-written")
	}
	return r.updateIndex(ctx, changes, stats, onWait)
}

// writeWorktreeFile replaces the worktree file p (relative to root) with
// f's content, through a temp file in tmpDir (.git/modelgit/tmp relative
// to root: a kill between writing and renaming leaves nothing `git
// status` shows). Where tmpDir is "" (the git directory is outside the
// work tree, as in a linked worktree) or on another file system than p,
// the temp file is made beside p instead.
func writeWorktreeFile(root *os.Root, p string, f File, tmpDir string) error {
	dir := filepath.Dir(p)
	if fi, err := root.Lstat(p); err == nil && fi.IsDir() {
		if err := root.RemoveAll(p); err != nil {
			return err
		}
	}
	if err := root.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	prefix := ".tmp-" + filepath.Base(p) + "-"
	perm := os.FileMode(0o644)
	if f.Mode == filemode.Executable {
		perm = 0o755
	}
	place := func(in string) error {
		if f.Mode != filemode.Symlink {
			return durable.WriteFileIn(root, p, f.Content, perm, &durable.Options{TempDir: in, Prefix: prefix, BeforeRename: func() { checkpoint("worktree-temp-written") }})
		}
		if in == "" {
			in = dir
		}
		tmp := filepath.Join(in, fmt.Sprintf("%s%d", prefix, time.Now().UnixNano()))
		if err := root.Symlink(string(f.Content), tmp); err != nil {
			return err
		}
		if err := root.Rename(tmp, p); err != nil {
			root.Remove(tmp)
			return err
		}
		return nil
	}
	if tmpDir == "" {
		return place("")
	}
	err := place(tmpDir)
	if errors.Is(err, syscall.EXDEV) {
		err = place("")
	}
	return err
}

// worktreeTempDir is .git/modelgit/tmp relative to the work tree, created
// on first use; temp files a crash left there more than an hour ago are
// removed on the way. It is "" when the directory cannot be made or is
// not inside the work tree.
func (r *Repo) worktreeTempDir() string {
	d := filepath.Join(r.gitDir, "modelgit", "tmp")
	rel, err := filepath.Rel(r.Root, d)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return ""
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		return ""
	}
	if ents, err := os.ReadDir(d); err == nil {
		for _, e := range ents {
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > time.Hour {
				os.Remove(filepath.Join(d, e.Name()))
			}
		}
	}
	return rel
}

// removeEmptyParents removes dir (relative to root) and its parents while
// they are empty.
func removeEmptyParents(root *os.Root, dir string) {
	for dir != "." && dir != "" && dir != string(filepath.Separator) {
		if root.Remove(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

// updateIndex rewrites the index entries of exactly the changed paths,
// under index.lock, keeping every other entry (and so the user's staged
// changes) as it was.
func (r *Repo) updateIndex(ctx context.Context, changes []File, stats map[string]os.FileInfo, onWait func(string)) error {
	indexPath := filepath.Join(r.gitDir, "index")
	lock, err := createLock(ctx, indexPath+".lock", "updating the index", onWait)
	if err != nil {
		return err
	}
	defer lock.release()
	idx := &index.Index{Version: 2}
	if data, err := os.ReadFile(indexPath); err == nil {
		if err := index.NewDecoder(bytes.NewReader(data)).Decode(idx); err != nil {
			return fmt.Errorf("reading the index %q: %w", indexPath, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("reading the index %q: %w", indexPath, err)
	}
	applyToIndex(idx, changes, stats)
	// go-git's encoder writes no extensions; the cached-tree extension
	// would be stale for the changed paths anyway, and git rebuilds it.
	idx.Cache = nil
	idx.ResolveUndo = nil
	idx.EndOfIndexEntry = nil
	if idx.Version > index.EncodeVersionSupported {
		idx.Version = index.EncodeVersionSupported
	}
	var buf bytes.Buffer
	if err := index.NewEncoder(&buf).Encode(idx); err != nil {
		return fmt.Errorf("encoding the index: %w", err)
	}
	if err := injected("index-write"); err != nil {
		return fmt.Errorf("writing %q: %w", lock.path, err)
	}
	if err := lock.write(buf.Bytes()); err != nil {
		return err
	}
	checkpoint("index-locked")
	if err := lock.commit(indexPath); err != nil {
		return fmt.Errorf("updating the index: %w", err)
	}
	return nil
}

// applyToIndex replaces idx's entries for changes: the changed paths, and
// entries a file that replaced a directory (or a directory that replaced
// a file) shadows, with stat data from stats where the file was written.
func applyToIndex(idx *index.Index, changes []File, stats map[string]os.FileInfo) {
	touched := map[string]bool{}
	for _, c := range changes {
		touched[c.Path] = true
	}
	kept := idx.Entries[:0]
	for _, e := range idx.Entries {
		drop := touched[e.Name]
		if !drop {
			// A file that replaced a directory, or a directory that
			// replaced a file, evicts the entries it shadows.
			for d := path.Dir(e.Name); d != "."; d = path.Dir(d) {
				if touched[d] {
					drop = true
					break
				}
			}
			for _, c := range changes {
				if strings.HasPrefix(c.Path, e.Name+"/") {
					drop = true
					break
				}
			}
		}
		if !drop {
			kept = append(kept, e)
		}
	}
	idx.Entries = kept
	for _, c := range changes {
		if c.Delete {
			continue
		}
		e := &index.Entry{Name: c.Path, Mode: c.Mode, Hash: blobObject(c.Content).Hash(), Size: uint32(len(c.Content))}
		if fi := stats[c.Path]; fi != nil {
			fillStat(e, fi)
		}
		idx.Entries = append(idx.Entries, e)
	}
}

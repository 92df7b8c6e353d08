package repo

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/modelgit/modelgit/gitops/internal/durable"
	"github.com/modelgit/modelgit/gitops/signing"
)

// crashHook, when set by tests, is called at each step of Commit so that a
// test can stop the process there (os.Exit, like kill -9: no deferred
// cleanup runs) and check that the repository is consistent.
var crashHook func(step string)

func checkpoint(step string) {
	if crashHook != nil {
		crashHook(step)
	}
}

// failHook, when set by tests, is called before each write of the work
// tree and index after the branch moved ("worktree-write", "index-write");
// an error it returns stands for that write failing (a full disk).
var failHook func(step string) error

func injected(step string) error {
	if failHook != nil {
		return failHook(step)
	}
	return nil
}

// lockTimeout is how long Commit waits for a ref or index lock that
// another process holds before it gives up; tests shorten it.
var lockTimeout = 10 * time.Second

// lockNotice is how long a wait for a lock lasts before OnWait hears of
// it; tests shorten it.
var lockNotice = time.Second

// File is one path to write (or delete) in a commit.
type File struct {
	Path    string            // slash-separated, relative to the repository root
	Content []byte            // file content, or the link target for a symlink
	Mode    filemode.FileMode // 0 means filemode.Regular
	Delete  bool              // remove the path instead of writing it
}

// CommitRequest describes one commit made by Commit.
type CommitRequest struct {
	Files     []File
	Message   string
	Author    object.Signature // When zero: now
	Committer object.Signature // Name zero: Author; When zero: now
	Signer    signing.Signer   // nil: unsigned
	Branch    string           // short name; "": the current branch
	// ExpectedParent is the compare-and-swap guard: when the branch exists
	// and does not point here, Commit fails with ErrRefMoved. Zero means
	// "whatever the branch points to now" (still guarded against a
	// concurrent move during the commit). When the branch does not exist
	// yet, it is created with ExpectedParent as parent (zero: a root commit).
	ExpectedParent plumbing.Hash
	// Merge, when not zero, makes a merge commit whose parents are the
	// branch tip and Merge, and whose tree is Merge's tree with Files
	// applied: it brings a branch up to date with a base that moved on
	// (Merge) and re-applies the branch's change on top, without rewriting
	// the branch's history. Files must then hold the whole change.
	Merge plumbing.Hash
	// OnWait, when not nil, is told once when Commit has waited a while
	// for a lock another git or modelgit process holds (it waits up to 10
	// s, then fails naming the lock).
	OnWait func(msg string)
}

// Commit records req.Files on top of the branch tip in one commit and
// returns its hash. It is crash-safe: objects are written first (temp file,
// fsync, rename), then the branch ref moves under git's lock-file protocol
// with compare-and-swap, and only then, when the branch is checked out, the
// worktree files and their index entries are rewritten (temp and rename,
// index.lock). A kill at any point leaves either the old or the new commit
// on the branch and never a half commit.
//
// Only the given paths change: the tree is built from the parent's tree,
// not from the index, so a user's unrelated staged changes stay staged and
// out of the commit.
//
// A request that changes nothing returns the current tip without making a
// commit (after syncing the worktree), and a request whose ExpectedParent
// has already been advanced by an identical commit returns that commit: so
// re-running after a crash converges.
func (r *Repo) Commit(ctx context.Context, req CommitRequest) (plumbing.Hash, error) {
	changes, err := normalizeFiles(req.Files)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	refName, err := r.branchRef(req.Branch)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	// The work tree of the checked-out branch is written after the branch
	// moves: a symbolic link in a governed path there is refused before
	// anything is committed, not half-way.
	if t, err := r.headTarget(); err == nil && t == refName {
		paths := make([]string, len(changes))
		for i, f := range changes {
			paths[i] = f.Path
		}
		if err := r.CheckWorktreePaths(paths...); err != nil {
			return plumbing.ZeroHash, fmt.Errorf("committing: %w", err)
		}
	}
	cur, exists, err := r.readRef(refName)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	parent := cur
	if !exists {
		parent = req.ExpectedParent
	} else if !req.ExpectedParent.IsZero() && cur != req.ExpectedParent {
		if done, err := r.alreadyCommitted(cur, req.ExpectedParent, changes); err == nil && done {
			return cur, r.finishWorktree(ctx, cur, refName, changes, req.OnWait)
		}
		return plumbing.ZeroHash, &RefMovedError{Ref: refName, Expected: req.ExpectedParent, Actual: cur}
	}

	var baseTree plumbing.Hash
	if !parent.IsZero() {
		pc, err := r.git.CommitObject(parent)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("reading parent commit %s: %w", parent, err)
		}
		baseTree = pc.TreeHash
	}
	fromTree := baseTree
	if !req.Merge.IsZero() {
		mc, err := r.git.CommitObject(req.Merge)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("reading merged commit %s: %w", req.Merge, err)
		}
		fromTree = mc.TreeHash
	}
	tree, err := r.buildTree(fromTree, changes)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if exists && tree == baseTree && req.Merge.IsZero() {
		return cur, r.finishWorktree(ctx, cur, refName, changes, req.OnWait)
	}
	if err := ctx.Err(); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("committing to %s: %w", refName, err)
	}

	now := time.Now()
	author := sanitize(req.Author, now)
	committer := req.Committer
	if committer.Name == "" && committer.Email == "" {
		committer = req.Author
	}
	committer = sanitize(committer, now)
	msg := req.Message
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	c := &object.Commit{Author: author, Committer: committer, Message: msg, TreeHash: tree}
	if !parent.IsZero() {
		c.ParentHashes = []plumbing.Hash{parent}
	}
	if !req.Merge.IsZero() {
		c.ParentHashes = append(c.ParentHashes, req.Merge)
	}
	if req.Signer != nil {
		// Sign exactly the bytes git verifies: the commit encoded without
		// its gpgsig header (go-git's EncodeWithoutSignature).
		payload := &plumbing.MemoryObject{}
		if err := c.EncodeWithoutSignature(payload); err != nil {
			return plumbing.ZeroHash, fmt.Errorf("encoding commit for signing: %w", err)
		}
		rd, err := payload.Reader()
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("encoding commit for signing: %w", err)
		}
		sig, err := req.Signer.Sign(rd)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("signing commit with %s key %s: %w", req.Signer.Format(), req.Signer.KeyID(), err)
		}
		c.PGPSignature = string(sig)
	}
	obj := &plumbing.MemoryObject{}
	if err := c.Encode(obj); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("encoding commit: %w", err)
	}
	h, err := r.writeObject(obj)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	checkpoint("objects-written")
	if err := ctx.Err(); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("committing to %s: %w", refName, err)
	}
	var old plumbing.Hash
	if exists {
		old = cur
	}
	subject, _, _ := strings.Cut(msg, "\n")
	action := "commit"
	if parent.IsZero() {
		action = "commit (initial)"
	}
	if err := r.updateRef(ctx, refName, old, h, committer, action+": "+subject, req.OnWait); err != nil {
		return plumbing.ZeroHash, err
	}
	return h, r.finishWorktree(ctx, h, refName, changes, req.OnWait)
}

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

// createLock creates the lock file lock (git's NAME.lock protocol:
// O_EXCL), waiting up to lockTimeout while another process holds it, as
// when several registers run at once. onWait, when not nil, is told once
// when the wait has lasted lockNotice. what names the operation in errors.
func createLock(ctx context.Context, lock, what string, onWait func(string)) (*os.File, error) {
	start := time.Now()
	delay := 2 * time.Millisecond
	told := false
	for {
		f, err := os.OpenFile(lock, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		waited := time.Since(start)
		if waited >= lockTimeout {
			return nil, fmt.Errorf("%s: %q exists: another git or modelgit process has held it for %s; if none is running (a killed one leaves it behind), remove the file and run the command again", what, lock, lockTimeout)
		}
		if !told && waited >= lockNotice && onWait != nil {
			onWait(fmt.Sprintf("waiting for %s: another git or modelgit process is using the repository", lock))
			told = true
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: waiting for %q: %w", what, lock, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// alreadyCommitted reports whether tip is the commit this request would
// have made on top of expected (a re-run after a crash).
func (r *Repo) alreadyCommitted(tip, expected plumbing.Hash, changes []File) (bool, error) {
	tc, err := r.git.CommitObject(tip)
	if err != nil || len(tc.ParentHashes) == 0 || tc.ParentHashes[0] != expected {
		return false, err
	}
	pc, err := r.git.CommitObject(expected)
	if err != nil {
		return false, err
	}
	t, err := r.buildTree(pc.TreeHash, changes)
	if err != nil {
		return false, err
	}
	return t == tc.TreeHash, nil
}

// branchRef returns the full ref name for branch, or HEAD's branch.
func (r *Repo) branchRef(branch string) (string, error) {
	if branch == "" {
		t, err := r.headTarget()
		if err != nil {
			return "", err
		}
		if t == "" {
			return "", errors.New("committing: HEAD is detached; name a branch")
		}
		return t, nil
	}
	name := plumbing.NewBranchReferenceName(strings.TrimPrefix(branch, "refs/heads/"))
	if err := validRefName(name.String()); err != nil {
		return "", err
	}
	return name.String(), nil
}

func validRefName(name string) error {
	bad := name == "" || strings.Contains(name, "..") || strings.ContainsAny(name, " ~^:?*[\\\x7f") ||
		strings.HasSuffix(name, "/") || strings.HasSuffix(name, ".lock") || strings.HasSuffix(name, ".") ||
		strings.Contains(name, "//") || strings.Contains(name, "@{") || strings.Contains(name, "/.")
	for _, c := range name {
		if c < 0x20 {
			bad = true
		}
	}
	if bad {
		return fmt.Errorf("using branch %q: invalid ref name (see `git check-ref-format`)", name)
	}
	return nil
}

func sanitize(s object.Signature, now time.Time) object.Signature {
	clean := strings.NewReplacer("<", "", ">", "", "\n", "", "\x00", "")
	s.Name = strings.TrimSpace(clean.Replace(s.Name))
	s.Email = strings.TrimSpace(clean.Replace(s.Email))
	if s.When.IsZero() {
		s.When = now
	}
	return s
}

// normalizeFiles validates paths and modes and sorts the files.
func normalizeFiles(files []File) ([]File, error) {
	out := make([]File, 0, len(files))
	seen := map[string]bool{}
	for _, f := range files {
		p := f.Path
		if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") || path.Clean(p) != p || p == "." {
			return nil, fmt.Errorf("committing file %q: invalid path (want a clean, relative, slash-separated path)", f.Path)
		}
		for _, part := range strings.Split(p, "/") {
			if part == ".." || strings.EqualFold(part, ".git") {
				return nil, fmt.Errorf("committing file %q: invalid path component %q", f.Path, part)
			}
		}
		if seen[p] {
			return nil, fmt.Errorf("committing file %q: listed twice", f.Path)
		}
		seen[p] = true
		if f.Mode == 0 {
			f.Mode = filemode.Regular
		}
		switch f.Mode {
		case filemode.Regular, filemode.Executable, filemode.Symlink:
		default:
			return nil, fmt.Errorf("committing file %q: unsupported mode %o (want regular, executable or symlink)", f.Path, uint32(f.Mode))
		}
		out = append(out, f)
	}
	for _, f := range out {
		for d := path.Dir(f.Path); d != "."; d = path.Dir(d) {
			if seen[d] {
				return nil, fmt.Errorf("committing file %q: its parent %q is also listed as a file", f.Path, d)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// buildTree returns the hash of the root tree base (zero for none) with the
// changes applied, writing every new blob and tree.
func (r *Repo) buildTree(base plumbing.Hash, changes []File) (plumbing.Hash, error) {
	h, err := r.editTree(base, changes)
	if err != nil || !h.IsZero() {
		return h, err
	}
	// Everything was deleted: the root is the empty tree.
	obj := &plumbing.MemoryObject{}
	if err := (&object.Tree{}).Encode(obj); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("encoding tree: %w", err)
	}
	return r.writeObject(obj)
}

// editTree returns base with the changes applied, or zero when the result
// is empty (git stores no empty subtrees).
func (r *Repo) editTree(base plumbing.Hash, changes []File) (plumbing.Hash, error) {
	entries := map[string]object.TreeEntry{}
	if !base.IsZero() {
		t, err := r.git.TreeObject(base)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("reading tree %s: %w", base, err)
		}
		for _, e := range t.Entries {
			entries[e.Name] = e
		}
	}
	sub := map[string][]File{}
	var subOrder []string
	for _, f := range changes {
		first, rest, nested := strings.Cut(f.Path, "/")
		if !nested {
			if f.Delete {
				delete(entries, first)
				continue
			}
			h, err := r.writeObject(blobObject(f.Content))
			if err != nil {
				return plumbing.ZeroHash, err
			}
			entries[first] = object.TreeEntry{Name: first, Mode: f.Mode, Hash: h}
			continue
		}
		if _, ok := sub[first]; !ok {
			subOrder = append(subOrder, first)
		}
		f.Path = rest
		sub[first] = append(sub[first], f)
	}
	for _, name := range subOrder {
		var subBase plumbing.Hash
		if e, ok := entries[name]; ok && e.Mode == filemode.Dir {
			subBase = e.Hash
		} else if ok && allDeletes(sub[name]) {
			continue // deleting below a file: nothing to do
		}
		h, err := r.editTree(subBase, sub[name])
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if h.IsZero() {
			delete(entries, name) // git stores no empty trees
			continue
		}
		entries[name] = object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h}
	}
	if len(entries) == 0 {
		return plumbing.ZeroHash, nil
	}
	list := make([]object.TreeEntry, 0, len(entries))
	for _, e := range entries {
		list = append(list, e)
	}
	// Git sorts tree entries by name, with directories compared as name+"/".
	key := func(e object.TreeEntry) string {
		if e.Mode == filemode.Dir {
			return e.Name + "/"
		}
		return e.Name
	}
	sort.Slice(list, func(i, j int) bool { return key(list[i]) < key(list[j]) })
	obj := &plumbing.MemoryObject{}
	if err := (&object.Tree{Entries: list}).Encode(obj); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("encoding tree: %w", err)
	}
	return r.writeObject(obj)
}

func allDeletes(fs []File) bool {
	for _, f := range fs {
		if !f.Delete {
			return false
		}
	}
	return true
}

func blobObject(b []byte) *plumbing.MemoryObject {
	o := &plumbing.MemoryObject{}
	o.SetType(plumbing.BlobObject)
	_, _ = o.Write(b)
	return o
}

// writeObject stores obj as a loose object unless the repository has it.
// Unlike go-git's object writer it fsyncs the file before renaming it into
// place, so a ref never points at an object that a crash could lose.
func (r *Repo) writeObject(obj *plumbing.MemoryObject) (plumbing.Hash, error) {
	h := obj.Hash()
	if r.git.Storer.HasEncodedObject(h) == nil {
		return h, nil
	}
	hex := h.String()
	dir := filepath.Join(r.commonDir, "objects", hex[:2])
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return h, fmt.Errorf("writing object %s: %w", hex, err)
	}
	rd, err := obj.Reader()
	if err != nil {
		return h, fmt.Errorf("writing object %s: %w", hex, err)
	}
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	fmt.Fprintf(zw, "%s %d\x00", obj.Type(), obj.Size())
	if _, err := io.Copy(zw, rd); err != nil {
		return h, fmt.Errorf("writing object %s: %w", hex, err)
	}
	if err := zw.Close(); err != nil {
		return h, fmt.Errorf("writing object %s: %w", hex, err)
	}
	final := filepath.Join(dir, hex[2:])
	// git's own temporary objects are named tmp_obj_*; `git prune` (and so
	// gc) removes stale ones a crash left behind.
	if err := writeFileAtomic(dir, "tmp_obj_", final, buf.Bytes(), 0o444, "object-temp-written"); err != nil {
		return h, fmt.Errorf("writing object %s: %w", hex, err)
	}
	return h, nil
}

// writeFileAtomic writes data to a temp file in tmpDir named after prefix,
// fsyncs it and renames it over name, then fsyncs name's directory. tmpDir
// must be on name's file system; step names the crash checkpoint between
// writing and renaming.
func writeFileAtomic(tmpDir, prefix, name string, data []byte, perm os.FileMode, step string) error {
	return durable.WriteFile(name, data, perm, &durable.Options{TempDir: tmpDir, Prefix: prefix, BeforeRename: func() { checkpoint(step) }})
}

// updateRef moves ref name from old (zero: must not exist) to new using
// git's lock-file protocol: create NAME.lock with O_EXCL, write and fsync
// it, check the current value under the lock (compare-and-swap), rename it
// over NAME. go-git's own SetReference/CheckAndSetReference truncate and
// rewrite the ref file in place, which a crash can leave empty or torn and
// which does not exclude a concurrent `git` process, so it is not used.
func (r *Repo) updateRef(ctx context.Context, name string, old, new plumbing.Hash, who object.Signature, msg string, onWait func(string)) error {
	refPath := filepath.Join(r.commonDir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(refPath), 0o755); err != nil {
		return fmt.Errorf("updating %s: %w", name, err)
	}
	// go-git's fetch and push read every file under refs/, this lock file
	// too while it is still empty: keep them out meanwhile. Other modelgit
	// processes take turns here; a git process holding the ref's lock is
	// waited for below.
	unlock, err := r.lockRemote()
	if err != nil {
		return fmt.Errorf("updating %s: %w", name, err)
	}
	defer unlock()
	lock := refPath + ".lock"
	f, err := createLock(ctx, lock, "updating "+name, onWait)
	if err != nil {
		return err
	}
	locked := true
	defer func() {
		if locked {
			f.Close()
			os.Remove(lock)
		}
	}()
	if _, err := f.WriteString(new.String() + "\n"); err != nil {
		return fmt.Errorf("updating %s: writing %q: %w", name, lock, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("updating %s: syncing %q: %w", name, lock, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("updating %s: closing %q: %w", name, lock, err)
	}
	cur, exists, err := r.readRef(name)
	if err != nil {
		return err
	}
	if (old.IsZero() && exists) || (!old.IsZero() && cur != old) {
		return &RefMovedError{Ref: name, Expected: old, Actual: cur}
	}
	checkpoint("ref-locked")
	if err := os.Rename(lock, refPath); err != nil {
		return fmt.Errorf("updating %s: %w", name, err)
	}
	locked = false
	checkpoint("ref-updated")
	_ = durable.SyncDir(filepath.Dir(refPath)) // the rename is what matters
	// The reflog is a convenience: the ref has moved whatever happens here.
	line := fmt.Sprintf("%s %s %s <%s> %d %s\t%s\n", old, new, who.Name, who.Email, who.When.Unix(), who.When.Format("-0700"), msg)
	r.appendReflog(filepath.Join(r.commonDir, "logs", filepath.FromSlash(name)), line)
	if t, err := r.headTarget(); err == nil && t == name {
		r.appendReflog(filepath.Join(r.gitDir, "logs", "HEAD"), line)
	}
	return nil
}

func (r *Repo) appendReflog(p, line string) {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	_, _ = f.WriteString(line)
	_ = f.Close()
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
	lock := indexPath + ".lock"
	f, err := createLock(ctx, lock, "updating the index", onWait)
	if err != nil {
		return err
	}
	locked := true
	defer func() {
		if locked {
			f.Close()
			os.Remove(lock)
		}
	}()
	idx := &index.Index{Version: 2}
	if data, err := os.ReadFile(indexPath); err == nil {
		if err := index.NewDecoder(bytes.NewReader(data)).Decode(idx); err != nil {
			return fmt.Errorf("reading the index %q: %w", indexPath, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("reading the index %q: %w", indexPath, err)
	}
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
		return fmt.Errorf("writing %q: %w", lock, err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("writing %q: %w", lock, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing %q: %w", lock, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing %q: %w", lock, err)
	}
	checkpoint("index-locked")
	if err := os.Rename(lock, indexPath); err != nil {
		return fmt.Errorf("updating the index: %w", err)
	}
	locked = false
	return nil
}

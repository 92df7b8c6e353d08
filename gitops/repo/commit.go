package repo

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

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

	tree, baseTree, err := r.commitTree(parent, req.Merge, changes)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if exists && tree == baseTree && req.Merge.IsZero() {
		return cur, r.finishWorktree(ctx, cur, refName, changes, req.OnWait)
	}
	if err := ctx.Err(); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("committing to %s: %w", refName, err)
	}

	h, committer, msg, err := r.writeCommit(req, parent, tree)
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

// commitTree builds the tree of a commit over parent (merging merge's tree
// when it is set) with changes applied; baseTree is parent's tree.
func (r *Repo) commitTree(parent, merge plumbing.Hash, changes []File) (tree, baseTree plumbing.Hash, err error) {
	if !parent.IsZero() {
		pc, err := r.git.CommitObject(parent)
		if err != nil {
			return tree, baseTree, fmt.Errorf("reading parent commit %s: %w", parent, err)
		}
		baseTree = pc.TreeHash
	}
	fromTree := baseTree
	if !merge.IsZero() {
		mc, err := r.git.CommitObject(merge)
		if err != nil {
			return tree, baseTree, fmt.Errorf("reading merged commit %s: %w", merge, err)
		}
		fromTree = mc.TreeHash
	}
	tree, err = r.buildTree(fromTree, changes)
	return tree, baseTree, err
}

// writeCommit encodes, signs (when req.Signer is set) and stores the
// commit of tree over parent (and req.Merge), returning its hash, its
// committer and its message as written.
func (r *Repo) writeCommit(req CommitRequest, parent, tree plumbing.Hash) (plumbing.Hash, object.Signature, string, error) {
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
			return plumbing.ZeroHash, committer, msg, fmt.Errorf("encoding commit for signing: %w", err)
		}
		rd, err := payload.Reader()
		if err != nil {
			return plumbing.ZeroHash, committer, msg, fmt.Errorf("encoding commit for signing: %w", err)
		}
		sig, err := req.Signer.Sign(rd)
		if err != nil {
			return plumbing.ZeroHash, committer, msg, fmt.Errorf("signing commit with %s key %s: %w", req.Signer.Format(), req.Signer.KeyID(), err)
		}
		c.PGPSignature = string(sig)
	}
	obj := &plumbing.MemoryObject{}
	if err := c.Encode(obj); err != nil {
		return plumbing.ZeroHash, committer, msg, fmt.Errorf("encoding commit: %w", err)
	}
	h, err := r.writeObject(obj)
	return h, committer, msg, err
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

package githubfake

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// errConflict: the head and base branches do not merge cleanly.
var errConflict = errors.New("merge conflict")

// initBare creates a bare repository at dir with one commit (a README) on
// branch.
func initBare(dir, branch string) error {
	r, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{
		Bare:        true,
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName(branch)},
	})
	if err != nil {
		return fmt.Errorf("initializing repository %q: %w", dir, err)
	}
	st := r.Storer
	blob := st.NewEncodedObject()
	blob.SetType(plumbing.BlobObject)
	w, err := blob.Writer()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte("# models\n")); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	blobHash, err := st.SetEncodedObject(blob)
	if err != nil {
		return fmt.Errorf("writing README blob: %w", err)
	}
	tree := &object.Tree{Entries: []object.TreeEntry{{Name: "README.md", Mode: filemode.Regular, Hash: blobHash}}}
	treeHash, err := store(st, tree)
	if err != nil {
		return fmt.Errorf("writing tree: %w", err)
	}
	sig := object.Signature{Name: "GitHub", Email: "noreply@github.com", When: time.Unix(1700000000, 0).UTC()}
	commit := &object.Commit{Author: sig, Committer: sig, Message: "Initial commit\n", TreeHash: treeHash}
	commitHash, err := store(st, commit)
	if err != nil {
		return fmt.Errorf("writing initial commit: %w", err)
	}
	return st.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(branch), commitHash))
}

type encoder interface {
	Encode(plumbing.EncodedObject) error
}

func store(st storer.EncodedObjectStorer, o encoder) (plumbing.Hash, error) {
	obj := st.NewEncodedObject()
	if err := o.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return st.SetEncodedObject(obj)
}

// repo opens the served repository afresh, so pushes made through the git
// server since the last call are seen.
func (s *Server) repo() (*git.Repository, error) {
	r, err := git.PlainOpen(s.gitDir)
	if err != nil {
		return nil, fmt.Errorf("opening served repository %q: %w", s.gitDir, err)
	}
	return r, nil
}

// branchSHA returns the commit at the tip of branch, or "" when the branch
// does not exist.
func (s *Server) branchSHA(branch string) (string, error) {
	r, err := s.repo()
	if err != nil {
		return "", err
	}
	ref, err := r.Reference(plumbing.NewBranchReferenceName(branch), true)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading branch %q: %w", branch, err)
	}
	return ref.Hash().String(), nil
}

// resolve returns the commit a branch name or full SHA names, or "".
func (s *Server) resolve(ref string) (string, error) {
	if sha, err := s.branchSHA(ref); err != nil || sha != "" {
		return sha, err
	}
	if !plumbing.IsHash(ref) {
		return "", nil
	}
	r, err := s.repo()
	if err != nil {
		return "", err
	}
	if _, err := r.CommitObject(plumbing.NewHash(ref)); err != nil {
		return "", nil
	}
	return ref, nil
}

// isAncestor reports whether commit a is reachable from commit b (a == b
// included).
func (s *Server) isAncestor(a, b string) (bool, error) {
	if a == b {
		return true, nil
	}
	r, err := s.repo()
	if err != nil {
		return false, err
	}
	ca, err := r.CommitObject(plumbing.NewHash(a))
	if err != nil {
		return false, fmt.Errorf("reading commit %q: %w", a, err)
	}
	cb, err := r.CommitObject(plumbing.NewHash(b))
	if err != nil {
		return false, fmt.Errorf("reading commit %q: %w", b, err)
	}
	return ca.IsAncestor(cb)
}

// commitsBetween returns the commits reachable from head and not from
// base, oldest first. The fake asks real git (git rev-list --reverse
// --date-order base..head) because go-git's log has no exclusion: it
// would walk the whole history of base on every call, which on a long
// history costs more than the check the fake serves.
func (s *Server) commitsBetween(base, head string) ([]*object.Commit, error) {
	r, err := s.repo()
	if err != nil {
		return nil, err
	}
	rng := head
	if base != "" {
		rng = base + ".." + head
	}
	cmd := exec.Command("git", "rev-list", "--reverse", "--date-order", rng, "--")
	cmd.Dir = s.gitDir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("walking history of %q: git rev-list: %v: %s", rng, err, bytes.TrimSpace(stderr.Bytes()))
	}
	var out []*object.Commit
	for _, h := range strings.Fields(stdout.String()) {
		c, err := r.CommitObject(plumbing.NewHash(h))
		if err != nil {
			return nil, fmt.Errorf("reading commit %s: %w", h, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// mergeTree computes the tree of merging head into base with real git's
// merge-ort (git merge-tree --write-tree); errConflict when it conflicts.
func (s *Server) mergeTree(base, head string) (string, error) {
	cmd := exec.Command("git", "merge-tree", "--write-tree", "--no-messages", base, head)
	cmd.Dir = s.gitDir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return "", errConflict
	case err != nil:
		return "", fmt.Errorf("merging %s into %s with git merge-tree (needs git >= 2.38; apt-get install -y git): %w: %s", head, base, err, strings.TrimSpace(stderr.String()))
	}
	tree, _, _ := strings.Cut(strings.TrimSpace(stdout.String()), "\n")
	if !plumbing.IsHash(tree) {
		return "", fmt.Errorf("merging %s into %s: git merge-tree printed %q, not a tree", head, base, tree)
	}
	return tree, nil
}

// commitMerge writes a commit of tree with parents and message, made by
// author, committed by "GitHub <noreply@github.com>" and signed with the
// server's merge key (as GitHub signs with its web-flow key), and moves branch
// from old to it (compare-and-swap: errBaseMoved if branch moved).
func (s *Server) commitMerge(branch, old, tree string, parents []string, message string, author object.Signature) (string, error) {
	r, err := s.repo()
	if err != nil {
		return "", err
	}
	now := time.Now().UTC().Truncate(time.Second)
	author.When = now
	c := &object.Commit{
		Author:    author,
		Committer: object.Signature{Name: "GitHub", Email: "noreply@github.com", When: now},
		Message:   message,
		TreeHash:  plumbing.NewHash(tree),
	}
	for _, p := range parents {
		c.ParentHashes = append(c.ParentHashes, plumbing.NewHash(p))
	}
	if err := s.sign(c); err != nil {
		return "", err
	}
	h, err := store(r.Storer, c)
	if err != nil {
		return "", fmt.Errorf("writing merge commit: %w", err)
	}
	name := plumbing.NewBranchReferenceName(branch)
	err = r.Storer.CheckAndSetReference(plumbing.NewHashReference(name, h), plumbing.NewHashReference(name, plumbing.NewHash(old)))
	if err != nil {
		return "", fmt.Errorf("moving branch %q to %s: %w", branch, h, errBaseMoved)
	}
	return h.String(), nil
}

var errBaseMoved = errors.New("base branch moved")

// sign sets c's signature: the merge signer's over c encoded without it,
// the bytes git verify-commit checks.
func (s *Server) sign(c *object.Commit) error {
	payload := &plumbing.MemoryObject{}
	if err := c.EncodeWithoutSignature(payload); err != nil {
		return fmt.Errorf("encoding merge commit for signing: %w", err)
	}
	rd, err := payload.Reader()
	if err != nil {
		return fmt.Errorf("encoding merge commit for signing: %w", err)
	}
	sig, err := s.opts.MergeSigner.Sign(rd)
	if err != nil {
		return fmt.Errorf("signing merge commit with %s key %s: %w", s.opts.MergeSigner.Format(), s.opts.MergeSigner.KeyID(), err)
	}
	c.PGPSignature = string(sig)
	return nil
}

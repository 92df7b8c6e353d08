package promote

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/repo"
)

// commitAndPush commits the changed files on the promotion branch and
// pushes it. The branch is built on the remote branch when one exists (an
// update of the same pull request) and on the base tip otherwise; when the
// remote moved meanwhile, the change is re-applied on its new tip. Never a
// force push.
func (r *repository) commitAndPush(ctx context.Context, res *PromoteResult, opts PromoteOptions, head plumbing.Hash, files []repo.File, msg string) error {
	sig := opts.Identity.Signature
	sig.When = r.Now()
	for attempt := 0; ; attempt++ {
		parent, merge, tip, err := r.branchParent(ctx, res.Branch, opts, head)
		if err != nil {
			return err
		}
		h, err := r.commitOnBranch(ctx, res.Branch, opts, head, parent, merge, files, msg, sig)
		if err != nil {
			return err
		}
		res.Commit = h
		if opts.Remote == "" {
			return nil
		}
		if opts.BeforePush != nil {
			opts.BeforePush(res.Branch, attempt)
		}
		err = r.push(ctx, res.Branch, opts, h, tip)
		if errors.Is(err, repo.ErrNonFastForward) && attempt < 5 {
			r.Log().Warningf("%s moved on the remote; re-applying the promotion on its new tip", res.Branch)
			continue
		}
		if err != nil {
			return fmt.Errorf("%w (the commit %s stays on the local branch %s; run the same command again to retry)", err, h.String()[:12], res.Branch)
		}
		return nil
	}
}

// branchParent says what the promotion commit on branch builds on: head
// (the base), or the remote branch's tip when an open pull request's
// branch is updated in place, with merge set to head when the base moved
// on since the branch was made. tip is the remote branch's tip (zero when
// there is none, or no remote).
func (r *repository) branchParent(ctx context.Context, branch string, opts PromoteOptions, head plumbing.Hash) (parent, merge, tip plumbing.Hash, err error) {
	parent = head
	if opts.Remote == "" {
		return parent, merge, tip, nil
	}
	if tip, err = r.Repo().Fetch(ctx, opts.Remote, branch, opts.Auth); err != nil {
		return parent, merge, tip, err
	}
	// An open pull request's branch is updated in place; a branch whose
	// commits are already merged starts again from the base.
	merged, err := r.isAncestor(tip, head)
	if err != nil || tip.IsZero() || merged {
		return parent, merge, tip, err
	}
	parent = tip
	// The base moved on since the branch was made: merge it into the
	// branch, so the pull request merges cleanly and what it renders
	// (which depends on every release) is computed from the new base.
	upToDate, err := r.isAncestor(head, tip)
	if err != nil || upToDate {
		return parent, merge, tip, err
	}
	// The merge's tree is the base's with the promotion's files: a commit
	// someone else pushed onto the branch would silently drop out of it.
	// Refuse instead.
	if err := r.refuseForeignCommits(branch, head, tip); err != nil {
		return parent, merge, tip, err
	}
	return parent, head, tip, nil
}

// commitOnBranch commits files on branch over parent (merging merge when
// set) and returns the branch's new head.
func (r *repository) commitOnBranch(ctx context.Context, branch string, opts PromoteOptions, head, parent, merge plumbing.Hash, files []repo.File, msg string, sig object.Signature) (plumbing.Hash, error) {
	// With no remote branch to update in place, a local branch that
	// already holds this very change on this base is kept: re-running with
	// other words in the message (monitor's evidence) must not make a new
	// head, which would dismiss the approvals of the pull request it is
	// pushed to.
	if parent == head {
		local, err := r.Repo().BranchTip(ctx, branch) // not the ledger's, which warns about a branch Flux follows
		if err != nil {
			return plumbing.ZeroHash, err
		}
		held, err := r.holdsChange(head, local, files)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if held {
			return local, nil
		}
	}
	if err := r.Repo().ResetBranch(branch, parent, sig); err != nil {
		return plumbing.ZeroHash, err
	}
	// On the remote branch, Commit makes no commit when the tip already
	// holds the files: the head stays, whatever msg says.
	h, err := r.Repo().Commit(ctx, repo.CommitRequest{
		Files:          files,
		Message:        msg,
		Author:         sig,
		Committer:      sig,
		Signer:         opts.Identity.Signer,
		Branch:         branch,
		ExpectedParent: parent,
		Merge:          merge,
	})
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("committing on %s: %w", branch, err)
	}
	return h, nil
}

// push pushes branch, whose head is h and whose remote tip was tip. A
// push racing another on the same branch can fail otherwise than as a
// non-fast-forward (the server could not lock the ref, or its report is
// cut short): if the branch moved meanwhile, it is the same conflict
// (repo.ErrNonFastForward); if it holds our commit, the push landed.
func (r *repository) push(ctx context.Context, branch string, opts PromoteOptions, h, tip plumbing.Hash) error {
	err := r.Repo().Push(ctx, opts.Remote, branch, opts.Auth)
	if err == nil || errors.Is(err, repo.ErrNonFastForward) {
		return err
	}
	now, ferr := r.Repo().Fetch(ctx, opts.Remote, branch, opts.Auth)
	if ferr != nil {
		return err
	}
	switch now {
	case h:
		return nil
	case tip:
		return err
	}
	return fmt.Errorf("%w: %w", repo.ErrNonFastForward, err)
}

// holdsChange reports whether tip already holds the change a promotion
// would commit on head: head is an ancestor of tip (the base is still
// current) and the trees of head and tip differ in exactly files, each
// with its content. Such a tip is the same change, whatever its commit
// message says.
func (r *repository) holdsChange(head, tip plumbing.Hash, files []repo.File) (bool, error) {
	if tip.IsZero() || tip == head || len(files) == 0 {
		return false, nil
	}
	if ok, err := r.isAncestor(head, tip); err != nil || !ok {
		return false, err
	}
	trees := make([]*object.Tree, 2)
	for i, h := range []plumbing.Hash{head, tip} {
		c, err := r.Repo().CommitObject(h)
		if err != nil {
			return false, err
		}
		if trees[i], err = c.Tree(); err != nil {
			return false, fmt.Errorf("reading the tree of %s: %w", h, err)
		}
	}
	changes, err := object.DiffTree(trees[0], trees[1])
	if err != nil {
		return false, fmt.Errorf("comparing %s with %s: %w", head.String()[:12], tip.String()[:12], err)
	}
	want := make(map[string][]byte, len(files))
	for _, f := range files {
		if f.Delete || (f.Mode != 0 && f.Mode != filemode.Regular) {
			return false, nil
		}
		want[f.Path] = f.Content
	}
	if len(changes) != len(want) {
		return false, nil
	}
	for _, c := range changes {
		content, ok := want[c.To.Name]
		if !ok || c.To.Name == "" || c.To.TreeEntry.Mode != filemode.Regular {
			return false, nil
		}
		got, err := r.Repo().ReadFile(tip, c.To.Name)
		if err != nil {
			return false, err
		}
		if !bytes.Equal(got, content) {
			return false, nil
		}
	}
	return true, nil
}

// refuseForeignCommits fails when the promotion branch's commits since
// base include one modelgit did not make (no Model: and Environment:
// trailers): re-applying the promotion on the new base would drop its
// changes. Merge commits are let through: what they bring is in their
// parents, which are checked.
func (r *repository) refuseForeignCommits(branch string, base, tip plumbing.Hash) error {
	commits, err := r.Repo().RangeCommits(base, tip)
	if err != nil {
		return err
	}
	for _, c := range commits {
		if c.NumParents() > 1 {
			continue
		}
		var model, env bool
		for _, t := range repo.ParseTrailers(c.Message) {
			model = model || t.Key == "Model"
			env = env || t.Key == "Environment"
		}
		if model && env {
			continue
		}
		return fmt.Errorf("%s holds commit %s (%q by %s) that modelgit did not make, and the base moved on: re-applying the promotion on the new base would drop it. Merge the base into the branch yourself (git merge) and push, or delete the branch to start over, then run the same command again", branch, c.Hash.String()[:12], gitops.FirstLine(c.Message), c.Author.Name)
	}
	return nil
}

// isAncestor reports whether a is reachable from b (a zero a is not).
func (r *repository) isAncestor(a, b plumbing.Hash) (bool, error) {
	if a.IsZero() || b.IsZero() {
		return false, nil
	}
	return r.Repo().IsAncestor(context.Background(), a, b)
}

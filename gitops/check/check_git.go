package check

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/manifests"
)

// mergeBase returns the best common ancestor of base and head, as `git
// merge-base` picks it: a pull request's changes are what head changes
// since then, so that what the base gained after the pull request forked
// (another promotion merged meanwhile) is not taken for something the
// pull request removes. It asks git rather than go-git, whose MergeBase
// indexes the whole history of one side; git answers from the commit
// graph in milliseconds on long histories.
func (r *repository) mergeBase(ctx context.Context, base, head plumbing.Hash) (*object.Commit, error) {
	h, err := r.Repo().MergeBase(ctx, base, head)
	if err != nil {
		return nil, fmt.Errorf("checking: finding the merge base of %s and %s: %w (a shallow clone lacks it: fetch with --unshallow, or fetch-depth: 0 in actions/checkout)", gitops.Short(base), gitops.Short(head), err)
	}
	if h.IsZero() {
		return nil, fmt.Errorf("checking: the base %s and the head %s share no history; open the pull request from a branch of the base", gitops.Short(base), gitops.Short(head))
	}
	c, err := r.Repo().CommitObject(h)
	if err != nil {
		return nil, fmt.Errorf("checking: reading the merge base %s: %w", h, err)
	}
	return c, nil
}

// checkConfigCommit checks a commit that changes modelgit.yaml and no
// governed directory (checkCommit judges the others) as checkCommit
// would: modelgit.yaml decides the environments, their order and the
// clusters, so a change to it must be signed by a signer judge trusts,
// unless it is a forge's merge that brings nothing of its own.
func (r *repository) checkConfigCommit(c *object.Commit, judge signatureJudge) (governed bool, findings []Finding, err error) {
	h, err := subtree(c, manifests.ConfigFile)
	if err != nil {
		return false, nil, err
	}
	var ph plumbing.Hash
	if c.NumParents() > 0 {
		p, err := c.Parent(0)
		if err != nil {
			return false, nil, err
		}
		if ph, err = subtree(p, manifests.ConfigFile); err != nil {
			return false, nil, err
		}
	}
	if h == ph {
		return false, nil, nil
	}
	s, err := judge(c)
	if err != nil {
		return true, nil, err
	}
	if !s.Trusted && !s.Signed {
		neutral, err := mergeAddsNothing(c)
		if err != nil {
			return true, nil, err
		}
		s.Trusted = neutral
	}
	if !s.Trusted {
		reason := s.Reason
		if reason == "" {
			reason = "not signed by an allowed signer"
		}
		findings = append(findings, Finding{Commit: c.Hash.String(), Path: manifests.ConfigFile, Check: "signature", Message: fmt.Sprintf("%s (%s)", reason, gitops.FirstLine(c.Message))})
	}
	return true, findings, nil
}

// changedPath is one file a pull request adds, modifies or deletes.
type changedPath struct {
	Path    string
	Deleted bool
}

// changedPaths lists the files under dirs (and the top-level files named
// in dirs) that differ between the trees of a and b, sorted. Equal
// subtrees are skipped by hash, so it costs what changed, not the size of
// the repository.
func (r *repository) changedPaths(a, b *object.Commit, dirs []string) ([]changedPath, error) {
	ta, err := a.Tree()
	if err != nil {
		return nil, err
	}
	tb, err := b.Tree()
	if err != nil {
		return nil, err
	}
	var out []changedPath
	for _, d := range dirs {
		ea, errA := ta.FindEntry(d)
		eb, errB := tb.FindEntry(d)
		var ha, hb plumbing.Hash
		var da, db bool
		if errA == nil {
			ha, da = ea.Hash, ea.Mode == filemode.Dir
		}
		if errB == nil {
			hb, db = eb.Hash, eb.Mode == filemode.Dir
		}
		if err := r.diffEntries(d, ha, da, hb, db, &out); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(x, y changedPath) int { return strings.Compare(x.Path, y.Path) })
	return out, nil
}

// diffEntries compares one path's entry on both sides (zero hash: absent).
func (r *repository) diffEntries(p string, ha plumbing.Hash, dirA bool, hb plumbing.Hash, dirB bool, out *[]changedPath) error {
	if ha == hb && dirA == dirB {
		return nil
	}
	if !dirA && !dirB {
		*out = append(*out, changedPath{Path: p, Deleted: hb.IsZero()})
		return nil
	}
	entries := map[string][2]object.TreeEntry{}
	for side, h := range []plumbing.Hash{ha, hb} {
		dir := []bool{dirA, dirB}[side]
		if h.IsZero() {
			continue
		}
		if !dir { // a file on one side, a directory on the other
			*out = append(*out, changedPath{Path: p, Deleted: side == 0})
			continue
		}
		t, err := r.Repo().TreeObject(h)
		if err != nil {
			return fmt.Errorf("reading tree %s of %q: %w", h, p, err)
		}
		for _, e := range t.Entries {
			pair := entries[e.Name]
			pair[side] = e
			entries[e.Name] = pair
		}
	}
	for name, pair := range entries {
		if err := r.diffEntries(p+"/"+name, pair[0].Hash, pair[0].Mode == filemode.Dir, pair[1].Hash, pair[1].Mode == filemode.Dir, out); err != nil {
			return err
		}
	}
	return nil
}

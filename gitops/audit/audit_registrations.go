package audit

import (
	"bytes"
	"context"
	"maps"
	"slices"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/repo"
)

// registrations finds the commit that registered each manifest: on the
// first-parent history of at, the oldest commit from which on the path
// exists (its second parent when that commit is a merge). Manifests are
// immutable and never removed, so whether a path exists is monotonic
// along the history, and a binary search finds each one in about log2(n)
// path look-ups instead of a diff of models/ at every commit.
func (r *repository) registrations(ctx context.Context, line []plumbing.Hash, t gitops.CommitJudge, added map[string]*VersionChain) error {
	found, err := r.searchAdded(ctx, line, slices.Sorted(maps.Keys(added)))
	if err != nil {
		return err
	}
	return r.signRegistrations(ctx, line, found, t, added)
}

// searchAdded finds, for each path, the oldest commit of chain (the
// first-parent history, newest first) from which on it exists: its index
// in chain.
func (r *repository) searchAdded(ctx context.Context, chain []plumbing.Hash, paths []string) (map[string]int, error) {
	type search struct {
		path   string
		lo, hi int // exists at lo; not known beyond hi (exclusive)
	}
	var all, open []*search
	for _, p := range paths {
		s := &search{path: p, lo: 0, hi: len(chain)}
		all = append(all, s)
		if s.hi > 1 {
			open = append(open, s)
		}
	}
	cf, err := r.Repo().BatchCheck(ctx)
	if err != nil {
		return nil, err
	}
	defer cf.Close()
	for len(open) > 0 {
		queries := make([]string, len(open))
		for i, s := range open {
			queries[i] = chain[(s.lo+s.hi)/2].String() + ":" + s.path
		}
		exists, err := cf.Exist(queries)
		if err != nil {
			return nil, err
		}
		next := open[:0]
		for i, s := range open {
			if mid := (s.lo + s.hi) / 2; exists[i] {
				s.lo = mid
			} else {
				s.hi = mid
			}
			if s.hi-s.lo > 1 {
				next = append(next, s)
			}
		}
		open = next
	}
	found := make(map[string]int, len(all))
	for _, s := range all {
		found[s.path] = s.lo
	}
	return found, nil
}

// signRegistrations reads the commits that registered each manifest
// (chain[found[path]], or that merge's second parent for a registration
// through a pull request) and their signatures.
func (r *repository) signRegistrations(ctx context.Context, chain []plumbing.Hash, found map[string]int, t gitops.CommitJudge, added map[string]*VersionChain) error {
	paths := slices.Sorted(maps.Keys(found))
	var onLine []plumbing.Hash
	for _, p := range paths {
		onLine = append(onLine, chain[found[p]])
	}
	commits, err := r.readCommits(ctx, onLine)
	if err != nil {
		return err
	}
	byPath := map[string]plumbing.Hash{}
	var second []plumbing.Hash
	for _, p := range paths {
		h := chain[found[p]]
		if ps := commits[h].ParentHashes; len(ps) > 1 {
			h = ps[1] // a merge: the registration is its second parent
			second = append(second, h)
		}
		byPath[p] = h
	}
	more, err := r.readCommits(ctx, second)
	if err != nil {
		return err
	}
	maps.Copy(commits, more)
	for _, p := range paths {
		h := byPath[p]
		sig, err := t.Judge(commits[h])
		if err != nil {
			return err
		}
		vc := added[p]
		vc.RegistrationCommit, vc.Signature = h.String(), &sig
	}
	return nil
}

// readCommits reads commits, each once.
func (r *repository) readCommits(ctx context.Context, hashes []plumbing.Hash) (map[plumbing.Hash]*object.Commit, error) {
	hashes = slices.Compact(slices.SortedFunc(slices.Values(hashes), func(a, b plumbing.Hash) int { return bytes.Compare(a[:], b[:]) }))
	out := make(map[plumbing.Hash]*object.Commit, len(hashes))
	if len(hashes) == 0 {
		return out, nil
	}
	objs, err := r.Repo().ReadObjects(ctx, hashes)
	if err != nil {
		return nil, err
	}
	for _, h := range hashes {
		c, err := repo.LightCommit(h, objs[h])
		if err != nil {
			return nil, err
		}
		out[h] = c
	}
	return out, nil
}

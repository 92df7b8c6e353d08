package audit

import (
	"bytes"
	"context"
	"maps"
	"slices"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/ledger"
	"github.com/modelgit/modelgit/gitops/repo"
)

// registrations finds the commit that registered each manifest: on the
// first-parent history of at, the oldest commit from which on the path
// exists (its second parent when that commit is a merge). Manifests are
// immutable and never removed, so whether a path exists is monotonic
// along the history, and a search finds each one in a few path look-ups
// instead of a diff of models/ at every commit. hints, by path, are where
// on line each registration is expected (searchAdded). line is the
// first-parent history from at, at place atPos of clock's.
//
// A registration found once is kept (ledger.RegistrationsFile): the
// commit has the path and its first parent has not, whatever the branch,
// so when that commit is on line it is the answer, with no look-up.
func (r *repository) registrations(ctx context.Context, clock *ledger.Clock, line []plumbing.Hash, hints map[string]int, t gitops.CommitJudge, added map[string]*VersionChain) error {
	atPos := clock.Len() - len(line)
	known := r.KnownRegistrations(ctx)
	found := map[string]int{}
	var search []string
	for _, p := range slices.Sorted(maps.Keys(added)) {
		if c, ok := known[p]; ok {
			if pos, ok := clock.Position(c); ok && pos >= atPos {
				found[p] = pos - atPos
				continue
			}
		}
		search = append(search, p)
	}
	searched, err := r.searchAdded(ctx, line, search, hints)
	if err != nil {
		return err
	}
	facts := map[string]plumbing.Hash{}
	for p, i := range searched {
		found[p] = i
		facts[p] = line[i]
	}
	r.AddRegistrations(ctx, facts)
	return r.signRegistrations(ctx, line, found, t, added)
}

// searchAdded finds, for each path, the oldest commit of chain (the
// first-parent history, newest first) from which on it exists: its index
// in chain. Each path exists at chain[0].
//
// A hint, when a path has one, is the index of the newest commit before
// the path's manifest says it was registered (its registeredAt): the
// registration is then most often one to a few commits newer. The search
// looks there first and widens from it, doubling its steps, until the
// registration is bracketed, and bisects only that bracket: about four
// look-ups instead of log2(len(chain)), fifteen on 30,000 commits. A
// wrong hint (a hand-written registeredAt, a skewed clock) costs only
// more look-ups: every bound is one git answered, never the hint itself.
//
// With the commit-graph's changed-path filters, each answer also moves a
// bound to the nearest commit that may change the path (addedSearch.narrow):
// the commits between leave it as it is. The registration is then most
// often bracketed by the next look-up: two in all.
func (r *repository) searchAdded(ctx context.Context, chain []plumbing.Hash, paths []string, hints map[string]int) (map[string]int, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	filter := r.Repo().LineFilter(ctx, chain)
	var all, open []*addedSearch
	for _, p := range paths {
		s := &addedSearch{path: p, lo: 0, hi: len(chain)}
		if filter != nil {
			s.mayChange = func(i int) bool { return filter.MayChange(i, p) }
		}
		if k, ok := hints[p]; ok && k > 0 && k < len(chain) {
			s.probe, s.widen = k, 0
		} else {
			s.bisect()
		}
		all = append(all, s)
		if !s.done() {
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
			queries[i] = chain[s.probe].String() + ":" + s.path
		}
		exists, err := cf.Exist(queries)
		if err != nil {
			return nil, err
		}
		next := open[:0]
		for i, s := range open {
			if s.answer(exists[i]); !s.done() {
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

// addedSearch is the search for one path's registration: it exists at
// chain[lo] and not at chain[hi] (hi == len(chain): none known).
type addedSearch struct {
	path   string
	lo, hi int
	// probe is the index asked next. widen, while not bisecting, is the
	// step from the hint: negative toward newer commits (the path was
	// missing at the hint), positive toward older ones; 0 before the
	// hint's own answer.
	probe, widen int
	bisecting    bool
	// mayChange, when set, says whether chain[i] may change the path
	// relative to its first parent, chain[i+1]; false proves it does not.
	// guesses counts the probes narrow chose.
	mayChange func(i int) bool
	guesses   int
}

// answer takes whether the path exists at chain[probe] and sets the next
// probe.
func (s *addedSearch) answer(exists bool) {
	if exists {
		s.lo = s.probe
	} else {
		s.hi = s.probe
	}
	if s.done() || s.narrow(exists) {
		return
	}
	switch {
	case s.bisecting:
	case s.widen == 0 && exists:
		s.widen = 1
	case s.widen == 0:
		s.widen = -1
	case s.widen > 0 && exists || s.widen < 0 && !exists:
		s.widen *= 2
	default:
		s.bisecting = true // bracketed
	}
	if s.bisecting {
		s.bisect()
		return
	}
	if s.widen > 0 {
		s.probe = min(s.lo+s.widen, s.hi)
	} else {
		s.probe = max(s.hi+s.widen, s.lo)
	}
	if s.probe == s.lo || s.probe == s.hi {
		s.bisect()
	}
}

// maxNarrow bounds the filters narrow reads for one answer: past it, the
// search widens or bisects as it would without them.
const maxNarrow = 8192

// maxGuesses bounds the look-ups at the commits narrow finds: each one
// that is not the registration (a filter's false positive) costs one, so
// after these the search widens or bisects, narrowing only its bounds.
const maxGuesses = 2

// narrow moves the bound just set to the nearest commit that may change
// the path, by the filters, and asks there next. The path exists at
// chain[lo], and every commit from lo on that leaves it alone has it too;
// it is absent at chain[hi], and every newer commit down from hi that
// leaves it alone lacks it too. The commit found is most often the
// registration itself. False when there are no filters, none of maxNarrow
// commits may change the path (the bound has moved past those), or
// maxGuesses were wrong: the search then widens or bisects from the
// bounds.
func (s *addedSearch) narrow(exists bool) bool {
	if s.mayChange == nil {
		return false
	}
	found := false
	if exists {
		for j := s.lo; j < s.hi; j++ {
			if j == s.hi-1 || s.mayChange(j) {
				s.lo, found = j, true // done when j is hi-1: it changes the path
				break
			}
			if j-s.lo == maxNarrow {
				s.lo = j + 1
				break
			}
		}
	} else {
		for j := s.hi - 1; j >= s.lo; j-- {
			if j == s.lo || s.mayChange(j) {
				s.hi, found = j+1, true // done when j is lo: it changes the path
				break
			}
			if s.hi-1-j == maxNarrow {
				s.hi = j
				break
			}
		}
	}
	if s.done() {
		return true
	}
	if !found || s.guesses == maxGuesses {
		return false
	}
	s.guesses++
	if exists {
		s.probe = s.lo + 1
	} else {
		s.probe = s.hi - 1
	}
	return true
}

// bisect asks the middle of the bracket from now on.
func (s *addedSearch) bisect() {
	s.bisecting = true
	s.probe = (s.lo + s.hi) / 2
}

// done says whether the path's registration is found: chain[lo].
func (s *addedSearch) done() bool { return s.hi-s.lo <= 1 }

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

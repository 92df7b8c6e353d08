package repo

// The scan for a caller that walks back and most often stops early
// (ScanReleasesBack, `which`): how far its stages may read ahead of the
// caller, and, once the caller asks about few release files, which
// commits it need not read at all. scan.go holds the scan itself.

import (
	"context"
	"slices"
	"sync/atomic"

	"github.com/go-git/go-git/v5/plumbing"
)

// ScanReleasesBack is ScanReleases with lite, from tip to the first
// commit, for a caller that most often ends it early (ErrStopScan): the
// scan reads ahead of fn by at most scanAhead commits, where a scan to
// the end reads as far ahead as git answers. `which` walking back from a
// moment stopped after 1,300 commits of 62,000 while the stages had read
// the trees of 3,200.
//
// open, when not nil, holds the release files the caller still asks
// about; it may only shrink (OpenPaths.Set). Once few are left, a commit
// that the commit-graph's filters prove leaves all of them alone is not
// read: the changes handed over are then exact for the open files only,
// and a change to another may come with a newer commit than made it.
func (r *Repo) ScanReleasesBack(ctx context.Context, tip plumbing.Hash, envs []string, model string, open *OpenPaths, fn func(*FPCommit) error) error {
	_, err := r.scanReleases(ctx, tip, plumbing.ZeroHash, envs, model, scanOpts{lite: true, ahead: scanAhead, open: open}, nil, fn)
	return err
}

// OpenPaths are the release files a ScanReleasesBack is still asked
// about, safe to set while the scan reads them.
type OpenPaths struct{ paths atomic.Pointer[[]string] }

// Set says that only paths are asked about from now on: a subset of
// those set before.
func (o *OpenPaths) Set(paths []string) { o.paths.Store(&paths) }

// Paths are the paths set last.
func (o *OpenPaths) Paths() []string {
	if p := o.paths.Load(); p != nil {
		return *p
	}
	return nil
}

// maxOpenChecks is how many open paths a scan checks against each
// commit's filter: with more, nearly every commit touches one.
const maxOpenChecks = 64

// scanAhead is how many commits a scan that most often ends early lists
// ahead of the one its caller was last handed.
const scanAhead = 256

// admit waits, in a bounded scan, until fewer than resume commits are in
// flight when ahead are, having sent the questions asked so far (flush),
// and counts one more; false once the scan has ended.
func (s *releaseScan) admit(flush func()) bool {
	if s.ahead == 0 {
		s.admitted++
		return s.ctx.Err() == nil
	}
	s.flowMu.Lock()
	if s.inFlight >= s.ahead && !s.flowClosed {
		s.flowMu.Unlock()
		flush()
		s.flowMu.Lock()
		for s.inFlight >= s.resume() && !s.flowClosed {
			s.flow.Wait()
		}
	}
	s.inFlight++
	s.admitted++
	closed := s.flowClosed
	s.flowMu.Unlock()
	return !closed && s.ctx.Err() == nil
}

// resume is how few commits in flight let the first stage list again:
// half of ahead, and never fewer than two, since the third stage holds a
// commit until the next one comes (it diffs against it).
func (s *releaseScan) resume() int { return max(s.ahead/2, 2) }

// leave counts a commit out of flight: handed over, or found to change
// no release file.
func (s *releaseScan) leave() {
	if s.ahead == 0 {
		return
	}
	s.flowMu.Lock()
	s.inFlight--
	wake := s.inFlight < s.resume()
	s.flowMu.Unlock()
	if wake {
		s.flow.Signal()
	}
}

// flusher is what a stage of a bounded scan does before it waits for
// work: send cf the questions it asked, which the next stage may be
// waiting on. Nil in an unbounded scan, whose stages never wait for room.
func (s *releaseScan) flusher(cf *CatFile) func() {
	if s.ahead == 0 {
		return nil
	}
	return func() { _ = cf.in.Flush() }
}

// fewOpen are the open paths once few enough are left to check each
// commit against (maxOpenChecks); false before, or in a scan without
// them.
func (s *releaseScan) fewOpen() ([]string, bool) {
	if s.open == nil {
		return nil, false
	}
	open := s.open.paths.Load()
	if open == nil || len(*open) > maxOpenChecks {
		return nil, false
	}
	return *open, true
}

// mayTouchOpen says whether gn may change one of the open paths: false
// only when few are open and gn's filter proves it leaves each alone.
// The first commit is always read (there is nothing older to diff
// against).
func (s *releaseScan) mayTouchOpen(gn *graphNode) bool {
	open, few := s.fewOpen()
	if !few || gn.parents == 0 {
		return true
	}
	return slices.ContainsFunc(open, func(p string) bool { return s.openKeys.mayChange(gn.pos, p) })
}

// keepOpen drops, once few paths are open, the changes to the others: a
// skipped commit's changes to them would come with the next commit read,
// and reading their blobs is what skipping saves.
func (s *releaseScan) keepOpen(changes []RawChange) []RawChange {
	open, few := s.fewOpen()
	if !few {
		return changes
	}
	return slices.DeleteFunc(changes, func(c RawChange) bool { return !slices.Contains(open, c.Path) })
}

package repo

// The first-parent line of a tip with each commit's committer time: what
// the clock of audit and which, the chain of trust and the release scan
// are computed along. The commit-graph lists it when it holds the tip
// (commitgraph_read.go); git rev-list lists the commits newer than it, or
// the whole line when it cannot.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// FPTime is a first-parent commit and its committer time.
type FPTime struct {
	Hash plumbing.Hash
	Time time.Time
}

// FirstParentTimes lists the first-parent history of tip, newest first,
// with each commit's committer time (`git rev-list --first-parent
// --timestamp`, answered from the commit-graph when there is one). A tip
// names its history, so the list is read once per tip and shared by every
// caller, concurrent ones included: callers must not change it.
func (r *Repo) FirstParentTimes(ctx context.Context, tip plumbing.Hash) ([]FPTime, error) {
	r.fpMu.Lock()
	l := r.fp[tip]
	if l == nil {
		if len(r.fp) >= maxFPListings {
			clear(r.fp) // a long-lived process asks about many tips
		}
		if r.fp == nil {
			r.fp = map[plumbing.Hash]*fpListing{}
		}
		l = &fpListing{done: make(chan struct{})}
		r.fp[tip] = l
		r.fpMu.Unlock()
		l.list, _, l.err = r.firstParentDownTo(ctx, tip, plumbing.ZeroHash)
		if l.err != nil {
			r.fpMu.Lock()
			if r.fp[tip] == l {
				delete(r.fp, tip) // not kept: the next caller tries again
			}
			r.fpMu.Unlock()
		}
		close(l.done)
	} else {
		r.fpMu.Unlock()
	}
	select {
	case <-l.done:
		return l.list, l.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// fpListing is one first-parent history being, or already, listed.
type fpListing struct {
	done chan struct{}
	list []FPTime
	err  error

	placeMu  sync.Mutex
	placedIn *commitGraph // the commit-graph pos is of, once asked
	pos      []uint32
	placedOK bool
}

// positions places the listing in g (commitGraph.linePositions), once per
// commit-graph.
func (l *fpListing) positions(g *commitGraph) ([]uint32, bool) {
	l.placeMu.Lock()
	defer l.placeMu.Unlock()
	if l.placedIn != g {
		l.pos, l.placedOK = g.linePositions(len(l.list), func(i int) plumbing.Hash { return l.list[i].Hash })
		l.placedIn = g
	}
	return l.pos, l.placedOK
}

// linePositions is g.linePositions for a line of n commits (the i-th named
// by id(i)), answered from a first-parent history FirstParentTimes listed
// when the line is that history's tail, as the chain of trust's line (the
// whole history) and the registration search's (from a moment on) are: a
// command places the history in the commit-graph once, not once per use
// (each walk of the graph's parents costs about 7 ms on 62,000 commits,
// where checking that the line is the tail costs a comparison per commit).
// Positions returned are shared: callers do not change them.
func (r *Repo) linePositions(g *commitGraph, n int, id func(int) plumbing.Hash) ([]uint32, bool) {
	if n > 0 {
		first := id(0)
		r.fpMu.Lock()
		var tail *fpListing
		for _, l := range r.fp {
			select {
			case <-l.done:
			default:
				continue // being listed
			}
			if k := len(l.list) - n; l.err == nil && k >= 0 && l.list[k].Hash == first {
				tail = l
				break
			}
		}
		r.fpMu.Unlock()
		if tail != nil {
			k := len(tail.list) - n
			same := true
			for i := 1; i < n && same; i++ {
				same = id(i) == tail.list[k+i].Hash
			}
			if same {
				if pos, ok := tail.positions(g); ok {
					return pos[k:], true
				}
			}
		}
	}
	return g.linePositions(n, id)
}

// maxFPListings bounds the first-parent histories a Repo keeps.
const maxFPListings = 4

// firstParentDownTo lists the first-parent history of tip, newest first,
// with committer times, down to stop (included) when stop is on it:
// reached says so. Reading ends at stop. The commit-graph answers from
// the first commit it holds (commitgraph_read.go); git rev-list lists
// those before it, or all of them when it cannot.
func (r *Repo) firstParentDownTo(ctx context.Context, tip, stop plumbing.Hash) (list []FPTime, reached bool, err error) {
	g := r.openCommitGraph(ctx)
	if g != nil {
		if g.has(tip) {
			if list, reached, ok := g.line(tip, stop); ok {
				return list, reached, nil
			}
			g = nil
		}
	}
	list, reached, err = r.revListDownTo(ctx, tip, stop, g)
	if errors.Is(err, errGraphFailed) {
		list, reached, err = r.revListDownTo(ctx, tip, stop, nil)
	}
	return list, reached, err
}

// errGraphFailed is revListDownTo's word for a commit-graph that could
// not go on from the first commit it holds.
var errGraphFailed = errors.New("the commit-graph cannot list the first-parent line")

// revListDownTo is firstParentDownTo through `git rev-list --first-parent
// --timestamp`, until g (when not nil) holds a listed commit: g lists the
// rest.
func (r *Repo) revListDownTo(ctx context.Context, tip, stop plumbing.Hash, g *commitGraph) (list []FPTime, reached bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	args := []string{"rev-list", "--first-parent", "--timestamp", tip.String()}
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = r.Root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, false, fmt.Errorf("starting git rev-list: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, false, fmt.Errorf("starting git rev-list: %w (install git: apt-get install -y git)", err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		ft, err := parseTimestampLine(sc.Text(), tip)
		if err != nil {
			return nil, false, err
		}
		if !stop.IsZero() && ft.Hash == stop {
			cancel()
			_ = cmd.Wait()
			return append(list, ft), true, nil
		}
		if g != nil && g.has(ft.Hash) {
			cancel()
			_ = cmd.Wait()
			rest, reached, ok := g.line(ft.Hash, stop)
			if !ok {
				return nil, false, errGraphFailed
			}
			return append(list, rest...), reached, nil
		}
		list = append(list, ft)
	}
	if err := cmd.Wait(); err != nil {
		return nil, false, fmt.Errorf("running git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return list, false, sc.Err()
}

// parseTimestampLine parses a line of `git rev-list --timestamp`.
func parseTimestampLine(l string, tip plumbing.Hash) (FPTime, error) {
	ts, h, ok := strings.Cut(l, " ")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil || len(h) != 40 {
		return FPTime{}, fmt.Errorf("reading git rev-list --first-parent --timestamp %s: unexpected line %q", tip, l)
	}
	return FPTime{Hash: plumbing.NewHash(h), Time: time.Unix(sec, 0).UTC()}, nil
}

package repo

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// TestLineFilter: the filters never deny a change git's path-limited log
// lists (a false answer is a proof), and do deny some, along lines from
// every fourth commit of a history with merges, a split commit-graph and
// commits newer than it; without a commit-graph there is no filter.
func TestLineFilter(t *testing.T) {
	r, _ := bloomHistory(t)
	ctx := context.Background()
	paths := []string{"environments/production/m.yaml", "environments/production", "policies", "models/m/1.yaml", "README", "bulk/f001", "nothing/here"}
	denied := 0
	for k, tip := range strings.Fields(run(t, r.Root, "rev-list", "--first-parent", "main")) {
		if k%4 != 0 {
			continue // every fourth: above and below each layer of the commit-graph
		}
		var line []plumbing.Hash
		for _, h := range strings.Fields(run(t, r.Root, "rev-list", "--first-parent", tip)) {
			line = append(line, plumbing.NewHash(h))
		}
		f := r.LineFilter(ctx, line)
		if f == nil {
			t.Fatalf("no filter for the line from %s", tip[:7])
		}
		for _, p := range paths {
			changes := map[string]bool{}
			for _, h := range strings.Fields(run(t, r.Root, "rev-list", "--first-parent", tip, "--", p)) {
				changes[h] = true
			}
			for i, h := range line {
				switch may := f.MayChange(i, p); {
				case changes[h.String()] && !may:
					t.Fatalf("line from %s: commit %s changes %s, the filter says it does not", tip[:7], h.String()[:7], p)
				case !may:
					denied++
				}
			}
		}
	}
	if denied == 0 {
		t.Error("the filters denied no change: the test proves nothing")
	}
	if f := r.LineFilter(ctx, []plumbing.Hash{plumbing.NewHash(strings.Repeat("1", 40))}); f == nil || !f.MayChange(0, "x") {
		t.Error("a commit the commit-graph lacks: want a filter that says it may change anything")
	}
	t.Setenv("GIT_CONFIG_COUNT", "1")
	t.Setenv("GIT_CONFIG_KEY_0", "core.commitGraph")
	t.Setenv("GIT_CONFIG_VALUE_0", "false")
	r2, err := Open(r.Root)
	if err != nil {
		t.Fatal(err)
	}
	if r2.LineFilter(ctx, []plumbing.Hash{plumbing.NewHash(run(t, r.Root, "rev-parse", "main"))}) != nil {
		t.Error("core.commitGraph=false: a filter from the commit-graph")
	}
}

// TestLinePositionsFromListing: a line that is the tail of a first-parent
// history FirstParentTimes listed is placed in the commit-graph from the
// listing's positions (shared with it), exactly as placing it afresh
// would; a line that only starts like such a tail is placed afresh.
func TestLinePositionsFromListing(t *testing.T) {
	r, _ := bloomHistory(t)
	ctx := context.Background()
	g := r.openCommitGraph(ctx)
	if g == nil {
		t.Fatal("no commit-graph")
	}
	list, err := r.FirstParentTimes(ctx, plumbing.NewHash(run(t, r.Root, "rev-parse", "main")))
	if err != nil {
		t.Fatal(err)
	}
	ids := func(line []FPTime) func(int) plumbing.Hash { return func(i int) plumbing.Hash { return line[i].Hash } }
	full, ok := r.linePositions(g, len(list), ids(list))
	if !ok || len(full) != len(list) {
		t.Fatalf("the listed history is not placed: %v, %d positions for %d commits", ok, len(full), len(list))
	}
	for k := range list {
		tail := list[k:]
		want, wantOK := g.linePositions(len(tail), ids(tail))
		got, ok := r.linePositions(g, len(tail), ids(tail))
		if ok != wantOK || !slices.Equal(got, want) {
			t.Fatalf("tail from %d: %v %v, placed afresh %v %v", k, got, ok, want, wantOK)
		}
		if &got[0] != &full[k] {
			t.Fatalf("tail from %d: placed afresh, not from the listing", k)
		}
	}
	// The tail from the middle with one commit replaced by another of the
	// history: not a first-parent line, whatever the listing says.
	k := len(list) / 2
	odd := slices.Clone(list[k:])
	odd[len(odd)/2] = list[0]
	if pos, ok := r.linePositions(g, len(odd), ids(odd)); ok {
		t.Fatalf("a line that is not the graph's placed: %v", pos)
	}
}

package repo

import (
	"context"
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

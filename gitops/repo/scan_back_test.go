package repo

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// scanWith runs a lite scan of tip's whole first-parent history for the
// production environment with opts, stopping after stopAfter commits
// (0: none), and returns its changes as text and the commits it listed.
func scanWith(t *testing.T, r *Repo, tip plumbing.Hash, opts scanOpts, stopAfter int, keep func(string) bool) ([]string, int) {
	t.Helper()
	var got []string
	handed := 0
	res, err := r.scanReleases(context.Background(), tip, plumbing.ZeroHash, []string{"production"}, "", opts, nil, func(c *FPCommit) error {
		handed++
		for _, ch := range c.Changes {
			if keep == nil || keep(ch.Path) {
				got = append(got, c.Hash.String()[:7]+" "+ch.Path+" "+ch.Old.String()[:7]+"→"+ch.New.String()[:7])
			}
		}
		if handed == stopAfter {
			return ErrStopScan
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, res.admitted
}

// TestScanBackReadsAhead: a bounded scan hands over what an unbounded one
// does, and when its caller stops it, it has listed at most ahead commits
// past the last one handed over; an unbounded one lists them all.
func TestScanBackReadsAhead(t *testing.T) {
	r := newRepo(t)
	const n = 60
	for i := range n {
		writeFile(t, filepath.Join(r.Root, "environments", "production", "m.yaml"), fmt.Sprint(i))
		run(t, r.Root, "add", "-A")
		run(t, r.Root, "commit", "-q", "-m", fmt.Sprint("c", i))
	}
	run(t, r.Root, "commit-graph", "write", "--reachable", "--changed-paths")
	tip := plumbing.NewHash(run(t, r.Root, "rev-parse", "HEAD"))
	all, listed := scanWith(t, r, tip, scanOpts{lite: true}, 0, nil)
	if len(all) != n || listed != n {
		t.Fatalf("unbounded: %d changes, %d listed; want %d", len(all), listed, n)
	}
	for _, ahead := range []int{4, 5, 16} {
		got, _ := scanWith(t, r, tip, scanOpts{lite: true, ahead: ahead}, 0, nil)
		if !slices.Equal(got, all) {
			t.Fatalf("ahead %d: the changes differ from an unbounded scan's:\n%s\n%s", ahead, got, all)
		}
		for _, stop := range []int{1, 2, 10, 30} {
			got, listed := scanWith(t, r, tip, scanOpts{lite: true, ahead: ahead}, stop, nil)
			if !slices.Equal(got, all[:stop]) {
				t.Fatalf("ahead %d, stopped after %d: changes %s", ahead, stop, got)
			}
			if listed > stop+ahead {
				t.Errorf("ahead %d, stopped after %d: listed %d commits", ahead, stop, listed)
			}
		}
	}
	_, listed = scanWith(t, r, tip, scanOpts{lite: true}, 10, nil)
	if listed != n {
		t.Errorf("unbounded, stopped after 10: listed %d commits, want all %d (the test would not see a bound)", listed, n)
	}
}

// TestScanBackOpenPaths: once few release files are open, the scan skips
// the commits the filters prove leave them alone, and what it hands over
// for the open files is what a scan of everything finds: on a history
// with merges, a split commit-graph and commits newer than it.
func TestScanBackOpenPaths(t *testing.T) {
	r, _ := bloomHistory(t)
	ctx := context.Background()
	tip := plumbing.NewHash(run(t, r.Root, "rev-parse", "main"))
	for _, open := range [][]string{
		{"environments/production/m.yaml"},
		{"environments/production/n.yaml"},
		{"environments/production/m.yaml", "environments/production/n.yaml"},
	} {
		keep := func(p string) bool { return slices.Contains(open, p) }
		want, all := scanWith(t, r, tip, scanOpts{lite: true}, 0, keep)
		paths := &OpenPaths{}
		paths.Set(open)
		got, listed := scanWith(t, r, tip, scanOpts{lite: true, ahead: scanAhead, open: paths}, 0, nil)
		if !slices.Equal(got, want) {
			t.Fatalf("open %s:\n got  %s\n want %s", open, strings.Join(got, ", "), strings.Join(want, ", "))
		}
		if len(open) == 1 && listed >= all {
			t.Errorf("open %s: listed %d commits of %d: none skipped", open, listed, all)
		}
	}
	// Narrowing as the caller finishes with a file: m.yaml is dropped
	// after the first commit that changes it.
	paths := &OpenPaths{}
	paths.Set([]string{"environments/production/m.yaml", "environments/production/n.yaml"})
	want, _ := scanWith(t, r, tip, scanOpts{lite: true}, 0, func(p string) bool { return strings.HasSuffix(p, "/n.yaml") })
	var got []string
	err := r.ScanReleasesBack(ctx, tip, []string{"production"}, "", paths, func(c *FPCommit) error {
		for _, ch := range c.Changes {
			if strings.HasSuffix(ch.Path, "/n.yaml") {
				got = append(got, c.Hash.String()[:7]+" "+ch.Path+" "+ch.Old.String()[:7]+"→"+ch.New.String()[:7])
			} else {
				paths.Set([]string{"environments/production/n.yaml"})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("narrowed while scanning:\n got  %s\n want %s", strings.Join(got, ", "), strings.Join(want, ", "))
	}
}

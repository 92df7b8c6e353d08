package repo

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// graphRepo is a repository with a few commits, some changing release
// files, and no commit-graph.
func graphRepo(t *testing.T) (*Repo, plumbing.Hash) {
	t.Helper()
	r := newRepo(t)
	var tip plumbing.Hash
	for i, f := range []File{
		{Path: "README", Content: []byte("a\n")},
		{Path: "environments/production/fraud.yaml", Content: []byte("v: 1\n")},
		{Path: "models/fraud/1.0.0.yaml", Content: []byte("m\n")},
		{Path: "environments/dev/fraud.yaml", Content: []byte("v: 1\n")},
		{Path: "environments/production/fraud.yaml", Content: []byte("v: 2\n")},
		{Path: "README", Content: []byte("b\n")},
	} {
		tip = commit(t, r, "c"+string(rune('0'+i)), f)
	}
	return r, tip
}

func graphFile(t *testing.T, r *Repo) string {
	t.Helper()
	return filepath.Join(r.Root, ".git", "objects", "info", "commit-graph")
}

func hasChangedPaths(t *testing.T, r *Repo) bool {
	t.Helper()
	ok, err := r.HasChangedPaths(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// TestEnsureChangedPathsWritesWhenMissing: a long enough scan writes the
// commit-graph with changed paths when there is none, and when there is
// one without changed paths (what `git gc` writes); not when there is one
// with them, nor for a short history.
func TestEnsureChangedPathsWritesWhenMissing(t *testing.T) {
	r, _ := graphRepo(t)
	ctx := context.Background()
	if hasChangedPaths(t, r) {
		t.Fatal("a new repository has changed paths")
	}
	run(t, r.Root, "commit-graph", "write", "--reachable")
	if _, err := os.Stat(graphFile(t, r)); err != nil || hasChangedPaths(t, r) {
		t.Fatalf("git commit-graph write --reachable: file %v, changed paths %v; want a file without them", err, hasChangedPaths(t, r))
	}
	if wrote, err := r.EnsureChangedPaths(ctx, ChangedPathsMin-1); wrote || err != nil || hasChangedPaths(t, r) {
		t.Fatalf("a short history: wrote %v, %v", wrote, err)
	}
	if wrote, err := r.EnsureChangedPaths(ctx, ChangedPathsMin); !wrote || err != nil || !hasChangedPaths(t, r) {
		t.Fatalf("a long history without changed paths: wrote %v, %v, changed paths %v", wrote, err, hasChangedPaths(t, r))
	}
	before, err := os.Stat(graphFile(t, r))
	if err != nil {
		t.Fatal(err)
	}
	if wrote, err := r.EnsureChangedPaths(ctx, ChangedPathsMin); wrote || err != nil {
		t.Fatalf("with changed paths already: wrote %v, %v", wrote, err)
	}
	if after, _ := os.Stat(graphFile(t, r)); !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
		t.Error("the commit-graph with changed paths was written again")
	}
	// A damaged file is replaced.
	if err := os.WriteFile(graphFile(t, r), []byte("junk"), 0o444); err != nil {
		t.Fatal(err)
	}
	if wrote, err := r.EnsureChangedPaths(ctx, ChangedPathsMin); !wrote || err != nil || !hasChangedPaths(t, r) {
		t.Fatalf("a damaged commit-graph: wrote %v, %v", wrote, err)
	}
}

// TestEnsureChangedPathsSplitChain: a split commit-graph (what `git
// fetch` with fetch.writeCommitGraph writes) counts only when every layer
// has changed paths.
func TestEnsureChangedPathsSplitChain(t *testing.T) {
	r, _ := graphRepo(t)
	run(t, r.Root, "commit-graph", "write", "--reachable", "--split", "--changed-paths")
	if !hasChangedPaths(t, r) {
		t.Fatal("a split chain with changed paths does not count")
	}
	commit(t, r, "more", File{Path: "README", Content: []byte("c\n")})
	run(t, r.Root, "-c", "commitGraph.changedPaths=false", "commit-graph", "write", "--reachable", "--split=no-merge", "--no-changed-paths")
	chain, _ := os.ReadFile(filepath.Join(r.Root, ".git", "objects", "info", "commit-graphs", "commit-graph-chain"))
	if n := len(strings.Fields(string(chain))); n < 2 {
		t.Fatalf("want two layers, the chain has %d", n)
	}
	if hasChangedPaths(t, r) {
		t.Error("a chain with a layer without changed paths counts as having them")
	}
}

// TestEnsureChangedPathsOff: core.commitGraph=false (git reads no
// commit-graph) writes none.
func TestEnsureChangedPathsOff(t *testing.T) {
	r, _ := graphRepo(t)
	run(t, r.Root, "config", "core.commitGraph", "false")
	if wrote, err := r.EnsureChangedPaths(context.Background(), ChangedPathsMin); wrote || err != nil || hasChangedPaths(t, r) {
		t.Fatalf("core.commitGraph=false: wrote %v, %v", wrote, err)
	}
}

// scanChanges scans tip for the release changes of production and dev.
func scanChanges(t *testing.T, r *Repo, tip, stop plumbing.Hash) ([]string, ScanResult) {
	t.Helper()
	var got []string
	res, err := r.ScanReleasesTimed(context.Background(), tip, stop, []string{"dev", "production"}, "", true, func(c *FPCommit) error {
		for _, ch := range c.Changes {
			got = append(got, c.Hash.String()[:7]+" "+ch.Path+" "+ch.Old.String()[:7]+"→"+ch.New.String()[:7])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, res
}

// TestScanWritesCommitGraph: a scan of a history long enough writes the
// commit-graph with changed paths and finds the same changes; one that
// cannot write it (commit-graph.lock held, as by another git; a read-only
// clone) goes on without it and says why.
func TestScanWritesCommitGraph(t *testing.T) {
	r, tip := graphRepo(t)
	min := ChangedPathsMin
	t.Cleanup(func() { ChangedPathsMin = min })
	want, res := scanChanges(t, r, tip, plumbing.ZeroHash)
	if res.CommitGraph.Written || hasChangedPaths(t, r) || len(want) != 3 {
		t.Fatalf("a short history: wrote %v; changes %q", res.CommitGraph.Written, want)
	}
	ChangedPathsMin = 2
	lock := graphFile(t, r) + ".lock"
	if err := os.WriteFile(lock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got, res := scanChanges(t, r, tip, plumbing.ZeroHash)
	if res.CommitGraph.Err == nil || res.CommitGraph.Written || !slices.Equal(got, want) {
		t.Fatalf("commit-graph.lock held: wrote %v, err %v; changes %q, want %q", res.CommitGraph.Written, res.CommitGraph.Err, got, want)
	}
	if err := os.Remove(lock); err != nil {
		t.Fatal(err)
	}
	got, res = scanChanges(t, r, tip, plumbing.ZeroHash)
	if !res.CommitGraph.Written || res.CommitGraph.Err != nil || !hasChangedPaths(t, r) || !slices.Equal(got, want) {
		t.Fatalf("wrote %v, err %v; changes %q, want %q", res.CommitGraph.Written, res.CommitGraph.Err, got, want)
	}
	got, res = scanChanges(t, r, tip, plumbing.ZeroHash)
	if res.CommitGraph.Written || !slices.Equal(got, want) {
		t.Fatalf("with the commit-graph: wrote %v; changes %q, want %q", res.CommitGraph.Written, got, want)
	}
}

// TestScanStopsAtStop: a scan down to a commit that changes no release
// file (the path-limited log never lists it) still diffs the oldest
// change after it against it, and lists every first-parent commit down
// to it.
func TestScanStopsAtStop(t *testing.T) {
	r, _ := graphRepo(t)
	lines := strings.Fields(run(t, r.Root, "rev-list", "--first-parent", "HEAD"))
	stop := plumbing.NewHash(lines[3]) // "c2": models/ only
	tip := commit(t, r, "c6", File{Path: "environments/dev/fraud.yaml", Content: []byte("v: 2\n")})
	all, _ := scanChanges(t, r, tip, plumbing.ZeroHash)
	got, res := scanChanges(t, r, tip, stop)
	if !res.Reached || len(res.Listed) != 5 || res.Listed[4].Hash != stop {
		t.Fatalf("reached %v, listed %d (want 5, down to the stop)", res.Reached, len(res.Listed))
	}
	if !slices.Equal(got, all[:3]) {
		t.Errorf("down to c2: %q, want %q", got, all[:3])
	}
	if _, res := scanChanges(t, r, tip, plumbing.NewHash(strings.Repeat("ab", 20))); res.Reached {
		t.Error("a stop not on the history was reached")
	}
}

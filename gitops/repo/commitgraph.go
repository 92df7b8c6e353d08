package repo

// The release scan walks the first-parent history path-limited, so that
// only the commits that change a release file are read. What makes such
// a walk cheap is git's commit-graph with changed-path Bloom filters: for
// each commit, a filter of the paths it changes against its first parent,
// which answers "not this path" without reading a tree. git writes it with
// `git commit-graph write --reachable --changed-paths` (what `git
// maintenance` runs); go-git cannot write the Bloom filters (BIDX/BDAT
// chunks), so writing shells out to git. Reading it is
// commitgraph_read.go's.
//
// When: a scan of at least ChangedPathsMin first-parent commits (an audit
// with no cache, a `which` on a long history) writes the commit-graph
// first if the repository has none, or one without changed paths (what
// `git gc` leaves, unless commitGraph.changedPaths is set), into the
// repository's own object directory, as `git maintenance` would. It costs
// about one whole `git log` once, and every later path-limited walk is
// then a fraction of one. `core.commitGraph=false` (git reads no
// commit-graph then) turns this off. Writing may fail (a read-only clone,
// another git holding commit-graph.lock): the scan then goes on without
// it, only slower, and the caller says so in one line.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ChangedPathsMin is the number of first-parent commits from which a scan
// writes a missing commit-graph with changed paths before it walks (a
// variable only so that tests can lower it).
var ChangedPathsMin = 1000

// commitGraphPaths are the commit-graph files of the repository: the
// single file, or the layers of a split chain. Empty when there is none.
func (r *Repo) commitGraphPaths(ctx context.Context) ([]string, error) {
	info := filepath.Join(r.commonDir, "objects", "info")
	if os.Getenv("GIT_OBJECT_DIRECTORY") != "" {
		var err error
		if info, err = gitCmd(ctx, r.Root, "rev-parse", "--path-format=absolute", "--git-path", "objects/info"); err != nil {
			return nil, err
		}
	}
	single := filepath.Join(info, "commit-graph")
	if _, err := os.Stat(single); err == nil {
		return []string{single}, nil
	}
	chain, err := os.ReadFile(filepath.Join(info, "commit-graphs", "commit-graph-chain"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range strings.Fields(string(chain)) {
		out = append(out, filepath.Join(info, "commit-graphs", "graph-"+l+".graph"))
	}
	return out, nil
}

// HasChangedPaths reports whether the repository has a commit-graph whose
// every layer carries changed-path Bloom filters.
func (r *Repo) HasChangedPaths(ctx context.Context) (bool, error) {
	files, err := r.commitGraphPaths(ctx)
	if err != nil || len(files) == 0 {
		return false, err
	}
	for _, f := range files {
		ok, err := graphHasBloom(f)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// graphHasBloom reads a commit-graph file as the walks do
// (parseGraphLayer) and says whether it holds usable changed-path Bloom
// filters (its BIDX and BDAT chunks). A file that does not parse is
// errNotGraph, which writing a new one replaces.
func graphHasBloom(file string) (bool, error) {
	if _, err := os.Stat(file); err != nil {
		return false, err
	}
	m, err := mapFile(file)
	if err != nil {
		return false, fmt.Errorf("%s: %w: %v", file, errNotGraph, err)
	}
	defer m.Close()
	l, err := parseGraphLayer(m.data, 0)
	if err != nil {
		return false, fmt.Errorf("%s: %w: %v", file, errNotGraph, err)
	}
	return l.bidx != nil, nil
}

// errNotGraph is a damaged commit-graph file.
var errNotGraph = errors.New("not a commit-graph file")

// commitGraphOff reports whether core.commitGraph is false: git reads no
// commit-graph, so writing one would be wasted, and reading one here would
// not say what git says. It is asked once per Repo.
// Warm asks git, in the background, what a command reading the history
// asks first (the common directory, whether core.commitGraph is off), so
// that the answers are there when they are needed rather than asked one
// after another: three git processes started in turn took 20 ms of a
// cold `which`. Both answers are kept as when asked in turn.
func (r *Repo) Warm(ctx context.Context) {
	go func() { _, _ = r.CommonDir(ctx) }()
	go r.commitGraphOff(ctx)
}

func (r *Repo) commitGraphOff(ctx context.Context) bool {
	r.graphOffOnce.Do(func() {
		v, err := gitCmd(ctx, r.Root, "config", "--type=bool", "core.commitGraph")
		r.graphOff = err == nil && v == "false"
	})
	return r.graphOff
}

// WriteChangedPaths writes the commit-graph with changed-path Bloom
// filters for every reachable commit (`git commit-graph write --reachable
// --changed-paths`) into the repository's own object directory.
func (r *Repo) WriteChangedPaths(ctx context.Context) error {
	_, err := gitCmd(ctx, r.Root, "commit-graph", "write", "--reachable", "--changed-paths", "--no-progress")
	return err
}

// EnsureChangedPaths writes the commit-graph with changed paths when
// commits (the number of first-parent commits a scan is about to walk)
// is at least ChangedPathsMin, core.commitGraph is not false and the
// repository has no commit-graph with changed paths yet. It reports
// whether it wrote one; an error means the scan goes on without it.
func (r *Repo) EnsureChangedPaths(ctx context.Context, commits int) (bool, error) {
	if commits < ChangedPathsMin || r.commitGraphOff(ctx) {
		return false, nil
	}
	if ok, err := r.HasChangedPaths(ctx); ok || err != nil && !isNotGraph(err) {
		return false, err
	}
	if err := r.WriteChangedPaths(ctx); err != nil {
		return false, fmt.Errorf("writing the commit-graph with changed paths (git commit-graph write --reachable --changed-paths): %w", err)
	}
	return true, nil
}

// isNotGraph says whether err is a damaged commit-graph file, which
// writing a new one replaces.
func isNotGraph(err error) bool { return errors.Is(err, errNotGraph) }

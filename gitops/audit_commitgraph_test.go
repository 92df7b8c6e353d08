package gitops_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/audit"
	"github.com/modelgit/modelgit/gitops/repo"
)

// TestAuditCommitGraph (#16): audit and which write the commit-graph with
// changed paths when the history is long enough and it is missing, and
// answer exactly as without it; when it cannot be written (another git
// holds commit-graph.lock, as a read-only clone fails too) they answer
// the same, with one warning line.
func TestAuditCommitGraph(t *testing.T) {
	s := buildScenario(t)
	graph := filepath.Join(s.dir, ".git", "objects", "info", "commit-graph")
	answers := func(t *testing.T, log gitops.Logger) string {
		t.Helper()
		if err := os.Remove(auditCacheFile(s)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		reg, err := gitops.Open(s.dir, gitops.WithLogger(log))
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, env := range []string{"production", "dev"} {
			for _, hhmm := range []string{"10:00", "12:30", "14:45", "16:10", "23:00"} {
				res, err := audit.Which(ctx, reg, audit.WhichOptions{Env: env, At: at(hhmm)})
				if err != nil {
					t.Fatal(err)
				}
				j, _ := json.Marshal(res)
				b.Write(j)
				b.WriteByte('\n')
			}
		}
		events, _ := eventsJSON(t, reg)
		return b.String() + events
	}
	want := answers(t, gitops.NopLogger{})
	if _, err := os.Stat(graph); err == nil {
		t.Fatal("a short history got a commit-graph")
	}
	min := repo.ChangedPathsMin
	t.Cleanup(func() { repo.ChangedPathsMin = min })
	repo.ChangedPathsMin = 2

	if err := os.WriteFile(graph+".lock", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	log := &recordingLog{}
	same(t, "commit-graph.lock held", answers(t, log), want)
	if _, err := os.Stat(graph); err == nil {
		t.Fatal("a commit-graph was written while its lock was held")
	}
	if len(log.warnings) == 0 || !strings.Contains(log.warnings[0], "commit-graph write --reachable --changed-paths") {
		t.Errorf("warnings %q, want one saying the commit-graph could not be written", log.warnings)
	}
	if err := os.Remove(graph + ".lock"); err != nil {
		t.Fatal(err)
	}

	log = &recordingLog{}
	same(t, "commit-graph written", answers(t, log), want)
	if out := git(t, s.dir, "commit-graph", "verify"); out != "" {
		t.Errorf("git commit-graph verify: %s", out)
	}
	if len(log.warnings) != 0 {
		t.Errorf("warnings %q", log.warnings)
	}
	rp, err := repo.Open(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := rp.HasChangedPaths(ctx); !ok || err != nil {
		t.Fatalf("no commit-graph with changed paths after audit and which: %v", err)
	}
	same(t, "with the commit-graph", answers(t, gitops.NopLogger{}), want)
}

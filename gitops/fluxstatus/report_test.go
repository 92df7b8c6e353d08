package fluxstatus

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops/repo"
	"github.com/modelgit/modelgit/manifests"
)

type fakeReader map[string]Sync

func (f fakeReader) Sync(_ context.Context, cluster, ns, name string) (Sync, error) {
	s, ok := f[cluster]
	if !ok {
		return Sync{}, errors.New("connection refused")
	}
	return s, nil
}

func gitRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=A", "GIT_AUTHOR_EMAIL=a@example.com", "GIT_COMMITTER_NAME=A", "GIT_COMMITTER_EMAIL=a@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestReport: a promotion merged with a merge commit is "applied" once the
// cluster applied that merge (or later), "merged, not yet applied" while
// it runs an earlier revision, and "failed to apply" with Flux's message;
// a cluster that cannot be read is "unknown" with the reason.
func TestReport(t *testing.T) {
	dir := t.TempDir()
	gitRun(t, dir, "init", "-q", "-b", "main")
	write := func(p, s string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("README", "x\n")
	gitRun(t, dir, "add", ".")
	gitRun(t, dir, "commit", "-q", "-m", "init")
	before := gitRun(t, dir, "rev-parse", "HEAD")
	gitRun(t, dir, "switch", "-q", "-c", "promote")
	write("environments/staging/fraud.yaml", "v: 2\n")
	gitRun(t, dir, "add", ".")
	gitRun(t, dir, "commit", "-q", "-m", "promote")
	gitRun(t, dir, "switch", "-q", "main")
	gitRun(t, dir, "merge", "-q", "--no-ff", "-m", "Merge pull request #1", "promote")
	merge := gitRun(t, dir, "rev-parse", "HEAD")
	write("README", "y\n")
	gitRun(t, dir, "commit", "-q", "-am", "later")
	later := gitRun(t, dir, "rev-parse", "HEAD")

	rp, err := repo.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	head, _, err := rp.Head()
	if err != nil {
		t.Fatal(err)
	}
	cfg := &manifests.Config{
		Environments: []manifests.Environment{{Name: "staging"}},
		Clusters:     []manifests.Cluster{{Name: "a", Environment: "staging"}, {Name: "b", Environment: "staging"}, {Name: "c", Environment: "staging"}, {Name: "d", Environment: "staging"}},
	}
	ok := Condition{Status: "True"}
	reader := fakeReader{
		"a": {LastAppliedRevision: "main@sha1:" + later, Ready: ok},
		"b": {LastAppliedRevision: "main@sha1:" + before, Ready: ok},
		"c": {LastAppliedRevision: "main@sha1:" + before, LastAttemptedRevision: "main@sha1:" + merge, Ready: Condition{Status: "False", Message: "InferenceService/fraud namespace not specified"}},
	}
	got, err := Report(context.Background(), Options{Repo: rp, Head: head, Config: cfg, Releases: map[string][]string{"staging": {"fraud"}}, Reader: reader})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"a": "applied",
		"b": "merged, not yet applied",
		"c": "failed to apply: InferenceService/fraud namespace not specified",
		"d": "unknown: connection refused",
	}
	if len(got) != len(want) {
		t.Fatalf("Report = %+v", got)
	}
	for _, a := range got {
		if a.ReleaseCommit != merge {
			t.Errorf("%s: release commit %s, want the merge %s", a.Cluster, a.ReleaseCommit, merge)
		}
		if a.String() != want[a.Cluster] {
			t.Errorf("%s: %q, want %q", a.Cluster, a.String(), want[a.Cluster])
		}
	}
	if _, err := Report(context.Background(), Options{Repo: rp, Head: head, Config: cfg, Reader: reader, Cluster: "zz"}); err == nil {
		t.Error("an undeclared cluster was accepted")
	}
}

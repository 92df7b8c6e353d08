package gitops_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/register"
	"github.com/modelgit/modelgit/gitops/store"
	"github.com/modelgit/modelgit/manifests"
)

// names lists dir's entries, sorted.
func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// TestPullIsCareful (issue 13 item 9, issue 14): pull refuses a non-empty
// directory without --force; with it, the files of the version pulled
// before are replaced, never left beside the new ones, and a file no pull
// wrote is kept; a failed or cancelled pull leaves the directory as it
// was; the stage of a killed pull is removed by the next one.
func TestPullIsCareful(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	withPipeline := base
	withPipeline.pipeline = "pipeline v1\n"
	v1 := f.register(withPipeline).Version
	// Stop registering the pipeline as docs/formats.md says: delete its
	// line under register: and register with AllowRemoval.
	mf := filepath.Join(f.root, "models", "fraud", "model.yaml")
	raw, err := os.ReadFile(mf)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.Contains(line, "pipeline:") {
			kept = append(kept, line)
		}
	}
	writeFile(t, mf, strings.Join(kept, "\n"))
	git(t, f.root, "commit", "-q", "-S", "-am", "stop registering the pipeline")
	o := f.options(spec{weights: "weights v2\n", schema: base.schema, config: base.config, params: base.params, metrics: base.metrics, data: base.data, version: "2.0.0+data.1"})
	o.AllowRemoval = true
	res2, err := register.Register(ctx, f.reg, o)
	if err != nil {
		t.Fatal(err)
	}
	v2 := res2.Version
	if v2.Manifest.Artifacts.Pipeline != nil {
		t.Fatal("v2 has a pipeline")
	}
	out := filepath.Join(t.TempDir(), "out")
	if _, err := register.Pull(ctx, f.reg, v1, out, register.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	want1 := []string{register.PullRecord, "features.json", "inference.yaml", "model.safetensors", "preprocess.pkl"}
	if got := names(t, out); strings.Join(got, " ") != strings.Join(want1, " ") {
		t.Fatalf("pulled %v, want %v", got, want1)
	}

	// Not empty: refused, nothing changed.
	_, err = register.Pull(ctx, f.reg, v2, out, register.PullOptions{})
	mustContain(t, err, out, "is not empty", "features.json", "--force")
	if got := names(t, out); strings.Join(got, " ") != strings.Join(want1, " ") {
		t.Fatalf("a refused pull changed %s: %v", out, got)
	}

	// --force: v1's pipeline goes, the user's notes stay.
	writeFile(t, filepath.Join(out, "notes.txt"), "mine\n")
	if _, err := register.Pull(ctx, f.reg, v2, out, register.PullOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	want2 := []string{register.PullRecord, "features.json", "inference.yaml", "model.safetensors", "notes.txt"}
	if got := names(t, out); strings.Join(got, " ") != strings.Join(want2, " ") {
		t.Fatalf("after pull --force of v2: %v, want %v", got, want2)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "model.safetensors")); string(b) != "weights v2\n" {
		t.Errorf("model.safetensors = %q, want v2's", b)
	}
	if b, _ := os.ReadFile(filepath.Join(out, register.PullRecord)); !strings.Contains(string(b), `"2.0.0+data.1"`) {
		t.Errorf("pull record = %s, want v2", b)
	}

	// A killed pull's stage and an old-style temp file are removed; a
	// corrupt blob fails the pull and leaves the directory as it was.
	stale := filepath.Join(out, ".modelgit-pull-"+strconv.Itoa(deadPID(t))+"-123")
	writeFile(t, filepath.Join(stale, "model.safetensors"), "half")
	oldTemp := filepath.Join(out, ".tmp-0123456789abcdef")
	writeFile(t, oldTemp, "half")
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(oldTemp, old, old); err != nil {
		t.Fatal(err)
	}
	flipByte(t, f.blobPath(v1.Manifest.Artifacts.Pipeline.Digest.String()))
	_, err = register.Pull(ctx, f.reg, v1, out, register.PullOptions{Force: true})
	mustContain(t, err, "pulling pipeline", "digest mismatch")
	if got := names(t, out); strings.Join(got, " ") != strings.Join(want2, " ") {
		t.Errorf("after a failed pull: %v, want %v (as before, without the stale temp files)", got, want2)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "model.safetensors")); string(b) != "weights v2\n" {
		t.Errorf("a failed pull of v1 changed model.safetensors to %q", b)
	}

	// A cancelled pull leaves nothing either.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	empty := filepath.Join(t.TempDir(), "cancelled")
	if _, err := register.Pull(cctx, f.reg, v2, empty, register.PullOptions{}); err == nil {
		t.Fatal("a cancelled pull succeeded")
	}
	if got := names(t, empty); len(got) > 0 {
		t.Errorf("a cancelled pull left %v", got)
	}

	// Another pull still writing into the directory (its process runs).
	live := filepath.Join(out, ".modelgit-pull-"+strconv.Itoa(os.Getppid())+"-456")
	if err := os.Mkdir(live, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = register.Pull(ctx, f.reg, v2, out, register.PullOptions{Force: true})
	mustContain(t, err, "another modelgit pull", strconv.Itoa(os.Getppid()))
}

// deadPID returns the id of a process that has ended.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// TestPullRefusesTwoArtifactsWithOneName: a version registered before
// register refused it, whose weights and pipeline share a file name, is
// not pulled onto one path (issue 13 item 9: it was, exit 0).
func TestPullRefusesTwoArtifactsWithOneName(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	withPipeline := base
	withPipeline.pipeline = "pipeline\n"
	v := *f.register(withPipeline).Version
	mv := *v.Manifest
	p := *mv.Artifacts.Pipeline
	p.Path = "model.safetensors" // as b/model.safetensors beside a/model.safetensors
	mv.Artifacts.Pipeline = &p
	v.Manifest = &mv
	out := filepath.Join(t.TempDir(), "out")
	_, err := register.Pull(ctx, f.reg, &v, out, register.PullOptions{})
	mustContain(t, err, "weights", "pipeline", "same file name", `"model.safetensors"`)
	if ents, _ := os.ReadDir(out); len(ents) > 0 {
		t.Errorf("pulled %v", ents)
	}
}

// recorder is a store.Progress that keeps what it was told.
type recorder struct {
	mu     sync.Mutex
	starts []string
	added  map[string]int64
	cur    string
}

func (r *recorder) Start(label string, total int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.starts = append(r.starts, label+"="+strconv.FormatInt(total, 10))
	r.cur = label
}

func (r *recorder) Add(n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.added[r.cur] += n
}

func (r *recorder) Done() {}

// TestPullShowsProgress: pull reports each artifact's bytes through the
// repository's Progress, as register does (a bar on a terminal).
func TestPullShowsProgress(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v := f.register(sharded).Version
	rec := &recorder{added: map[string]int64{}}
	reg, err := gitops.Open(f.root, gitops.WithProgress(func() store.Progress { return rec }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := register.Pull(ctx, reg, v, filepath.Join(t.TempDir(), "out"), register.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	var want []string
	v.Manifest.Artifacts.Each(func(kind string, a *manifests.Artifact) {
		want = append(want, a.Path+"="+strconv.FormatInt(a.Size, 10))
		if rec.added[a.Path] != a.Size {
			t.Errorf("%s: progress added %d bytes, want %d", a.Path, rec.added[a.Path], a.Size)
		}
	})
	if strings.Join(rec.starts, " ") != strings.Join(want, " ") {
		t.Errorf("progress started %v, want %v", rec.starts, want)
	}
}

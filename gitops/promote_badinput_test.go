package gitops_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/promote"
)

// TestPromoteBadInput: every refusal says what was wrong and what to do
// next, and changes nothing.
func TestPromoteBadInput(t *testing.T) {
	p := newPromoteFixture(t)
	for _, tc := range []struct {
		name, ref, env string
		want           []string
	}{
		{"unknown model", "fraudd@0.1.0+data.1", "dev", []string{`"fraudd"`}},
		{"unknown version", "fraud@9.9.9+data.1", "dev", []string{"9.9.9+data.1", "0.1.1+data.1"}},
		{"unknown environment", "fraud@0.1.1+data.1", "prod", []string{`unknown environment "prod"`, "dev, staging, production"}},
		{"not in the previous environment", "fraud@0.1.1+data.1", "staging", []string{`has not run in "dev"`, "modelgit promote fraud@0.1.1+data.1 --to dev", "--force"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := p.state()
			_, err := p.promote(tc.ref, tc.env, gitops.ReleaseChange{})
			t.Logf("error: %v", err)
			mustContain(t, err, tc.want...)
			p.assertState(before)
			if n := len(p.fake.PullRequests()); n != 0 {
				t.Errorf("a refused promotion opened %d pull requests", n)
			}
		})
	}
	_, err := p.promote("fraud@0.1.1+data.1", "staging", gitops.ReleaseChange{})
	if !errors.Is(err, promote.ErrOrder) {
		t.Errorf("err = %v, want ErrOrder", err)
	}
}

// TestPromoteHandEditedRelease: a release file edited by hand into an
// invalid state and committed is named with its line and field.
func TestPromoteHandEditedRelease(t *testing.T) {
	p := newPromoteFixture(t)
	p.inOrder([]string{"fraud@0.1.0+data.1"}, "dev")
	edited := p.editedFile("environments/dev/fraud.yaml", "strategy: replace", "strategy: rolling")
	writeFile(t, filepath.Join(p.root, "environments", "dev", "fraud.yaml"), edited)
	git(t, p.root, "commit", "-q", "-S", "-am", "hand edit")
	p.reopen()
	line := 1 + strings.Count(edited[:strings.Index(edited, "strategy: rolling")], "\n")
	_, err := p.promote("fraud@0.1.1+data.1", "dev", gitops.ReleaseChange{})
	t.Logf("error: %v", err)
	mustContain(t, err, fmt.Sprintf("environments/dev/fraud.yaml:%d", line), "strategy", "rolling")
}

// TestPromoteCPUCluster: a cluster with gpu: {count: 0} in modelgit.yaml
// is a CPU-only cluster: its models are rendered without GPU requests,
// and the GPU defaults of the other clusters stay theirs.
func TestPromoteCPUCluster(t *testing.T) {
	p := newPromoteFixture(t)
	cfg := filepath.Join(p.root, "modelgit.yaml")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	noGPU := strings.Replace(string(b), "    environment: dev\n    gpu:\n      resource: nvidia.com/gpu\n      count: 1\n", "    environment: dev\n    gpu:\n      count: 0\n", 1)
	if noGPU == string(b) {
		t.Fatalf("modelgit.yaml has no gpu-dev GPU block:\n%s", b)
	}
	writeFile(t, cfg, noGPU)
	git(t, p.root, "commit", "-q", "-S", "-am", "gpu-dev is CPU only")
	git(t, p.root, "push", "-q", "origin", "main")
	p.reopen()
	p.inOrder([]string{"fraud@0.1.0+data.1"}, "dev")
	objs, err := p.reg.BuildCluster("gpu-dev")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(objs), "nvidia.com/gpu") {
		t.Errorf("the CPU-only cluster's objects request GPUs:\n%s", objs)
	}
	if !strings.Contains(string(objs), "kind: InferenceService") {
		t.Errorf("gpu-dev does not serve the model:\n%s", objs)
	}
}

// TestPromoteForgeDownResumes: when the forge fails to open the pull
// request, the pushed branch and its commit stay; run again once the
// forge is back, promote opens the pull request on the same commit.
func TestPromoteForgeDownResumes(t *testing.T) {
	p := newPromoteFixture(t)
	p.fake.FailNext("POST", "/repos/*/*/pulls", 503, 1)
	res, err := p.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	t.Logf("error: %v", err)
	mustContain(t, err, "opening the pull request", "run the same command again")
	if n := len(p.fake.PullRequests()); n != 0 {
		t.Fatalf("the fake has %d pull requests", n)
	}
	local := git(t, p.root, "rev-parse", "refs/heads/"+res.Branch)
	remote := git(t, p.fake.GitDir(), "rev-parse", "refs/heads/"+res.Branch)
	if local != res.Commit.String() || remote != local {
		t.Errorf("local branch %s, remote %s, commit %s: want the commit on both", local, remote, res.Commit)
	}
	again, err := p.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Commit != res.Commit || again.PR == nil || !again.Created || again.PR.HeadSHA != local {
		t.Errorf("after the forge is back: commit %s (want %s), PR %+v", again.Commit, res.Commit, again.PR)
	}
	if n := git(t, p.fake.GitDir(), "rev-list", "--count", "main.."+res.Branch); n != "1" {
		t.Errorf("the branch has %s commits over main, want 1", n)
	}
	third, err := p.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil || third.Created || third.PR.Number != again.PR.Number {
		t.Errorf("third run: %+v, %v; want the same pull request", third, err)
	}
	if n := len(p.fake.PullRequests()); n != 1 {
		t.Errorf("the fake has %d pull requests, want 1", n)
	}
}

// TestPromoteRefusesDirtyTree: uncommitted or untracked files under the
// directories a promotion reads and writes stop it, naming them.
func TestPromoteRefusesDirtyTree(t *testing.T) {
	p := newPromoteFixture(t)
	writeFile(t, filepath.Join(p.root, "rendered", "dev", "notes.yaml"), "x: 1\n")
	cfgModel := filepath.Join(p.root, "models", "fraud", "model.yaml")
	if _, err := os.Stat(cfgModel); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(cfgModel, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("# edited\n")
	f.Close()
	before := p.state()
	_, err = p.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	t.Logf("error: %v", err)
	mustContain(t, err, "uncommitted changes", "models/fraud/model.yaml", "rendered/dev/notes.yaml", "commit", "stash")
	p.assertState(before)
	if n := len(p.fake.PullRequests()); n != 0 {
		t.Errorf("the fake has %d pull requests", n)
	}
	// A change elsewhere (README.md) does not matter.
	git(t, p.root, "checkout", "-q", "--", "models")
	os.Remove(filepath.Join(p.root, "rendered", "dev", "notes.yaml"))
	writeFile(t, filepath.Join(p.root, "README.md"), "local notes\n")
	if _, err := p.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{}); err != nil {
		t.Fatal(err)
	}
}

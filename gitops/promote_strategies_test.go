package gitops_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/check"
	"github.com/modelgit/modelgit/gitops/promote"
	"github.com/modelgit/modelgit/gitops/render"
	"github.com/modelgit/modelgit/manifests"
)

// TestPromoteStrategiesEndToEnd walks every strategy through pull
// requests merged on the fake: blue-green in staging (standby, then
// switch), then in production an A/B test, a canary at 10, 50 and 100, and
// a rollback to a named version. After every merge the objects Flux would
// apply to the environment's cluster validate against their schemas and
// rendered/ is in sync with the releases.
func TestPromoteStrategiesEndToEnd(t *testing.T) {
	p := newPromoteFixture(t)
	const v1, v2 = "fraud@0.1.0+data.1", "fraud@0.1.1+data.1"
	clusterOf := map[string]string{"dev": "gpu-dev", "staging": "gpu-staging", "production": "gpu-prod"}
	step := func(ref, env string, change gitops.ReleaseChange, wantRelease string, wantRendered ...string) {
		t.Helper()
		res, err := p.promote(ref, env, change)
		if err != nil {
			t.Fatalf("promote %s to %s %+v: %v", ref, env, change, err)
		}
		p.mergeAndPull(res.PR)
		checkMain(t, p, env, clusterOf[env], wantRelease, wantRendered...)
	}
	// Blue-green and A/B render Deployments: the model needs a serving
	// image.
	mf := filepath.Join(p.root, "models", "fraud", "model.yaml")
	b, err := os.ReadFile(mf)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, mf, string(b)+"serving:\n  image: ghcr.io/acme/fraud-server:1.0\n  port: 8080\n")
	git(t, p.root, "commit", "-q", "-S", "-am", "fraud: serving image")
	git(t, p.root, "push", "-q", "origin", "main")
	p.reopen()
	for _, env := range []string{"dev", "staging", "production"} {
		step(v1, env, gitops.ReleaseChange{}, "replace 0.1.0+data.1")
	}
	step(v2, "dev", gitops.ReleaseChange{}, "replace 0.1.1+data.1")

	// Blue-green: the new version is deployed as the idle standby, then
	// switched to.
	step(v2, "staging", gitops.ReleaseChange{Strategy: manifests.StrategyBlueGreen},
		"blue-green 0.1.0+data.1/active/100 0.1.1+data.1/standby/0", "0-1-1-data-1")
	step(v2, "staging", gitops.ReleaseChange{Strategy: manifests.StrategyBlueGreen, Switch: true},
		"blue-green 0.1.1+data.1/active/100 0.1.0+data.1/standby/0")

	// A/B: requests with the header go to variant B.
	step(v2, "production", gitops.ReleaseChange{Strategy: manifests.StrategyAB, Match: "x-variant=b"},
		"ab 0.1.0+data.1/a 0.1.1+data.1/b", "x-variant", "HTTPRoute")
	// Canary 10 → 50 → 100 (complete: a plain replace).
	step(v2, "production", gitops.ReleaseChange{Strategy: manifests.StrategyCanary, Weight: 10},
		"canary 0.1.0+data.1/stable/90 0.1.1+data.1/canary/10", "canaryTrafficPercent: 10")
	step(v2, "production", gitops.ReleaseChange{Strategy: manifests.StrategyCanary, Weight: 50},
		"canary 0.1.0+data.1/stable/50 0.1.1+data.1/canary/50", "canaryTrafficPercent: 50")
	step(v2, "production", gitops.ReleaseChange{Strategy: manifests.StrategyCanary, Weight: 100},
		"replace 0.1.1+data.1")

	// Rollback to a named version.
	res, err := promote.Rollback(ctx, p.reg, promote.RollbackOptions{Model: "fraud", Env: "production", To: "0.1.0+data.1",
		PromoteOptions: promote.PromoteOptions{Identity: gitops.Identity{Signature: alice, Signer: p.signer}, Forge: p.forge, Remote: "origin"}})
	if err != nil {
		t.Fatal(err)
	}
	if msg := git(t, p.fake.GitDir(), "log", "-1", "--format=%B", res.Branch); !strings.Contains(msg, "Roll back fraud in production to 0.1.0+data.1") || !strings.Contains(msg, "Rollback: from 0.1.1+data.1") {
		t.Errorf("rollback commit:\n%s", msg)
	}
	p.mergeAndPull(res.PR)
	checkMain(t, p, "production", "gpu-prod", "replace 0.1.0+data.1")

	rep, err := check.Verify(ctx, p.reg, check.VerifyOptions{})
	if err != nil || !rep.OK() {
		t.Errorf("verify after the whole story: %v, %v", rep, err)
	}
}

// checkMain asserts the release of fraud in env on main (summarised as
// "strategy version/role/weight …"), that the objects of cluster contain
// each of wantRendered and validate, and that rendered/ is in sync.
func checkMain(t *testing.T, p *promoteFixture, env, cluster, wantRelease string, wantRendered ...string) {
	t.Helper()
	rel, err := p.reg.Release(env, "fraud")
	if err != nil || rel == nil {
		t.Fatalf("release of fraud in %s: %v, %v", env, rel, err)
	}
	got := rel.Strategy
	for _, v := range rel.Versions {
		got += " " + v.Version.String()
		if v.Role != "" {
			got += "/" + v.Role
		}
		if v.Weight != nil {
			got += "/" + strconv.Itoa(*v.Weight)
		}
	}
	if got != wantRelease {
		t.Errorf("release of fraud in %s on main = %q, want %q", env, got, wantRelease)
	}
	objs, err := p.reg.BuildCluster(cluster)
	if err != nil {
		t.Fatalf("building %s: %v", cluster, err)
	}
	if err := render.Validate(objs); err != nil {
		t.Errorf("the objects of %s do not validate: %v\n%s", cluster, err, objs)
	}
	for _, w := range wantRendered {
		if !strings.Contains(string(objs), w) {
			t.Errorf("the objects of %s lack %q:\n%s", cluster, w, objs)
		}
	}
	stale, err := p.reg.StaleRendered()
	if err != nil || len(stale) != 0 {
		t.Errorf("render --check on main after %s: %v, %v", wantRelease, stale, err)
	}
}

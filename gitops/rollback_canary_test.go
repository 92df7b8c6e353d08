package gitops_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/promote"
	"github.com/modelgit/modelgit/gitops/register"
	"github.com/modelgit/modelgit/manifests"
)

// inOrder promotes each ref to each env in turn, merging every pull
// request.
func (p *promoteFixture) inOrder(refs []string, envs ...string) {
	p.t.Helper()
	for _, ref := range refs {
		for _, env := range envs {
			res, err := p.promote(ref, env, gitops.ReleaseChange{})
			if err != nil {
				p.t.Fatalf("promoting %s to %s: %v", ref, env, err)
			}
			p.mergeAndPull(res.PR)
		}
	}
}

func (p *promoteFixture) rollback(env, to string, force bool) (*promote.PromoteResult, error) {
	return promote.Rollback(ctx, p.reg, promote.RollbackOptions{Model: "fraud", Env: env, To: to, PromoteOptions: promote.PromoteOptions{
		Force: force, Identity: gitops.Identity{Signature: alice, Signer: p.signer}, Forge: p.forge, Remote: "origin"}})
}

// TestRollbackDuringCanary: while production serves 0.1.0 at 90% and the
// canary 0.1.1 at 10%, rollback returns to 0.1.0 alone; the Rollback
// trailer, the result and the body name the canary as what is rolled
// back from. Named with --to, the same. An A/B test is rolled back the
// same way, to variant A.
func TestRollbackDuringCanary(t *testing.T) {
	const v1, v2 = "0.1.0+data.1", "0.1.1+data.1"
	for _, tc := range []struct {
		name   string
		change gitops.ReleaseChange
		to     string
		desc   string
	}{
		{"canary", gitops.ReleaseChange{Strategy: manifests.StrategyCanary, Weight: 10}, "", v2 + " (canary 10%)"},
		{"canary --to", gitops.ReleaseChange{Strategy: manifests.StrategyCanary, Weight: 10}, v1, v2 + " (canary 10%)"},
		{"ab", gitops.ReleaseChange{Strategy: manifests.StrategyAB, Match: "x-variant=b"}, "", v2 + " (A/B variant b, x-variant=b)"},
		{"blue-green standby", gitops.ReleaseChange{Strategy: manifests.StrategyBlueGreen}, "", v2 + " (blue-green, standby)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPromoteFixture(t)
			if tc.change.Strategy != manifests.StrategyCanary {
				p.commitFile("models/fraud/model.yaml", "serving:\n  image: ghcr.io/acme/fraud-server:1.0\n  port: 8080\n", true)
			}
			p.inOrder([]string{"fraud@" + v1}, "dev", "staging", "production")
			p.inOrder([]string{"fraud@" + v2}, "dev", "staging")
			res, err := p.promote("fraud@"+v2, "production", tc.change)
			if err != nil {
				t.Fatal(err)
			}
			p.mergeAndPull(res.PR)

			res, err = p.rollback("production", tc.to, false)
			if err != nil {
				t.Fatal(err)
			}
			if rel := res.Release; rel.Strategy != manifests.StrategyReplace || len(rel.Versions) != 1 || rel.Versions[0].Version.String() != v1 {
				t.Errorf("release = %+v, want %s alone", rel, v1)
			}
			pr := res.Promotions[0]
			if pr.Baseline == nil || pr.Baseline.Version.String() != v2 {
				t.Errorf("baseline = %v, want %s: what is rolled back from (modelgit prints baseline → version)", pr.Baseline, v2)
			}
			if len(pr.RolledBack) != 1 || pr.RolledBack[0].String() != v2 {
				t.Errorf("rolled back = %v, want [%s]", pr.RolledBack, v2)
			}
			msg := git(t, p.fake.GitDir(), "log", "-1", "--format=%B", res.Branch)
			for _, want := range []string{"Roll back fraud in production to " + v1, "Rollback: from " + v2, "Takes " + tc.desc + " out of production."} {
				if !strings.Contains(msg, want) {
					t.Errorf("commit lacks %q:\n%s", want, msg)
				}
			}
			if want := "- rollback: takes " + tc.desc + " out of production"; !strings.Contains(res.PR.Body, want) {
				t.Errorf("PR body lacks %q:\n%s", want, res.PR.Body)
			}
			if strings.Contains(msg, "Forced:") {
				t.Errorf("a rollback to the running stable version was forced:\n%s", msg)
			}
			p.mergeAndPull(res.PR)
			checkMain(t, p, "production", "gpu-prod", "replace "+v1)

			// The canary never served most traffic: nothing earlier is left.
			_, err = promote.PreviousVersion(p.reg, "production", "fraud")
			if !errors.Is(err, promote.ErrNoPrevious) {
				t.Fatalf("PreviousVersion after the rollback = %v, want ErrNoPrevious", err)
			}
			mustContain(t, err, v1+" is the only version that served there", "--to", "modelgit history fraud")
		})
	}
}

// TestRollbackSkipsRolledBackVersions: a version a rollback left is not
// where the next rollback returns to; with nothing else left, the
// rollback says so and what to do.
func TestRollbackSkipsRolledBackVersions(t *testing.T) {
	p := newPromoteFixture(t)
	v3 := base
	v3.weights = "weights v3\n"
	v3.metrics = `{"accuracy": 0.94}`
	o := p.options(v3)
	o.Framework = "sklearn=1.5.2"
	reg, err := register.Register(ctx, p.reg, o)
	if err != nil {
		t.Fatal(err)
	}
	third := reg.Version.Manifest.Version.String()
	git(t, p.root, "push", "-q", "origin", "main")
	p.reopen()
	p.inOrder([]string{"fraud@0.1.0+data.1", "fraud@0.1.1+data.1", "fraud@" + third}, "dev")

	// third → 0.1.1 (from third).
	res, err := p.rollback("dev", "", false)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Version.Manifest.Version.String(); got != "0.1.1+data.1" {
		t.Fatalf("first rollback went to %s, want 0.1.1+data.1", got)
	}
	mustMsg(t, p, res.Branch, "Rollback: from "+third)
	p.mergeAndPull(res.PR)

	// 0.1.1 → 0.1.0, not back to third.
	prev, err := promote.PreviousVersion(p.reg, "dev", "fraud")
	if err != nil || prev.String() != "0.1.0+data.1" {
		t.Fatalf("PreviousVersion after rolling back from %s = %s, %v; want 0.1.0+data.1", third, prev, err)
	}
	res, err = p.rollback("dev", "", false)
	if err != nil {
		t.Fatal(err)
	}
	mustMsg(t, p, res.Branch, "Roll back fraud in dev to 0.1.0+data.1", "Rollback: from 0.1.1+data.1")
	p.mergeAndPull(res.PR)

	// Both later versions were rolled back from: nothing is left.
	before := p.state()
	_, err = p.rollback("dev", "", false)
	if !errors.Is(err, promote.ErrNoPrevious) {
		t.Fatalf("third rollback: %v, want ErrNoPrevious", err)
	}
	mustContain(t, err, "were rolled back from already", "0.1.1+data.1", third, "--to", "modelgit history fraud")
	p.assertState(before)

	// A version rolled back from and promoted again counts again.
	p.inOrder([]string{"fraud@0.1.1+data.1"}, "dev")
	prev, err = promote.PreviousVersion(p.reg, "dev", "fraud")
	if err != nil || prev.String() != "0.1.0+data.1" {
		t.Errorf("PreviousVersion after promoting 0.1.1 again = %s, %v; want 0.1.0+data.1", prev, err)
	}
}

func mustMsg(t *testing.T, p *promoteFixture, branch string, wants ...string) {
	t.Helper()
	msg := git(t, p.fake.GitDir(), "log", "-1", "--format=%B", branch)
	for _, w := range wants {
		if !strings.Contains(msg, w) {
			t.Errorf("the commit of %s lacks %q:\n%s", branch, w, msg)
		}
	}
}

// TestRollbackToVersionThatNeverRanKeepsTheOrder: --to a version that
// never ran in the environment is held to the promotion order: refused
// unless it ran in the one before, or forced (and recorded as forced).
func TestRollbackToVersionThatNeverRanKeepsTheOrder(t *testing.T) {
	p := newPromoteFixture(t)
	p.inOrder([]string{"fraud@0.1.0+data.1"}, "dev", "staging", "production")
	p.inOrder([]string{"fraud@0.1.1+data.1"}, "dev")

	before := p.state()
	_, err := p.rollback("production", "0.1.1+data.1", false)
	if !errors.Is(err, promote.ErrOrder) {
		t.Fatalf("rollback to a version that never ran in production or staging: %v, want ErrOrder", err)
	}
	mustContain(t, err, `never ran in "production"`, `has not run in "staging"`, "--force", "modelgit history fraud")
	p.assertState(before)

	res, err := p.rollback("production", "0.1.1+data.1", true)
	if err != nil {
		t.Fatal(err)
	}
	mustMsg(t, p, res.Branch, "Forced: rollback to 0.1.1+data.1, which never ran in production and has not run in staging", "Rollback: from 0.1.0+data.1")
	if !strings.Contains(res.PR.Body, "Forced past the promotion order") {
		t.Errorf("PR body does not record the force:\n%s", res.PR.Body)
	}

	// Once it ran in staging, the order holds: no force needed, none recorded.
	p.inOrder([]string{"fraud@0.1.1+data.1"}, "staging")
	res, err = p.rollback("production", "0.1.1+data.1", false)
	if err != nil {
		t.Fatal(err)
	}
	if msg := git(t, p.fake.GitDir(), "log", "-1", "--format=%B", res.Branch); strings.Contains(msg, "Forced:") {
		t.Errorf("a rollback in order was recorded as forced:\n%s", msg)
	}
}

// TestRollbackBadInput: each refusal names what is wrong and what to do.
func TestRollbackBadInput(t *testing.T) {
	p := newPromoteFixture(t)
	p.inOrder([]string{"fraud@0.1.0+data.1"}, "dev")
	for _, tc := range []struct {
		name, model, env string
		want             []string
		is               error
	}{
		{"unknown environment", "fraud", "nope", []string{`unknown environment "nope"`, "dev, staging, production"}, nil},
		{"unknown model", "nope", "dev", []string{`unknown model "nope"`, "registered: fraud", "modelgit status"}, gitops.ErrUnknownModel},
		{"not running there", "fraud", "staging", []string{`fraud does not run in "staging"`, "nothing to roll back", "modelgit status"}, nil},
		{"invalid model name", "../fraud", "dev", []string{`"../fraud" is not valid`}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := p.state()
			_, err := promote.Rollback(ctx, p.reg, promote.RollbackOptions{Model: tc.model, Env: tc.env, PromoteOptions: promote.PromoteOptions{
				Identity: gitops.Identity{Signature: alice, Signer: p.signer}, Forge: p.forge, Remote: "origin"}})
			t.Logf("error: %v", err)
			mustContain(t, err, tc.want...)
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err = %v, want %v", err, tc.is)
			}
			p.assertState(before)
		})
	}
}

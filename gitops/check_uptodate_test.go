package gitops_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/check"
	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/gitops/register"
	"github.com/modelgit/modelgit/manifests"
)

// TestCheckOutOfDatePromotion: two pull requests on fraud in dev branch
// from the same main (0.1.1 replacing 0.1.0, and 0.1.2 as a 20% canary);
// once the first merges, the second is judged on its own version, not on
// the difference between main's tip and its head, and fails up-to-date
// saying how to update it; merge names the right version too.
func TestCheckOutOfDatePromotion(t *testing.T) {
	g := newGoverned(t, "")
	first, err := g.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	g.mergeAndPull(first.PR)
	v3 := base
	v3.weights = "weights v3\n"
	o := g.options(v3)
	o.Framework = "sklearn=1.5.2"
	if _, err := register.Register(ctx, g.reg, o); err != nil {
		t.Fatal(err)
	}
	git(t, g.root, "push", "-q", "origin", "main")
	replace, err := g.promote("fraud@0.1.1+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	canary, err := g.promote("fraud@0.1.2+data.1", "dev", gitops.ReleaseChange{Strategy: manifests.StrategyCanary, Weight: 20})
	if err != nil {
		t.Fatal(err)
	}
	// Before either merges, the canary is up to date.
	rep := g.check(canary.PR.Number)
	wantStatus(t, rep, check.CheckUpToDate, check.CheckPass)

	g.mergeAndPull(replace.PR)
	rep = g.check(canary.PR.Number)
	if len(rep.Promotions) != 1 {
		t.Fatalf("promotions = %+v, want one", rep.Promotions)
	}
	if p := rep.Promotions[0]; p.To != "0.1.2+data.1" || p.From != "0.1.1+data.1" || p.Strategy != "canary weight=20" {
		t.Errorf("promotion = %+v, want 0.1.1+data.1 → 0.1.2+data.1 (canary weight=20): its own version against the one running now", p)
	}
	wantStatus(t, rep, check.CheckUpToDate, check.CheckFail,
		"behind its base: environments/dev/fraud.yaml changed on main since this pull request branched; re-run `modelgit promote fraud@0.1.2+data.1 --to dev --strategy canary --weight 20` to update it")
	wantStatus(t, rep, check.CheckGates, check.CheckPass, "fraud 0.1.1+data.1 → 0.1.2+data.1 in dev")
	if rep.Passed {
		t.Error("an out-of-date promotion passed")
	}

	g.fake.AddReview(canary.PR.Number, "bob", forge.ReviewApproved, "")
	_, err = check.Merge(ctx, g.reg, check.MergeOptions{CheckOptions: check.CheckOptions{PR: canary.PR.Number, Forge: g.forge, Remote: "origin"}})
	if !errors.Is(err, check.ErrCheckFailed) {
		t.Fatalf("merge: err = %v, want ErrCheckFailed", err)
	}
	if want := "run `modelgit promote fraud@0.1.2+data.1 --to dev --strategy canary --weight 20` again, or merge the base into it"; !strings.Contains(err.Error(), want) {
		t.Errorf("merge: err = %v\nwant it to say %q", err, want)
	}
}

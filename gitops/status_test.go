package gitops_test

import (
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/audit"
	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/gitops/promote"
	"github.com/modelgit/modelgit/gitops/register"
	"github.com/modelgit/modelgit/manifests"
)

func TestParsePromotionBranch(t *testing.T) {
	v := func(s string) manifests.Version {
		t.Helper()
		ver, err := manifests.ParseVersion(s)
		if err != nil {
			t.Fatal(err)
		}
		return ver
	}
	tests := []struct {
		branch string
		want   audit.PromotionBranch
		ok     bool
	}{
		{"modelgit/promote/dev/fraud-0.1.0_data.1", audit.PromotionBranch{Environment: "dev", Model: "fraud", Version: v("0.1.0+data.1")}, true},
		{"modelgit/promote/dev/fraud-detector-1.2.3", audit.PromotionBranch{Environment: "dev", Model: "fraud-detector", Version: v("1.2.3")}, true},
		{"modelgit/rollback/production/fraud-detector-1.2.3_data.4", audit.PromotionBranch{Rollback: true, Environment: "production", Model: "fraud-detector", Version: v("1.2.3+data.4")}, true},
		{"modelgit/promote/staging/bulk-team-risk", audit.PromotionBranch{Environment: "staging", Bulk: true}, true},
		// A model named bulk-… promoted on its own is that model.
		{"modelgit/promote/staging/bulk-risk-2.0.0", audit.PromotionBranch{Environment: "staging", Model: "bulk-risk", Version: v("2.0.0")}, true},
		{"modelgit/promote/dev/fraud", audit.PromotionBranch{}, false},
		{"modelgit/promote/dev/fraud-detector", audit.PromotionBranch{}, false},
		{"modelgit/promote/dev/fraud-1.0", audit.PromotionBranch{}, false},
		{"modelgit/promote/fraud-1.0.0", audit.PromotionBranch{}, false},
		{"modelgit/rollback/dev/bulk-team-risk", audit.PromotionBranch{}, false},
		{"feature/fraud-1.0.0", audit.PromotionBranch{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.branch, func(t *testing.T) {
			got, ok := audit.ParsePromotionBranch(tt.branch)
			if ok != tt.ok || (ok && got != tt.want) {
				t.Errorf("ParsePromotionBranch(%q) = %+v, %v; want %+v, %v", tt.branch, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestPendingByModel: open pull requests are listed under the model they
// promote, not under every model whose name is a prefix of it (fraud vs
// fraud-detector), and a bulk promotion under each of its models, from
// its head commit or, without it, from its description.
func TestPendingByModel(t *testing.T) {
	p := newPromoteFixture(t)
	for _, m := range []string{"fraud-detector", "scorer"} {
		o := p.options(base)
		o.Model, o.Framework, o.Labels = m, "sklearn=1.5.2", map[string]string{"team": "risk"}
		if _, err := register.Register(ctx, p.reg, o); err != nil {
			t.Fatal(err)
		}
	}
	git(t, p.root, "push", "-q", "origin", "main")
	for _, m := range []string{"fraud-detector", "scorer"} {
		res, err := p.promote(m+"@0.1.0+data.1", "dev", gitops.ReleaseChange{})
		if err != nil {
			t.Fatal(err)
		}
		p.mergeAndPull(res.PR)
	}
	bulk, err := promote.BulkPromote(ctx, p.reg, promote.BulkOptions{Selector: map[string]string{"team": "risk"}, VersionFrom: "dev", PromoteOptions: promote.PromoteOptions{
		Env: "staging", Identity: gitops.Identity{Signature: alice, Signer: p.signer}, Forge: p.forge, Remote: "origin"}})
	if err != nil {
		t.Fatal(err)
	}
	single, err := p.promote("fraud-detector@0.1.0+data.1", "staging", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	fraud, err := p.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	prs, err := p.forge.ListPullRequests(ctx, "open", "modelgit/")
	if err != nil {
		t.Fatal(err)
	}
	pending := func(pr *forge.PullRequest, env string) audit.PendingPromotion {
		return audit.PendingPromotion{Number: pr.Number, Title: pr.Title, Branch: pr.Head, URL: pr.URL, Environment: env, Version: "0.1.0+data.1"}
	}
	want := map[string][]audit.PendingPromotion{
		"fraud":          {pending(fraud.PR, "dev")},
		"fraud-detector": {pending(bulk.PR, "staging"), pending(single.PR, "staging")},
		"scorer":         {pending(bulk.PR, "staging")},
	}
	check := func(t *testing.T, prs []*forge.PullRequest) {
		t.Helper()
		got, err := audit.PendingByModel(p.reg, prs)
		if err != nil {
			t.Fatal(err)
		}
		for m, w := range want {
			g := got[m]
			if len(g) != len(w) {
				t.Errorf("%s: pending %+v, want %+v", m, g, w)
				continue
			}
			for i := range w {
				// The forge lists the newest first; compare as sets.
				found := false
				for _, x := range g {
					found = found || x == w[i]
				}
				if !found {
					t.Errorf("%s: pending %+v, want %+v among them", m, g, w[i])
				}
			}
		}
		if len(got) != len(want) {
			t.Errorf("pending for %d models, want %d: %+v", len(got), len(want), got)
		}
	}
	t.Run("head commit", func(t *testing.T) { check(t, prs) })
	t.Run("description", func(t *testing.T) {
		// A clone that never fetched the bulk branch: only the body says
		// which models it promotes.
		var copied []*forge.PullRequest
		for _, pr := range prs {
			c := *pr
			if c.Number == bulk.PR.Number {
				c.HeadSHA = strings.Repeat("0", 39) + "1"
				if !strings.Contains(c.Body, "## scorer 0.1.0+data.1 → staging") {
					t.Fatalf("the bulk pull request's body has no heading for scorer:\n%s", c.Body)
				}
			}
			copied = append(copied, &c)
		}
		check(t, copied)
	})
}

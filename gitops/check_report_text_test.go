package gitops_test

import (
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/check"
)

// TestCheckReportTexts: what the report says in three corners. A base
// policy that does not parse is named (file and line) by order and soak,
// not taken for "no release changed"; reviews that could not be read
// leave "who may still approve" unknown, not blank; the default gate
// gives one detail per metric.
func TestCheckReportTexts(t *testing.T) {
	t.Run("the base's policy does not parse", func(t *testing.T) {
		g := newGoverned(t, "")
		res, err := g.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
		if err != nil {
			t.Fatal(err)
		}
		g.commitOnMain("policies/dev.yaml", "apiVersion: modelgit.dev/v1alpha1\nkind: PromotionPolicy\nsoak: 1 day\n", "Break the dev policy")
		rep := g.check(res.PR.Number)
		wantStatus(t, rep, check.CheckGates, check.CheckFail, "does not parse")
		for _, name := range []string{check.CheckOrder, check.CheckSoak} {
			it := item(t, rep, name)
			if strings.Contains(it.Summary, "no release changed") || !strings.Contains(it.Summary, "the policy of dev on the base") || !strings.Contains(it.Summary, "does not parse") || !strings.Contains(it.Summary, "policies/dev.yaml:3:") {
				t.Errorf("%s: %s: %q, want it to say that policies/dev.yaml:3 on the base does not parse", name, it.Status, it.Summary)
			}
		}
	})
	t.Run("the reviews could not be read", func(t *testing.T) {
		g := newGoverned(t, "")
		res, err := g.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
		if err != nil {
			t.Fatal(err)
		}
		g.fake.FailNext("GET", "/repos/*/*/pulls/*/reviews", 502, 3)
		rep := g.check(res.PR.Number)
		wantStatus(t, rep, check.CheckApprovals, check.CheckFail, "reading the reviews")
		if rep.Missing == 0 || rep.Eligible != "unknown: the reviews could not be read (re-run the check)" {
			t.Errorf("missing %d, eligible %q: want who may still approve to be unknown", rep.Missing, rep.Eligible)
		}
	})
	t.Run("the default gate, one detail per metric", func(t *testing.T) {
		g := newGoverned(t, "")
		g.inOrder([]string{"fraud@0.1.0+data.1"}, "dev")
		res, err := g.promote("fraud@0.1.1+data.1", "dev", gitops.ReleaseChange{})
		if err != nil {
			t.Fatal(err)
		}
		rep := g.check(res.PR.Number)
		it := item(t, rep, check.CheckGates)
		var metric string
		for _, d := range it.Details {
			if strings.Contains(d, "\n") {
				t.Errorf("a gates detail spans lines: %q", d)
			}
			if strings.Contains(d, "gate default: accuracy (higher is better") {
				metric = d
			}
		}
		if metric == "" || !strings.HasSuffix(metric, ": ok") || !strings.HasPrefix(metric, "fraud 0.1.0+data.1 → 0.1.1+data.1 in dev: ") {
			t.Errorf("no detail of its own for the accuracy metric:\n%s", strings.Join(it.Details, "\n"))
		}
	})
}

package gitops_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/audit"
	"github.com/modelgit/modelgit/gitops/ledger"
)

// The audit's edge cases (#16), each checked without the audit cache
// (which walks the history) and with it (after an audit wrote it).

const fraudProd = "environments/production/fraud.yaml"

// promotionMessage is a promotion commit's message, as modelgit writes it.
func promotionMessage(model, version, prev, strategy, env string) string {
	return fmt.Sprintf("Promote %s %s to %s\n\nModel: %s\nModel-Version: %s\nModel-Digest: %s\nPrevious-Version: %s\nStrategy: %s\nEnvironment: %s\nRequested-by: Dana <dana@example.com>\n",
		model, version, env, model, version, digestOf(model, version), prev, strategy, env)
}

// modelgitMerge is a merge message with modelgit's trailers.
func modelgitMerge(pr int, approver string) string {
	return fmt.Sprintf("Merge pull request #%d from acme/modelgit/promote\n\nApproved-by: %s\nPolicy: policies/production.yaml\nPull-Request: #%d\n", pr, approver, pr)
}

// bothWays runs check on a freshly opened repository without the audit
// cache, again with the commit-graph with changed paths written, then
// again after an audit wrote the cache.
func bothWays(t *testing.T, s *scenario, check func(t *testing.T, reg *gitops.Repository)) {
	t.Helper()
	cache := filepath.Join(s.dir, ".git", filepath.FromSlash(ledger.AuditCacheFile))
	if err := os.Remove(cache); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	reg, err := gitops.Open(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("no cache", func(t *testing.T) { check(t, reg) })
	// The same walk, path-limited on the commit-graph's changed paths.
	git(t, s.dir, "commit-graph", "write", "--reachable", "--changed-paths")
	t.Run("no cache, commit-graph", func(t *testing.T) { check(t, reg) })
	if _, err := audit.Audit(ctx, reg, audit.AuditOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cache); err != nil {
		t.Fatalf("the audit wrote no cache: %v", err)
	}
	t.Run("cache", func(t *testing.T) { check(t, reg) })
}

func whichModel(t *testing.T, reg *gitops.Repository, env, hhmm, model string) (*audit.WhichResult, *audit.WhichModel) {
	t.Helper()
	res, err := audit.Which(ctx, reg, audit.WhichOptions{Env: env, At: at(hhmm), Model: model})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Models) != 1 {
		t.Fatalf("which --at %s: %d models, want 1", hhmm, len(res.Models))
	}
	return res, &res.Models[0]
}

func eventOf(t *testing.T, rep *audit.AuditReport, commit string) ledger.AuditEvent {
	t.Helper()
	for _, e := range rep.Events {
		if e.Commit == commit {
			return e
		}
	}
	t.Fatalf("no event for commit %s", commit)
	return ledger.AuditEvent{}
}

// TestWhichSinceAcrossUnparseableFile: a hand commit that breaks the
// release file and one that fixes it change nothing (Flux cannot apply
// the broken file): 1.1.0 still serves since the reviewed merge, with its
// approvers, in which and in history alike.
func TestWhichSinceAcrossUnparseableFile(t *testing.T) {
	s := newScenario(t)
	s.onMain(s.ids["init"])
	s.register("fraud", "1.1.0", "09:10")
	rel := release("fraud", "production", "replace", "1.1.0")
	s.promote("P", "production", "fraud", "1.1.0", "none", "replace", "10:00", rel, "", []string{"Bob <bob@example.com>"}, true)
	broken := "apiVersion: modelgit.dev/v1alpha1\nkind: Release\nmodel: fraud\nstrategy: [\n"
	s.onMain(s.commit("H1", nil, map[string]string{fraudProd: broken}, "Hand edit", at("11:00"), "Hal <hal@example.com>", false))
	s.onMain(s.commit("H2", nil, map[string]string{fraudProd: rel}, "Fix the release file", at("12:00"), "Hal <hal@example.com>", false))
	git(t, s.dir, "reset", "-q", "--hard", "main")

	bothWays(t, s, func(t *testing.T, reg *gitops.Repository) {
		for _, hhmm := range []string{"11:30", "12:30"} {
			_, m := whichModel(t, reg, "production", hhmm, "fraud")
			if len(m.Versions) != 1 || m.Versions[0].Version.String() != "1.1.0" {
				t.Fatalf("at %s: versions %+v, want 1.1.0 still serving", hhmm, m.Versions)
			}
			e := m.Versions[0].IntroducedBy
			if e == nil || e.Commit != s.ids["P"] || !m.Versions[0].Since.Equal(at("10:00")) || !slices.Equal(e.ApprovedBy, []string{"Bob <bob@example.com>"}) || e.RequestedBy != "Dana <dana@example.com>" {
				t.Errorf("at %s: 1.1.0 introduced by %+v, want the reviewed merge P at 10:00", hhmm, e)
			}
			if (m.Error != "") != (hhmm == "11:30") {
				t.Errorf("at %s: error %q", hhmm, m.Error)
			}
		}
		h, err := audit.History(reg, "fraud")
		if err != nil {
			t.Fatal(err)
		}
		if ran := h[0].Ran; len(ran) != 1 || !ran[0].From.Equal(at("10:00")) || ran[0].To != nil || ran[0].Commit != s.ids["P"] {
			t.Errorf("history: 1.1.0 ran %+v, want once, from P at 10:00, still", ran)
		}
		rep, err := audit.Audit(ctx, reg, audit.AuditOptions{Env: "production"})
		if err != nil {
			t.Fatal(err)
		}
		if d := eventOf(t, rep, s.ids["H1"]).Description; d != "unreadable, still serving 1.1.0" {
			t.Errorf("H1 description %q", d)
		}
		if d := eventOf(t, rep, s.ids["H2"]).Description; d != "readable again: 1.1.0" {
			t.Errorf("H2 description %q", d)
		}
	})
}

// TestAuditPromotionNotHead: the promotion commit found among the commits
// a merge brings in: a reviewer's commit pushed on top of it, a `git
// pull` merge of a modelgit merge; and a `git revert` merged through a
// pull request.
func TestAuditPromotionNotHead(t *testing.T) {
	s := newScenario(t)
	s.onMain(s.ids["init"])
	s.register("fraud", "1.0.0", "09:10")
	s.register("fraud", "1.1.0", "09:20")
	s.promote("P0", "production", "fraud", "1.0.0", "none", "replace", "10:00", release("fraud", "production", "replace", "1.0.0"), "", []string{"Bob <bob@example.com>"}, true)
	// A reviewer's commit on top of the promotion, merged by modelgit.
	canary20 := release("fraud", "production", "canary", "1.0.0 80 stable", "1.1.0 20 canary")
	prc := s.commit("P1 pr", nil, map[string]string{fraudProd: release("fraud", "production", "canary", "1.0.0 90 stable", "1.1.0 10 canary")}, promotionMessage("fraud", "1.1.0", "1.0.0", "canary weight=10", "production"), at("10:55"), "Dana <dana@example.com>", true)
	rev := s.commit("P1 review", []string{prc}, map[string]string{fraudProd: canary20}, "Start the canary at 20%", at("10:58"), "Bob <bob@example.com>", true)
	s.onMain(s.commit("P1", []string{s.main, rev}, map[string]string{fraudProd: canary20}, modelgitMerge(2, "Carol <carol@example.com>"), at("11:00"), "Erin <erin@example.com>", true))
	// A `git pull` on main: a local commit, then a merge of the modelgit
	// merge made on the forge meanwhile.
	base := s.main
	replace := release("fraud", "production", "replace", "1.1.0")
	local := s.commit("A", nil, map[string]string{"README.md": "local\n"}, "Local change", at("12:00"), "Ci <ci@example.com>", true)
	p2 := s.commit("P2 pr", []string{base}, map[string]string{fraudProd: replace}, promotionMessage("fraud", "1.1.0", "1.0.0", "replace", "production"), at("12:01"), "Dana <dana@example.com>", true)
	m2 := s.commit("M2", []string{base, p2}, map[string]string{fraudProd: replace}, modelgitMerge(3, "Bob <bob@example.com>"), at("12:05"), "Erin <erin@example.com>", true)
	s.onMain(s.commit("F", []string{local, m2}, map[string]string{fraudProd: replace, "README.md": "local\n"}, "Merge branch 'main' of github.com:acme/models", at("12:10"), "Ci <ci@example.com>", true))
	// A revert of M2, merged through a pull request with the forge's button.
	rv := s.commit("RV pr", nil, map[string]string{fraudProd: canary20}, fmt.Sprintf("Revert \"Merge pull request #3\"\n\nThis reverts commit %s, reversing\nchanges made to %s.\n", m2, base), at("13:00"), "Bob <bob@example.com>", true)
	s.onMain(s.commit("RV", []string{s.main, rv}, map[string]string{fraudProd: canary20}, "Merge pull request #4 from acme/revert-3", at("13:05"), "Erin <erin@example.com>", false))
	git(t, s.dir, "reset", "-q", "--hard", "main")

	bothWays(t, s, func(t *testing.T, reg *gitops.Repository) {
		rep, err := audit.Audit(ctx, reg, audit.AuditOptions{Env: "production"})
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			label, action, change, requested, approved, via, reverts string
			pr                                                       int
		}{
			{"P1", ledger.ActionPromote, "P1 pr", "Dana <dana@example.com>", "Carol <carol@example.com>", ledger.ViaModelgit, "", 2},
			{"F", ledger.ActionPromote, "P2 pr", "Dana <dana@example.com>", "Bob <bob@example.com>", ledger.ViaModelgit, "", 3},
			{"RV", ledger.ActionRevert, "RV pr", "", "", ledger.ViaOutside, "M2", 4},
		}
		for _, tt := range tests {
			e := eventOf(t, rep, s.ids[tt.label])
			approved := strings.Join(e.ApprovedBy, ", ")
			if e.Action != tt.action || e.ChangeCommit != s.ids[tt.change] || e.RequestedBy != tt.requested || approved != tt.approved || e.Via != tt.via || e.PullRequest != tt.pr || s.label(e.Reverts) != tt.reverts && e.Reverts != tt.reverts {
				t.Errorf("%s: action %q change %s requested %q approved %q via %q pr %d reverts %s\nwant %+v", tt.label, e.Action, s.label(e.ChangeCommit), e.RequestedBy, approved, e.Via, e.PullRequest, s.label(e.Reverts), tt)
			}
			if e.ChangeSignature == nil || !e.ChangeSignature.Trusted {
				t.Errorf("%s: change signature %+v", tt.label, e.ChangeSignature)
			}
		}
		if e := eventOf(t, rep, s.ids["P1"]); e.ToVersion != "1.1.0" || !slices.ContainsFunc(e.Notes, func(n string) bool { return strings.Contains(n, "not the head of the merged branch") }) {
			t.Errorf("P1: to %s, notes %q", e.ToVersion, e.Notes)
		}
		// which explains the canary by the same change.
		_, m := whichModel(t, reg, "production", "11:30", "fraud")
		if e := m.Versions[1].IntroducedBy; e == nil || e.Action != ledger.ActionPromote || e.RequestedBy != "Dana <dana@example.com>" || len(e.ApprovedBy) != 1 {
			t.Errorf("which: the canary introduced by %+v", e)
		}
	})
}

// TestAuditClockSkew: a hand commit whose committer date is older than
// its parent's is dated at its parent's time on the first-parent line
// (and flagged); which, audit and history agree, and no interval ends
// before it starts. The audit cache, brought up to date over the skewed
// commit, gives the same answers.
func TestAuditClockSkew(t *testing.T) {
	s := newScenario(t)
	s.onMain(s.ids["init"])
	for i, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		s.register("fraud", v, fmt.Sprintf("09:%d0", i+1))
	}
	bob := []string{"Bob <bob@example.com>"}
	s.promote("P1", "production", "fraud", "1.0.0", "none", "replace", "10:00", release("fraud", "production", "replace", "1.0.0"), "", bob, true)
	s.promote("P2", "production", "fraud", "1.1.0", "1.0.0", "replace", "12:00", release("fraud", "production", "replace", "1.1.0"), "", bob, true)
	git(t, s.dir, "reset", "-q", "--hard", "main")
	reg, err := gitops.Open(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := audit.Audit(ctx, reg, audit.AuditOptions{}); err != nil { // a cache at P2
		t.Fatal(err)
	}
	s.onMain(s.commit("H", nil, map[string]string{fraudProd: release("fraud", "production", "replace", "1.2.0")}, "Hand edit on a skewed clock", at("11:00"), "Hal <hal@example.com>", false))
	s.promote("P3", "production", "fraud", "1.0.0", "1.2.0", "replace", "13:00", release("fraud", "production", "replace", "1.0.0"), "", bob, true)
	git(t, s.dir, "reset", "-q", "--hard", "main")

	check := func(t *testing.T, reg *gitops.Repository) {
		rep, err := audit.Audit(ctx, reg, audit.AuditOptions{Env: "production"})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i, e := range rep.Events {
			got = append(got, e.Time.Format("15:04")+" "+s.label(e.Commit))
			if i > 0 && rep.Events[i-1].ToVersion != e.FromVersion {
				t.Errorf("the from → to chain breaks at %s: %s after %s", s.label(e.Commit), e.FromVersion, rep.Events[i-1].ToVersion)
			}
		}
		if want := []string{"10:00 P1", "12:00 P2", "12:00 H", "13:00 P3"}; !slices.Equal(got, want) {
			t.Errorf("audit: %q, want %q", got, want)
		}
		if h := eventOf(t, rep, s.ids["H"]); h.CommitterTime == nil || !h.CommitterTime.Equal(at("11:00")) {
			t.Errorf("H: committer time %v, want 11:00 flagged", h.CommitterTime)
		}
		if p := eventOf(t, rep, s.ids["P2"]); p.CommitterTime != nil {
			t.Errorf("P2 flagged as skewed: %v", p.CommitterTime)
		}
		// At 11:30, H (committed "at 11:00" on top of P2) was not there.
		res, m := whichModel(t, reg, "production", "11:30", "fraud")
		if res.Commit != s.ids["P1"] || m.Versions[0].Version.String() != "1.0.0" {
			t.Errorf("which at 11:30: %s, %s; want P1, 1.0.0", s.label(res.Commit), m.Versions[0].Version)
		}
		res, m = whichModel(t, reg, "production", "12:30", "fraud")
		if res.Commit != s.ids["H"] || m.Versions[0].Version.String() != "1.2.0" || !m.Versions[0].Since.Equal(at("12:00")) || res.CommitterTime == nil {
			t.Errorf("which at 12:30: %s, %s since %v (committer time %v); want H, 1.2.0 since 12:00, flagged", s.label(res.Commit), m.Versions[0].Version, m.Versions[0].Since, res.CommitterTime)
		}
		h, err := audit.History(reg, "fraud")
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range h {
			if e.Version.String() == "1.2.0" && (len(e.Ran) != 1 || !e.Ran[0].ClockSkew) {
				t.Errorf("history: 1.2.0 ran %+v, want one interval flagged for clock skew", e.Ran)
			}
			for _, iv := range e.Ran {
				if iv.To != nil && iv.To.Before(iv.From) {
					t.Errorf("history: %s ran %v → %v, ending before it starts", e.Version, iv.From, iv.To)
				}
			}
		}
	}
	t.Run("incremental cache", func(t *testing.T) { check(t, reg) })
	bothWays(t, s, check)
}

// TestAuditRollbackDuringCanary: a rollback that aborts a canary says so,
// not "1.0.0 → 1.0.0".
func TestAuditRollbackDuringCanary(t *testing.T) {
	s := buildScenario(t)
	reg, err := gitops.Open(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Audit(ctx, reg, audit.AuditOptions{Env: "production", Model: "fraud"})
	if err != nil {
		t.Fatal(err)
	}
	if d := eventOf(t, rep, s.ids["P5"]).Description; d != "canary 1.1.0 aborted, stable 1.0.0 stays" {
		t.Errorf("P5 description %q", d)
	}
	if d := eventOf(t, rep, s.ids["P3"]).Description; d != "" {
		t.Errorf("P3 description %q", d)
	}
}

// TestAuditFollowsFluxBranch: with no branch in modelgit.yaml, audit and
// which follow main, the branch the generated Flux configuration follows,
// whatever is checked out.
func TestAuditFollowsFluxBranch(t *testing.T) {
	s := buildScenario(t)
	x := s.commit("X", nil, map[string]string{fraudProd: release("fraud", "production", "replace", "1.1.0")}, "Try 1.1.0 on a feature branch", at("18:00"), "Hal <hal@example.com>", true)
	git(t, s.dir, "update-ref", "refs/heads/feature", x)
	git(t, s.dir, "checkout", "-q", "feature")
	reg, err := gitops.Open(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Audit(ctx, reg, audit.AuditOptions{Env: "production"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Branches) != 1 || rep.Branches[0].Branch != "main" || rep.Branches[0].Tip != s.main {
		t.Errorf("branches %+v, want main at %s", rep.Branches, s.main)
	}
	if last := rep.Events[len(rep.Events)-1]; s.label(last.Commit) != "P9" {
		t.Errorf("last event %s, want P9", s.label(last.Commit))
	}
	res, m := whichModel(t, reg, "production", "19:00", "fraud")
	if res.Branch != "main" || m.Versions[0].Version.String() != "1.0.0" {
		t.Errorf("which follows %s: %s", res.Branch, m.Versions[0].Version)
	}
}

type recordingLog struct {
	mu       sync.Mutex
	warnings []string
}

func (l *recordingLog) Actionf(string, ...any)  {}
func (l *recordingLog) Successf(string, ...any) {}
func (l *recordingLog) Warningf(f string, a ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.warnings = append(l.warnings, fmt.Sprintf(f, a...))
}

// TestRewriteReportedOnce: the rewrite is returned (and printed by the
// command, once), not also logged by the ledger.
func TestRewriteReportedOnce(t *testing.T) {
	s := buildScenario(t)
	log := &recordingLog{}
	reg, err := gitops.Open(s.dir, gitops.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := audit.Audit(ctx, reg, audit.AuditOptions{}); err != nil {
		t.Fatal(err)
	}
	s.onMain(s.ids["P5"])
	git(t, s.dir, "reset", "-q", "--hard", "main")
	rep, err := audit.Audit(ctx, reg, audit.AuditOptions{})
	if err != nil || len(rep.Rewrites) != 1 {
		t.Fatalf("audit after a force-push: %v, rewrites %+v", err, rep.Rewrites)
	}
	for _, w := range log.warnings {
		if strings.Contains(w, "REWRITTEN") {
			t.Errorf("the ledger logged the rewrite too: %q", w)
		}
	}
}

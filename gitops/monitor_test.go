package gitops_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/gitops/monitor"
	"github.com/modelgit/modelgit/gitops/prom"
	"github.com/modelgit/modelgit/gitops/prom/promtest"
	"github.com/modelgit/modelgit/gitops/promote"
)

// monitorAt is the evaluation time of every monitoring test: samples are
// written before it and queries name it, so results never slide.
var monitorAt = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const devPolicy = `apiVersion: modelgit.dev/v1alpha1
kind: PromotionPolicy
metrics:
  accuracy:
    direction: higher
    tolerance: 0.05
    query: avg_over_time(model_accuracy{model="$model",version="$version"}[1h])
    minSamples: 30
  latency_p95_ms:
    direction: lower
    tolerance: 0.10
    query: avg_over_time(model_latency_p95_ms{model="$model",version="$version"}[1h])
    minSamples: 30
  psi_amount:
    direction: lower
    threshold: 0.2
    query: max_over_time(model_feature_psi{model="$model",version="$version",feature="amount"}[1h])
    minSamples: 30
  psi_hour:
    direction: lower
    threshold: 0.2
    query: max_over_time(model_feature_psi{model="$model",version="$version",feature="hour"}[1h])
    minSamples: 30
`

const stagingPolicy = `apiVersion: modelgit.dev/v1alpha1
kind: PromotionPolicy
metrics:
  accuracy:
    direction: higher
    tolerance: 0.05
    query: avg_over_time(model_accuracy{model="$model",version="$version"}[1h])
    minSamples: 30
`

// gauge is n samples of metric, one a minute, ending at monitorAt.
func gauge(metric, version string, v float64, n int, extra ...string) promtest.Series {
	s := promtest.Series{Name: metric, Labels: map[string]string{"model": "fraud", "version": version}}
	for i := 0; i+1 < len(extra); i += 2 {
		s.Labels[extra[i]] = extra[i+1]
	}
	for i := range n {
		s.Points = append(s.Points, promtest.Point{T: monitorAt.Add(-time.Duration(i) * time.Minute), V: v})
	}
	return s
}

// devSeries are dev's live metrics of 0.1.1+data.1 (registered accuracy
// 0.93, latency_p95_ms 40): the given values, 60 samples each.
func devSeries(acc, lat, psiAmount, psiHour float64, n int) []promtest.Series {
	const v = "0.1.1+data.1"
	return []promtest.Series{
		gauge("model_accuracy", v, acc, n),
		gauge("model_latency_p95_ms", v, lat, n),
		gauge("model_feature_psi", v, psiAmount, n, "feature", "amount"),
		gauge("model_feature_psi", v, psiHour, n, "feature", "hour"),
	}
}

// newMonitorFixture runs fraud 0.1.1 in dev (0.1.0 before it) and, in
// staging, 0.1.0 with 0.1.1 as a 10% canary; dev and staging have
// monitoring policies. Everything is merged and pushed.
func newMonitorFixture(t *testing.T) *promoteFixture {
	t.Helper()
	p := newPromoteFixture(t)
	for _, step := range []struct {
		ref, env string
		change   gitops.ReleaseChange
	}{
		{"fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{}},
		{"fraud@0.1.1+data.1", "dev", gitops.ReleaseChange{}},
		{"fraud@0.1.0+data.1", "staging", gitops.ReleaseChange{}},
		{"fraud@0.1.1+data.1", "staging", gitops.ReleaseChange{Strategy: "canary", Weight: 10}},
	} {
		res, err := p.promote(step.ref, step.env, step.change)
		if err != nil {
			t.Fatal(err)
		}
		p.mergeAndPull(res.PR)
	}
	writeFile(t, filepath.Join(p.root, "policies", "dev.yaml"), devPolicy)
	writeFile(t, filepath.Join(p.root, "policies", "staging.yaml"), stagingPolicy)
	git(t, p.root, "add", "policies")
	git(t, p.root, "commit", "-q", "-S", "-m", "Monitor dev and staging")
	git(t, p.root, "push", "-q", "origin", "main")
	p.reopen()
	return p
}

func monitorEnv(t *testing.T, reg *gitops.Repository, env, url string) *monitor.MonitorReport {
	t.Helper()
	c, err := prom.New(url)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := monitor.Monitor(ctx, reg, monitor.MonitorOptions{Env: env, Source: c, SourceName: c.Address(), At: monitorAt})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Models) != 1 || rep.Models[0].Model != "fraud" {
		t.Fatalf("models = %+v, want fraud alone", rep.Models)
	}
	return rep
}

// statuses maps "version metric" to the check's status.
func statuses(h monitor.ModelHealth) map[string]string {
	m := map[string]string{}
	for _, c := range h.Checks {
		m[c.Version+" "+c.Metric] = c.Status
	}
	return m
}

func TestMonitorScenariosAgainstRealPrometheus(t *testing.T) {
	promtest.Need(t)
	p := newMonitorFixture(t)
	down, err := promtest.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	const v1, v2 = "0.1.0+data.1", "0.1.1+data.1"
	// queryPolicy monitors accuracy with the query given and latency with
	// a good one: latency ok shows that Prometheus was not taken for down.
	queryPolicy := func(accuracy, minSamples string) string {
		return "apiVersion: modelgit.dev/v1alpha1\nkind: PromotionPolicy\nmetrics:\n  accuracy:\n    direction: higher\n    query: '" + accuracy + "'\n" + minSamples +
			"  latency_p95_ms:\n    direction: lower\n    tolerance: 0.10\n    query: avg_over_time(model_latency_p95_ms{model=\"$model\",version=\"$version\"}[1h])\n    minSamples: 30\n"
	}
	for _, tc := range []struct {
		name    string
		env     string
		policy  string            // replaces policies/<env>.yaml for the case; "" keeps the fixture's
		series  []promtest.Series // nil: Prometheus is down
		verdict string
		want    map[string]string // "version metric" → status
		reason  string            // in every unknown or failing check's reason
	}{
		{
			name: "healthy", env: "dev", series: devSeries(0.93, 40, 0.05, 0.05, 60), verdict: monitor.MonitorHealthy,
			want: map[string]string{v2 + " accuracy": "ok", v2 + " latency_p95_ms": "ok", v2 + " psi_amount": "ok", v2 + " psi_hour": "ok"},
		},
		{
			name: "degraded accuracy", env: "dev", series: devSeries(0.80, 40, 0.05, 0.05, 60), verdict: monitor.MonitorFailing,
			want:   map[string]string{v2 + " accuracy": "fail", v2 + " latency_p95_ms": "ok", v2 + " psi_amount": "ok", v2 + " psi_hour": "ok"},
			reason: "registered 0.93: want >= 0.8835",
		},
		{
			name: "latency regression", env: "dev", series: devSeries(0.93, 60, 0.05, 0.05, 60), verdict: monitor.MonitorFailing,
			want:   map[string]string{v2 + " accuracy": "ok", v2 + " latency_p95_ms": "fail", v2 + " psi_amount": "ok", v2 + " psi_hour": "ok"},
			reason: "registered 40: want <= 44",
		},
		{
			name: "drift on one feature", env: "dev", series: devSeries(0.93, 40, 0.05, 0.35, 60), verdict: monitor.MonitorFailing,
			want:   map[string]string{v2 + " accuracy": "ok", v2 + " latency_p95_ms": "ok", v2 + " psi_amount": "ok", v2 + " psi_hour": "fail"},
			reason: "threshold <= 0.2",
		},
		{
			name: "too few samples", env: "dev", series: devSeries(0.5, 400, 0.9, 0.9, 10), verdict: monitor.MonitorUndecided,
			want:   map[string]string{v2 + " accuracy": "unknown", v2 + " latency_p95_ms": "unknown", v2 + " psi_amount": "unknown", v2 + " psi_hour": "unknown"},
			reason: "too few samples: 10 in 1h, policy wants at least 30",
		},
		{
			name: "canary worse than primary", env: "staging", verdict: monitor.MonitorFailing,
			series: []promtest.Series{gauge("model_accuracy", v1, 0.90, 60), gauge("model_accuracy", v2, 0.84, 60)},
			want:   map[string]string{v1 + " accuracy": "ok", v2 + " accuracy": "fail"},
			reason: "primary 0.9 live: want >= 0.855",
		},
		{
			name: "canary as good as primary", env: "staging", verdict: monitor.MonitorHealthy,
			series: []promtest.Series{gauge("model_accuracy", v1, 0.90, 60), gauge("model_accuracy", v2, 0.89, 60)},
			want:   map[string]string{v1 + " accuracy": "ok", v2 + " accuracy": "ok"},
		},
		{
			name: "prometheus down", env: "dev", verdict: monitor.MonitorUndecided,
			want:   map[string]string{v2 + " accuracy": "unknown", v2 + " latency_p95_ms": "unknown", v2 + " psi_amount": "unknown", v2 + " psi_hour": "unknown"},
			reason: "prometheus is unreachable",
		},
		{
			name: "bad promql", env: "dev", series: devSeries(0.93, 40, 0.05, 0.05, 60), verdict: monitor.MonitorUndecided,
			policy: queryPolicy(`avg_over_time(model_accuracy{model="$model",version="$version"}[1h]`, "    minSamples: 30\n"),
			want:   map[string]string{v2 + " accuracy": "unknown", v2 + " latency_p95_ms": "ok"},
			reason: `querying Prometheus for "avg_over_time(model_accuracy{model=\"fraud\",version=\"0.1.1+data.1\"}[1h]": bad_data`,
		},
		{
			name: "several series", env: "dev", series: devSeries(0.93, 40, 0.05, 0.05, 60), verdict: monitor.MonitorUndecided,
			policy: queryPolicy(`max_over_time(model_feature_psi{model="$model",version="$version"}[1h])`, "    minSamples: 30\n"),
			want:   map[string]string{v2 + " accuracy": "unknown", v2 + " latency_p95_ms": "ok"},
			reason: "result: 2 series",
		},
		{
			name: "no data", env: "dev", series: devSeries(0.93, 40, 0.05, 0.05, 60), verdict: monitor.MonitorUndecided,
			policy: queryPolicy(`avg_over_time(model_precision{model="$model",version="$version"}[1h])`, ""),
			want:   map[string]string{v2 + " accuracy": "unknown", v2 + " latency_p95_ms": "ok"},
			reason: "no data: the query matched no series",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.policy != "" {
				setPolicy(t, p, tc.env, tc.policy)
				t.Cleanup(func() { setPolicy(t, p, tc.env, devPolicy) })
			}
			url := "http://" + down
			if tc.series != nil {
				url = promtest.Start(t, tc.series).URL
			}
			rep := monitorEnv(t, p.reg, tc.env, url)
			h := rep.Models[0]
			if h.Verdict != tc.verdict {
				t.Errorf("verdict = %s, want %s; checks: %+v", h.Verdict, tc.verdict, h.Checks)
			}
			got := statuses(h)
			for k, want := range tc.want {
				if got[k] != want {
					t.Errorf("%s: %s, want %s", k, got[k], want)
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("checks = %v, want %v", got, tc.want)
			}
			for _, c := range h.Checks {
				if c.Status != monitor.MonitorCheckOK && !strings.Contains(c.Reason, tc.reason) {
					t.Errorf("%s %s reason %q lacks %q", c.Version, c.Metric, c.Reason, tc.reason)
				}
				if c.Status == monitor.MonitorCheckUnknown && c.Value != nil {
					t.Errorf("%s %s is unknown but has a value", c.Version, c.Metric)
				}
				// What a check compares with is known before it is
				// measured, also when it stays unknown.
				kind := monitor.MonitorKindRegistered
				switch {
				case strings.HasPrefix(c.Metric, "psi_"):
					kind = monitor.MonitorKindThreshold
				case c.Role == "canary":
					kind = monitor.MonitorKindPrimary
				}
				if c.Kind != kind {
					t.Errorf("%s %s (%s) kind = %q, want %q", c.Version, c.Metric, c.Status, c.Kind, kind)
				}
			}
		})
	}
}

// setPolicy commits policy as policies/<env>.yaml on main.
func setPolicy(t *testing.T, p *promoteFixture, env, policy string) {
	t.Helper()
	writeFile(t, filepath.Join(p.root, "policies", env+".yaml"), policy)
	git(t, p.root, "add", "policies")
	git(t, p.root, "commit", "-q", "-S", "--allow-empty", "-m", "Monitor "+env)
	p.reopen()
}

func TestMonitorActOpensOneRollbackPullRequest(t *testing.T) {
	promtest.Need(t)
	p := newMonitorFixture(t)
	srv := promtest.Start(t, devSeries(0.80, 40, 0.05, 0.05, 60))
	opts := p.actOptions()
	act := p.actor(t, srv.URL, opts)
	a := act()
	if a == nil || a.Kind != monitor.MonitorRollback || a.To != "0.1.0+data.1" || !a.Created || a.PR == 0 || a.Skipped != "" {
		t.Fatalf("action = %+v, want a new rollback PR to 0.1.0+data.1", a)
	}
	if a.Branch != "modelgit/rollback/dev/fraud-0.1.0_data.1" {
		t.Errorf("branch = %s", a.Branch)
	}
	pr, err := p.forge.GetPullRequest(ctx, a.PR)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"### Why: live monitoring found fraud failing",
		"at 2026-03-01T12:00:00Z against " + srv.URL,
		"| 0.1.1+data.1 | accuracy | registered | 0.8 | 0.93 | >= 0.8835 | 1h | 60 (min 30) | **FAIL** |",
		"`avg_over_time(model_accuracy{model=\"fraud\",version=\"0.1.1+data.1\"}[1h])`",
		"(samples: `sum(count_over_time(model_accuracy{model=\"fraud\",version=\"0.1.1+data.1\"}[1h]))`)",
		"## fraud 0.1.0+data.1 → dev", // the rollback's own body follows
	} {
		if !strings.Contains(pr.Body, want) {
			t.Errorf("PR body lacks %q:\n%s", want, pr.Body)
		}
	}
	msg := git(t, p.fake.GitDir(), "log", "-1", "--format=%B", a.Branch)
	if !strings.Contains(msg, "Roll back fraud in dev to 0.1.0+data.1") || !strings.Contains(msg, "Rollback: from 0.1.1+data.1") {
		t.Errorf("commit message:\n%s", msg)
	}
	// The evidence outlives the pull request: a summary is in the commit,
	// before the trailers.
	if i, j := strings.Index(msg, "modelgit monitor found fraud failing in dev at 2026-03-01T12:00:00Z"), strings.Index(msg, "Rollback: from"); i < 0 || j < i || !strings.Contains(msg[i:j], "accuracy") {
		t.Errorf("commit message lacks the monitoring summary before its trailers:\n%s", msg)
	}

	// Again: the same pull request, updated, no second one, and the same
	// head: a new commit would dismiss the approvals it has.
	first := git(t, p.fake.GitDir(), "rev-parse", a.Branch)
	again := act()
	if again.Created || again.PR != a.PR || again.Skipped != "" {
		t.Errorf("second run: %+v, want PR #%d updated", again, a.PR)
	}
	if head := git(t, p.fake.GitDir(), "rev-parse", a.Branch); head != first {
		t.Errorf("second run moved %s from %s to %s, want the head kept", a.Branch, first, head)
	}
	if n := len(p.fake.PullRequests()); n != 5 { // four merged promotions and the rollback
		t.Errorf("the fake has %d pull requests, want 5", n)
	}

	// Worse numbers on a later run: the same pull request, its body the
	// new evidence.
	worse := promtest.Start(t, devSeries(0.70, 40, 0.05, 0.05, 60))
	c, err := prom.New(worse.URL)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := monitor.Monitor(ctx, p.reg, monitor.MonitorOptions{Env: "dev", Source: c, SourceName: c.Address(), At: monitorAt})
	if err != nil {
		t.Fatal(err)
	}
	if err := monitor.ActOnMonitor(ctx, p.reg, rep, opts); err != nil {
		t.Fatal(err)
	}
	if u := rep.Models[0].Action; u == nil || u.Created || u.PR != a.PR {
		t.Errorf("run with new values: %+v, want PR #%d updated", u, a.PR)
	}
	// The change is the same: the head stays (its approvals with it), and
	// the commit keeps the first evidence; only the body is new.
	if head := git(t, p.fake.GitDir(), "rev-parse", a.Branch); head != first {
		t.Errorf("run with new values moved %s from %s to %s, want the head kept", a.Branch, first, head)
	}
	if msg := git(t, p.fake.GitDir(), "log", "-1", "--format=%B", a.Branch); !strings.Contains(msg, "live 0.8") || strings.Contains(msg, "live 0.7") {
		t.Errorf("commit message after the run with new values, want the first evidence:\n%s", msg)
	}
	pr, err = p.forge.GetPullRequest(ctx, a.PR)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(pr.Body, "| 0.1.1+data.1 | accuracy | registered | 0.7 | 0.93 | >= 0.8835 |") || !strings.Contains(pr.Body, "against "+worse.URL) || strings.Contains(pr.Body, "| 0.8 |") {
		t.Errorf("PR body after the run with new values:\n%s", pr.Body)
	}
	updated := pr.Body

	// A rollback pull request for fraud in dev on another branch (opened
	// by hand): left alone, no second one, and ours is not touched either.
	other := "modelgit/rollback/dev/fraud-0.0.9"
	git(t, p.fake.GitDir(), "branch", other, a.Branch)
	byHand, err := p.forge.CreatePullRequest(ctx, forge.PullRequestSpec{Title: "Roll back fraud in dev by hand", Body: "by hand", Head: other, Base: "main"})
	if err != nil {
		t.Fatal(err)
	}
	held := act()
	if held.PR != 0 || !strings.Contains(held.Skipped, fmt.Sprintf("rollback pull request #%d (%s) for fraud in dev is already open", byHand.Number, other)) {
		t.Errorf("with another rollback open: %+v", held)
	}
	for n, want := range map[int]string{byHand.Number: "by hand", a.PR: updated} {
		if got, err := p.forge.GetPullRequest(ctx, n); err != nil || got.Body != want {
			t.Errorf("pull request #%d was changed (%v):\n%s", n, err, got.Body)
		}
	}
	p.fake.ClosePullRequest(byHand.Number)

	// A bulk promotion to dev that lists fraud: hands off.
	bulk, err := promote.BulkPromote(ctx, p.reg, promote.BulkOptions{Selector: map[string]string{}, VersionFrom: "staging", PromoteOptions: promote.PromoteOptions{
		Env: "dev", Identity: gitops.Identity{Signature: alice, Signer: p.signer}, Forge: p.forge, Remote: "origin"}})
	if err != nil {
		t.Fatal(err)
	}
	held = act()
	if held.PR != 0 || !strings.Contains(held.Skipped, fmt.Sprintf("promotion pull request #%d (%s)", bulk.PR.Number, bulk.Branch)) || !strings.Contains(bulk.Branch, "/bulk-") {
		t.Errorf("with a bulk promotion open: %+v (bulk branch %s)", held, bulk.Branch)
	}
	p.fake.ClosePullRequest(bulk.PR.Number)

	// A promotion pull request for fraud in dev is open: hands off.
	res, err := p.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	held = act()
	if held.PR != 0 || !strings.Contains(held.Skipped, "promotion pull request #") || !strings.Contains(held.Skipped, res.Branch) {
		t.Errorf("with a promotion open: %+v", held)
	}
}

// TestMonitorActRespectsAClosedRollback: a human closed monitor's
// rollback pull request without merging it (a rejection). The next runs
// do not reopen it while the release is unchanged, and say so; once the
// release changes, monitor proposes the rollback again.
func TestMonitorActRespectsAClosedRollback(t *testing.T) {
	promtest.Need(t)
	p := newMonitorFixture(t)
	srv := promtest.Start(t, devSeries(0.80, 40, 0.05, 0.05, 60))
	opts := p.actOptions()
	act := p.actor(t, srv.URL, opts)
	a := act()
	if a == nil || !a.Created || a.PR == 0 {
		t.Fatalf("action = %+v, want a new rollback pull request", a)
	}
	p.fake.ClosePullRequest(a.PR)
	n := len(p.fake.PullRequests())

	held := act()
	want := fmt.Sprintf("rollback pull request #%d was closed without merging; not reopening while environments/dev/fraud.yaml is unchanged", a.PR)
	if held == nil || held.PR != 0 || !strings.Contains(held.Skipped, want) {
		t.Errorf("after the rollback was closed: %+v, want %q", held, want)
	}
	if got := len(p.fake.PullRequests()); got != n {
		t.Errorf("the fake has %d pull requests, want %d: the closed one was reopened as a new one", got, n)
	}

	// The release changes: the rejection no longer holds.
	p.commitFile("environments/dev/fraud.yaml", "# edited by hand\n", true)
	again := act()
	if again == nil || again.Skipped != "" || !again.Created || again.PR == a.PR {
		t.Errorf("after the release changed: %+v, want a new pull request", again)
	}
}

// TestMonitorActDoesNotFlipFlop: dev ran 0.1.0, then 0.1.1, and was
// rolled back to 0.1.0. When 0.1.0 degrades, returning to 0.1.1 (the
// version just rolled back from) would undo the rollback: monitor must not
// propose it. Nothing earlier ran in dev, so it proposes nothing.
func TestMonitorActDoesNotFlipFlop(t *testing.T) {
	promtest.Need(t)
	p := newMonitorFixture(t)
	opts := promote.PromoteOptions{Identity: gitops.Identity{Signature: alice, Signer: p.signer}, Forge: p.forge, Remote: "origin"}
	back, err := promote.Rollback(ctx, p.reg, promote.RollbackOptions{Model: "fraud", Env: "dev", PromoteOptions: opts})
	if err != nil {
		t.Fatal(err)
	}
	p.mergeAndPull(back.PR)
	if rel, err := p.reg.Release("dev", "fraud"); err != nil || rel.Versions[0].Version.String() != "0.1.0+data.1" {
		t.Fatalf("dev after the rollback: %+v, %v", rel, err)
	}
	srv := promtest.Start(t, []promtest.Series{gauge("model_accuracy", "0.1.0+data.1", 0.70, 60)})
	rep := monitorEnv(t, p.reg, "dev", srv.URL)
	if rep.Models[0].Verdict != monitor.MonitorFailing {
		t.Fatalf("verdict = %s, want failing: %+v", rep.Models[0].Verdict, rep.Models[0].Checks)
	}
	if err := monitor.ActOnMonitor(ctx, p.reg, rep, opts); err != nil {
		t.Fatal(err)
	}
	a := rep.Models[0].Action
	if a == nil || a.To == "0.1.1+data.1" || a.PR != 0 || !strings.Contains(a.Skipped, "no earlier version of fraud ran in dev") {
		t.Errorf("action = %+v, want none: 0.1.1+data.1 was rolled back from, and nothing ran in dev before 0.1.0+data.1", a)
	}
}

func TestMonitorActAbortsAFailingCanary(t *testing.T) {
	promtest.Need(t)
	p := newMonitorFixture(t)
	srv := promtest.Start(t, []promtest.Series{gauge("model_accuracy", "0.1.0+data.1", 0.90, 60), gauge("model_accuracy", "0.1.1+data.1", 0.84, 60)})
	rep := monitorEnv(t, p.reg, "staging", srv.URL)
	opts := promote.PromoteOptions{Identity: gitops.Identity{Signature: alice, Signer: p.signer}, Forge: p.forge, Remote: "origin"}
	if err := monitor.ActOnMonitor(ctx, p.reg, rep, opts); err != nil {
		t.Fatal(err)
	}
	a := rep.Models[0].Action
	if a == nil || a.Kind != monitor.MonitorCanaryAbort || a.To != "0.1.0+data.1" || a.PR == 0 {
		t.Fatalf("action = %+v, want a canary abort back to 0.1.0+data.1", a)
	}
	pr, err := p.forge.GetPullRequest(ctx, a.PR)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(pr.Body, "aborts the canary of fraud in staging") || !strings.Contains(pr.Body, "| 0.1.1+data.1 (canary) | accuracy | primary | 0.84 | 0.9 | >= 0.855 |") {
		t.Errorf("PR body:\n%s", pr.Body)
	}
	p.mergeAndPull(pr)
	rel, err := p.reg.Release("staging", "fraud")
	if err != nil {
		t.Fatal(err)
	}
	if rel.Strategy != "replace" || len(rel.Versions) != 1 || rel.Versions[0].Version.String() != "0.1.0+data.1" {
		t.Errorf("release after the abort = %+v", rel)
	}
}

func TestMonitorActLeavesUndecidedAlone(t *testing.T) {
	p := newMonitorFixture(t)
	down, err := promtest.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	rep := monitorEnv(t, p.reg, "dev", "http://"+down)
	if err := monitor.ActOnMonitor(ctx, p.reg, rep, promote.PromoteOptions{Forge: p.forge}); err != nil {
		t.Fatal(err)
	}
	if rep.Models[0].Action != nil || len(p.fake.PullRequests()) != 4 {
		t.Errorf("acted on an undecided model: %+v", rep.Models[0].Action)
	}
}

// flakySource counts queries and fails them all as unreachable.
type flakySource struct{ n int }

func (f *flakySource) Query(context.Context, string, time.Time) (prom.Result, error) {
	f.n++
	return prom.Result{}, errors.Join(prom.ErrUnreachable, errors.New("connection refused"))
}

func TestMonitorStopsAskingOnceUnreachable(t *testing.T) {
	p := newMonitorFixture(t)
	src := &flakySource{}
	rep, err := monitor.Monitor(ctx, p.reg, monitor.MonitorOptions{Env: "dev", Source: src, At: monitorAt})
	if err != nil {
		t.Fatal(err)
	}
	if src.n != 1 || rep.Models[0].Verdict != monitor.MonitorUndecided {
		t.Errorf("queries = %d, verdict %s; want 1 query and unknown", src.n, rep.Models[0].Verdict)
	}
}

func TestMonitorSamplesQuery(t *testing.T) {
	for _, tc := range []struct{ query, samples, window string }{
		{`avg_over_time(model_accuracy{model="fraud",version="1"}[1h])`, `sum(count_over_time(model_accuracy{model="fraud",version="1"}[1h]))`, "1h"},
		{`histogram_quantile(0.95, sum by (le) (rate(req_bucket{model="a}b"}[5m])))`, `sum(count_over_time(req_bucket{model="a}b"}[5m]))`, "5m"},
		{`max_over_time({__name__="psi"}[1h30m])`, `sum(count_over_time({__name__="psi"}[1h30m]))`, "1h30m"},
		{`model_feature_psi{feature="age"}`, "", ""},
		{`max_over_time((x)[1h:5m])`, "", ""},
	} {
		s, w, ok := monitor.MonitorSamplesQuery(tc.query)
		if s != tc.samples || w != tc.window || ok != (tc.samples != "") {
			t.Errorf("MonitorSamplesQuery(%q) = %q, %q, %v; want %q, %q", tc.query, s, w, ok, tc.samples, tc.window)
		}
	}
}

func TestMonitorUnknownEnvironment(t *testing.T) {
	f := newFixture(t)
	_, err := monitor.Monitor(ctx, f.reg, monitor.MonitorOptions{Env: "qa", Source: &flakySource{}})
	mustContain(t, err, `unknown environment "qa"`)
}

func TestMonitorSummary(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	n := 60
	rep := &monitor.MonitorReport{Env: "dev", At: monitorAt, Source: "http://prom:9090"}
	h := &monitor.ModelHealth{Model: "fraud", Checks: []monitor.MonitorCheck{
		{Version: "0.1.1+data.1", Metric: "accuracy", Kind: monitor.MonitorKindRegistered, Direction: "higher", Window: "1h",
			Value: f(0.8), Reference: f(0.93), Bound: f(0.8835), Samples: &n, MinSamples: 30, Status: monitor.MonitorCheckFail},
		{Version: "0.1.1+data.1", Metric: "psi_hour", Kind: monitor.MonitorKindThreshold, Direction: "lower", Window: "1h",
			Value: f(0.35), Bound: f(0.2), Status: monitor.MonitorCheckFail},
		{Version: "0.1.1+data.1", Metric: "latency_p95_ms", Status: monitor.MonitorCheckOK},
		{Version: "0.1.1+data.1", Metric: "psi_amount", Status: monitor.MonitorCheckUnknown},
	}}
	got := monitor.MonitorSummary(rep, h)
	want := "modelgit monitor found fraud failing in dev at 2026-03-01T12:00:00Z (http://prom:9090), judged by policies/dev.yaml:" +
		" 0.1.1+data.1 accuracy live 0.8, registered 0.93, allowed >= 0.8835, over 1h (60 samples);" +
		" 0.1.1+data.1 psi_hour live 0.35, allowed <= 0.2, over 1h; 1 other checks ok, 1 unknown."
	if got != want {
		t.Errorf("MonitorSummary =\n%s\nwant\n%s", got, want)
	}
}

// actOptions are the promotion options monitor --act uses in these tests:
// alice signs, the fake forge, pushed to origin.
func (p *promoteFixture) actOptions() promote.PromoteOptions {
	return promote.PromoteOptions{Identity: gitops.Identity{Signature: alice, Signer: p.signer}, Forge: p.forge, Remote: "origin"}
}

// actor returns a function that monitors dev against the Prometheus at
// url, acts on the report with opts and returns the first model's action.
func (p *promoteFixture) actor(t *testing.T, url string, opts promote.PromoteOptions) func() *monitor.MonitorAction {
	return func() *monitor.MonitorAction {
		t.Helper()
		rep := monitorEnv(t, p.reg, "dev", url)
		if err := monitor.ActOnMonitor(ctx, p.reg, rep, opts); err != nil {
			t.Fatal(err)
		}
		return rep.Models[0].Action
	}
}

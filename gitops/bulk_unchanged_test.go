package gitops_test

import (
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/audit"
	"github.com/modelgit/modelgit/gitops/promote"
	"github.com/modelgit/modelgit/gitops/register"
)

// TestBulkPromoteLeavesOutModelsAlreadyRunning: of three selected models,
// staging already runs fraud-detector's version: the bulk promotion
// promotes the other two only (commit trailers, files, pull request
// body), lists fraud-detector as already running, and status does not
// list the pull request under it. Run again once merged, every model
// already runs its version: nothing is committed.
func TestBulkPromoteLeavesOutModelsAlreadyRunning(t *testing.T) {
	p := newPromoteFixture(t)
	models := []string{"churn", "fraud-detector", "scorer"}
	for _, m := range models {
		o := p.options(base)
		o.Model, o.Framework, o.Labels = m, "sklearn=1.5.2", map[string]string{"team": "risk"}
		if _, err := register.Register(ctx, p.reg, o); err != nil {
			t.Fatal(err)
		}
	}
	git(t, p.root, "push", "-q", "origin", "main")
	for _, m := range models {
		res, err := p.promote(m+"@0.1.0+data.1", "dev", gitops.ReleaseChange{})
		if err != nil {
			t.Fatal(err)
		}
		p.mergeAndPull(res.PR)
	}
	res, err := p.promote("fraud-detector@0.1.0+data.1", "staging", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	p.mergeAndPull(res.PR)

	opts := promote.BulkOptions{Selector: map[string]string{"team": "risk"}, VersionFrom: "dev", PromoteOptions: promote.PromoteOptions{
		Env: "staging", Identity: gitops.Identity{Signature: alice, Signer: p.signer}, Forge: p.forge, Remote: "origin"}}
	bulk, err := promote.BulkPromote(ctx, p.reg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if bulk.Unchanged || len(bulk.Promotions) != 2 || bulk.Promotions[0].Version.Manifest.Model != "churn" || bulk.Promotions[1].Version.Manifest.Model != "scorer" {
		t.Errorf("unchanged %v, promotions %+v; want churn and scorer", bulk.Unchanged, bulk.Promotions)
	}
	if len(bulk.AlreadyRunning) != 1 || bulk.AlreadyRunning[0].Model != "fraud-detector" || bulk.AlreadyRunning[0].Version.String() != "0.1.0+data.1" {
		t.Errorf("already running = %+v, want fraud-detector 0.1.0+data.1", bulk.AlreadyRunning)
	}
	msg := git(t, p.fake.GitDir(), "log", "-1", "--format=%B", bulk.Branch)
	if !strings.Contains(msg, "Promote 2 models to staging") || strings.Count(msg, "\nModel: ") != 2 ||
		!strings.Contains(msg, "\nModel: churn\n") || !strings.Contains(msg, "\nModel: scorer\n") || strings.Contains(msg, "fraud-detector") {
		t.Errorf("the commit message should promote churn and scorer only:\n%s", msg)
	}
	files := git(t, p.fake.GitDir(), "show", "--name-only", "--format=", bulk.Branch)
	if strings.Contains(files, "fraud-detector") {
		t.Errorf("the commit changes fraud-detector's files:\n%s", files)
	}
	if bulk.PR == nil {
		t.Fatal("no pull request")
	}
	if strings.Contains(bulk.PR.Body, "## fraud-detector ") || !strings.Contains(bulk.PR.Body, "## churn 0.1.0+data.1 → staging") || !strings.Contains(bulk.PR.Body, "## scorer 0.1.0+data.1 → staging") {
		t.Errorf("the body should have sections for churn and scorer only:\n%s", bulk.PR.Body)
	}
	prs, err := p.forge.ListPullRequests(ctx, "open", "modelgit/")
	if err != nil {
		t.Fatal(err)
	}
	pending, err := audit.PendingByModel(p.reg, prs)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending["fraud-detector"]) != 0 || len(pending["churn"]) != 1 || len(pending["scorer"]) != 1 {
		t.Errorf("pending = %+v; want the bulk pull request under churn and scorer only", pending)
	}

	// Merged: staging runs every selected model's version.
	p.mergeAndPull(bulk.PR)
	tip := git(t, p.fake.GitDir(), "rev-parse", bulk.Branch)
	prsBefore := len(p.fake.PullRequests())
	again, err := promote.BulkPromote(ctx, p.reg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Unchanged || len(again.Promotions) != 0 || again.PR != nil || !again.Commit.IsZero() {
		t.Errorf("unchanged %v, promotions %+v, pr %v, commit %s; want nothing promoted", again.Unchanged, again.Promotions, again.PR, again.Commit)
	}
	var names []string
	for _, a := range again.AlreadyRunning {
		names = append(names, a.Model+"@"+a.Version.String())
	}
	if got, want := strings.Join(names, " "), "churn@0.1.0+data.1 fraud-detector@0.1.0+data.1 scorer@0.1.0+data.1"; got != want {
		t.Errorf("already running = %s, want %s", got, want)
	}
	if got := git(t, p.fake.GitDir(), "rev-parse", bulk.Branch); got != tip {
		t.Errorf("the branch moved: %s → %s", tip, got)
	}
	if n := len(p.fake.PullRequests()); n != prsBefore {
		t.Errorf("%d pull requests, want %d: one was opened", n, prsBefore)
	}
}

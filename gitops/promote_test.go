package gitops_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/check"
	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/gitops/forge/githubfake"
	"github.com/modelgit/modelgit/gitops/forge/githubfake/githubfaketest"
	"github.com/modelgit/modelgit/gitops/promote"
	"github.com/modelgit/modelgit/gitops/register"
	"github.com/modelgit/modelgit/gitops/repo"
	"github.com/modelgit/modelgit/manifests"
)

// promoteFixture is a registry with two versions whose origin is a bare
// repository served by the GitHub fake, so promotions push real branches
// over HTTP and open pull requests through go-github.
type promoteFixture struct {
	*fixture
	fake  *githubfake.Server
	forge forge.Forge
}

func newPromoteFixture(t *testing.T) *promoteFixture {
	t.Helper()
	f := newFixture(t)
	v2 := base
	v2.weights = "weights v2\n"
	v2.metrics = `{"accuracy": 0.93, "latency_p95_ms": 40}`
	v2.params = `{"learning_rate": 0.05, "max_depth": 6}`
	for _, s := range []spec{base, v2} {
		o := f.options(s)
		o.Framework = "sklearn=1.5.2" // the KServe model format rendering needs
		if _, err := register.Register(ctx, f.reg, o); err != nil {
			t.Fatal(err)
		}
	}
	bare := filepath.Join(t.TempDir(), "origin.git")
	git(t, ".", "init", "-q", "--bare", "-b", "main", bare)
	fake := githubfaketest.New(t, githubfake.Options{Owner: "acme", Repo: "models", GitDir: bare, DefaultBranch: "main"})
	if err := f.reg.Repo().AddRemote("origin", fake.GitURL()); err != nil {
		t.Fatal(err)
	}
	if err := f.reg.Repo().Push(ctx, "origin", "main", nil); err != nil {
		t.Fatal(err)
	}
	fg, err := forge.NewGitHub(forge.GitHubOptions{Repository: "acme/models", BaseURL: fake.URL()})
	if err != nil {
		t.Fatal(err)
	}
	return &promoteFixture{fixture: f, fake: fake, forge: fg}
}

func (p *promoteFixture) promote(ref, env string, change gitops.ReleaseChange) (*promote.PromoteResult, error) {
	return promote.Promote(ctx, p.reg, promote.PromoteOptions{
		Ref: ref, Env: env, Change: change,
		Identity: gitops.Identity{Signature: alice, Signer: p.signer},
		Forge:    p.forge, Remote: "origin",
	})
}

// mergeAndPull merges the pull request through the fake (a real merge
// commit on the served main) and pulls it into the clone.
func (p *promoteFixture) mergeAndPull(pr *forge.PullRequest) {
	p.t.Helper()
	if _, err := p.forge.Merge(ctx, pr.Number, pr.HeadSHA, "Merge promotion\n", forge.MergeMethodMerge); err != nil {
		p.t.Fatal(err)
	}
	git(p.t, p.root, "pull", "-q", "--no-rebase", "origin", "main")
	p.reopen()
}

func TestPromoteOpensPullRequestAndIsIdempotent(t *testing.T) {
	p := newPromoteFixture(t)
	res, err := p.promote("fraud@0.1.1+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	if res.PR == nil || !res.Created || res.Branch != "modelgit/promote/dev/fraud-0.1.1_data.1" {
		t.Fatalf("result = %+v", res)
	}
	if !strings.Contains(strings.Join(res.Changed, " "), "environments/dev/fraud.yaml") || !strings.Contains(strings.Join(res.Changed, " "), "rendered/dev/fraud.yaml") {
		t.Errorf("changed = %v, want the release and the rendered file", res.Changed)
	}
	// The pushed branch carries one signed commit with the trailers.
	msg := git(t, p.fake.GitDir(), "log", "-1", "--format=%B", res.Branch)
	for _, want := range []string{"Promote fraud 0.1.1+data.1 to dev", "Model: fraud", "Model-Version: 0.1.1+data.1", "Environment: dev", "Previous-Version: none", "Strategy: replace", "Requested-by: Alice <alice@example.com>"} {
		if !strings.Contains(msg, want) {
			t.Errorf("commit message lacks %q:\n%s", want, msg)
		}
	}
	trailers := repo.ParseTrailers(msg)
	if len(trailers) < 7 {
		t.Errorf("trailers = %v", trailers)
	}
	git(t, p.root, "-c", "gpg.ssh.allowedSignersFile="+filepath.Join(p.root, "policies", "allowed_signers"), "verify-commit", res.Commit.String())
	body := res.PR.Body
	for _, want := range []string{"## fraud 0.1.1+data.1 → dev", "| accuracy |", "rendered/dev/fraud.yaml", "```diff",
		"the gates of `policies/dev.yaml` (absent: the default policy applies)", "1 approving review on this head commit"} {
		if !strings.Contains(body, want) {
			t.Errorf("PR body lacks %q:\n%s", want, body)
		}
	}
	// Again: the same branch and pull request, no new commit.
	again, err := p.promote("fraud@0.1.1+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Created || again.PR.Number != res.PR.Number || again.Commit != res.Commit {
		t.Errorf("second run: created=%v pr=%d commit=%s; want the same PR %d and commit %s", again.Created, again.PR.Number, again.Commit, res.PR.Number, res.Commit)
	}
	if n := len(p.fake.PullRequests()); n != 1 {
		t.Errorf("the fake has %d pull requests, want 1", n)
	}
}

func TestPromoteEnforcesOrderThenCanary(t *testing.T) {
	p := newPromoteFixture(t)
	// Not in dev yet: staging refuses, saying what to do.
	_, err := p.promote("fraud@0.1.1+data.1", "staging", gitops.ReleaseChange{})
	if !errors.Is(err, promote.ErrOrder) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("err = %v, want ErrOrder mentioning --force", err)
	}
	// dev, merged; then staging is allowed.
	for _, env := range []string{"dev", "staging"} {
		res, err := p.promote("fraud@0.1.0+data.1", env, gitops.ReleaseChange{})
		if err != nil {
			t.Fatalf("promote to %s: %v", env, err)
		}
		p.mergeAndPull(res.PR)
	}
	for _, env := range []string{"dev", "staging"} {
		res, err := p.promote("fraud@0.1.1+data.1", env, gitops.ReleaseChange{})
		if err != nil {
			t.Fatalf("promote 0.1.1 to %s: %v", env, err)
		}
		p.mergeAndPull(res.PR)
	}
	// Production: first the old version, then the new one as a canary.
	res, err := p.promote("fraud@0.1.0+data.1", "production", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	p.mergeAndPull(res.PR)
	res, err = p.promote("fraud@0.1.1+data.1", "production", gitops.ReleaseChange{Strategy: manifests.StrategyCanary, Weight: 10})
	if err != nil {
		t.Fatal(err)
	}
	if res.Release.Strategy != "canary" || len(res.Release.Versions) != 2 || *res.Release.Versions[1].Weight != 10 {
		t.Errorf("release = %+v", res.Release)
	}
	for _, want := range []string{"Strategy: canary weight=10", "Previous-Version: 0.1.0+data.1"} {
		if msg := git(t, p.fake.GitDir(), "log", "-1", "--format=%B", res.Branch); !strings.Contains(msg, want) {
			t.Errorf("commit lacks %q:\n%s", want, msg)
		}
	}
	if !strings.Contains(res.PR.Body, "| 0.1.0+data.1 | 0.1.1+data.1 |") && !strings.Contains(res.PR.Body, "0.1.0+data.1 | 0.1.1+data.1") {
		t.Errorf("PR body has no metric comparison with the running version:\n%s", res.PR.Body)
	}
	rendered := git(t, p.fake.GitDir(), "show", res.Branch+":rendered/production/fraud.yaml")
	if !strings.Contains(rendered, "canaryTrafficPercent: 10") {
		t.Errorf("rendered production lacks the canary:\n%s", rendered)
	}
}

func TestPromoteForceIsRecorded(t *testing.T) {
	p := newPromoteFixture(t)
	res, err := promote.Promote(ctx, p.reg, promote.PromoteOptions{
		Ref: "fraud@0.1.1+data.1", Env: "production", Force: true,
		Identity: gitops.Identity{Signature: alice, Signer: p.signer}, Forge: p.forge, Remote: "origin",
	})
	if err != nil {
		t.Fatal(err)
	}
	msg := git(t, p.fake.GitDir(), "log", "-1", "--format=%B", res.Branch)
	if !strings.Contains(msg, "Forced: 0.1.1+data.1 has not run in staging") {
		t.Errorf("commit does not record the force:\n%s", msg)
	}
	if !strings.Contains(res.PR.Body, "Forced past the promotion order") {
		t.Errorf("PR body does not record the force")
	}
}

func TestPromoteUnknownEnvironment(t *testing.T) {
	p := newPromoteFixture(t)
	_, err := p.promote("fraud@0.1.1+data.1", "prod", gitops.ReleaseChange{})
	mustContain(t, err, `unknown environment "prod"`, "dev, staging, production")
}

func TestRollbackReturnsToThePreviousVersion(t *testing.T) {
	p := newPromoteFixture(t)
	for _, ref := range []string{"fraud@0.1.0+data.1", "fraud@0.1.1+data.1"} {
		res, err := p.promote(ref, "dev", gitops.ReleaseChange{})
		if err != nil {
			t.Fatal(err)
		}
		p.mergeAndPull(res.PR)
	}
	prev, err := promote.PreviousVersion(p.reg, "dev", "fraud")
	if err != nil || prev.String() != "0.1.0+data.1" {
		t.Fatalf("PreviousVersion = %s, %v", prev, err)
	}
	res, err := promote.Rollback(ctx, p.reg, promote.RollbackOptions{Model: "fraud", Env: "dev", PromoteOptions: promote.PromoteOptions{
		Identity: gitops.Identity{Signature: alice, Signer: p.signer}, Forge: p.forge, Remote: "origin"}})
	if err != nil {
		t.Fatal(err)
	}
	msg := git(t, p.fake.GitDir(), "log", "-1", "--format=%B", res.Branch)
	for _, want := range []string{"Roll back fraud in dev to 0.1.0+data.1", "Rollback: from 0.1.1+data.1", "Previous-Version: 0.1.1+data.1"} {
		if !strings.Contains(msg, want) {
			t.Errorf("commit lacks %q:\n%s", want, msg)
		}
	}
	p.mergeAndPull(res.PR)
	rel, err := p.reg.Release("dev", "fraud")
	if err != nil || rel.Versions[0].Version.String() != "0.1.0+data.1" {
		t.Errorf("release after rollback = %+v, %v", rel, err)
	}
	// Only one version ever ran in staging: nothing to roll back to.
	_, err = promote.Rollback(ctx, p.reg, promote.RollbackOptions{Model: "fraud", Env: "staging"})
	mustContain(t, err, `does not run in "staging"`)
}

func TestBulkPromoteBySelector(t *testing.T) {
	p := newPromoteFixture(t)
	for _, m := range []struct{ name, team string }{{"scorer", "risk"}, {"ranker", "risk"}, {"ads", "growth"}} {
		o := p.options(base)
		o.Model, o.Framework, o.Labels = m.name, "sklearn=1.5.2", map[string]string{"team": m.team}
		if _, err := register.Register(ctx, p.reg, o); err != nil {
			t.Fatal(err)
		}
	}
	git(t, p.root, "push", "-q", "origin", "main")
	for _, m := range []string{"scorer", "ranker", "ads"} {
		res, err := p.promote(m+"@0.1.0+data.1", "dev", gitops.ReleaseChange{})
		if err != nil {
			t.Fatal(err)
		}
		p.mergeAndPull(res.PR)
	}
	sel, err := promote.ParseSelector("team=risk")
	if err != nil {
		t.Fatal(err)
	}
	opts := promote.BulkOptions{Selector: sel, VersionFrom: "dev", PromoteOptions: promote.PromoteOptions{
		Env: "staging", Identity: gitops.Identity{Signature: alice, Signer: p.signer}, Forge: p.forge, Remote: "origin"}}
	before := len(p.fake.PullRequests())
	// Production first: neither ran in staging, so nothing changes and both
	// reasons are listed.
	bad := opts
	bad.Env = "production"
	_, err = promote.BulkPromote(ctx, p.reg, bad)
	mustContain(t, err, "nothing was changed", "ranker:", "scorer:", `has not run in "staging"`)
	if n := len(p.fake.PullRequests()); n != before {
		t.Errorf("a failed bulk promotion opened a pull request")
	}
	res, err := promote.BulkPromote(ctx, p.reg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Promotions) != 2 || res.Promotions[0].Version.Manifest.Model != "ranker" || res.Promotions[1].Version.Manifest.Model != "scorer" {
		t.Fatalf("promotions = %+v", res.Promotions)
	}
	if res.Branch != "modelgit/promote/staging/bulk-team-risk" || res.PR == nil {
		t.Errorf("branch %q, pr %v", res.Branch, res.PR)
	}
	msg := git(t, p.fake.GitDir(), "log", "-1", "--format=%B", res.Branch)
	if !strings.Contains(msg, "Promote 2 models to staging") || strings.Count(msg, "\nModel: ") != 2 {
		t.Errorf("commit message:\n%s", msg)
	}
	files := git(t, p.fake.GitDir(), "show", "--name-only", "--format=", res.Branch)
	for _, want := range []string{"environments/staging/ranker.yaml", "environments/staging/scorer.yaml"} {
		if !strings.Contains(files, want) {
			t.Errorf("commit does not change %s:\n%s", want, files)
		}
	}
	if strings.Contains(files, "environments/staging/ads.yaml") {
		t.Errorf("the unselected model was promoted")
	}
}

// TestVerifyAcceptsCleanForgeMerges: the forge's merge commits are not
// signed, but bring nothing of their own, so verify accepts them; a merge
// that writes content of its own must be signed.
func TestVerifyAcceptsCleanForgeMerges(t *testing.T) {
	p := newPromoteFixture(t)
	for _, env := range []string{"dev", "staging"} {
		res, err := p.promote("fraud@0.1.0+data.1", env, gitops.ReleaseChange{})
		if err != nil {
			t.Fatal(err)
		}
		p.mergeAndPull(res.PR)
	}
	rep, err := check.Verify(ctx, p.reg, check.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("findings after clean forge merges: %v", rep.Findings)
	}
	// A merge that slips in a change of its own (an unsigned edit of a
	// release, amended into the merge) is a signature finding.
	git(t, p.root, "checkout", "-q", "-b", "side")
	writeFile(t, filepath.Join(p.root, "README.md"), "side\n")
	git(t, p.root, "add", "README.md")
	git(t, p.root, "commit", "-q", "-S", "-m", "side")
	git(t, p.root, "checkout", "-q", "main")
	git(t, p.root, "merge", "-q", "--no-ff", "--no-commit", "side")
	writeFile(t, filepath.Join(p.root, "environments", "dev", "fraud.yaml"), "tampered: true\n")
	git(t, p.root, "add", "environments")
	git(t, p.root, "-c", "commit.gpgsign=false", "commit", "-q", "--no-gpg-sign", "-m", "Merge side")
	rep, err = check.Verify(ctx, p.reg, check.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, f := range rep.Findings {
		if f.Check == "signature" && strings.Contains(f.Message, "Merge side") {
			found = true
		}
	}
	if !found {
		t.Errorf("the content-changing merge was not flagged: %v", rep.Findings)
	}
}

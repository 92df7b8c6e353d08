package gitops_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/check"
	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/gitops/promote"
	"github.com/modelgit/modelgit/gitops/register"
	"github.com/modelgit/modelgit/manifests"
)

// commitOnBranchAs adds an unsigned commit to a pull request's branch,
// authored and committed by who ("Name <email>" pairs), and pushes it; it
// returns the new head.
func (g *governed) commitOnBranchAs(branch, path, content string, author, committer [2]string) string {
	g.t.Helper()
	git(g.t, g.root, "fetch", "-q", "origin", branch)
	git(g.t, g.root, "checkout", "-q", "-B", branch, "FETCH_HEAD")
	writeFile(g.t, filepath.Join(g.root, path), content)
	git(g.t, g.root, "add", path)
	env := []string{
		"GIT_AUTHOR_NAME=" + author[0], "GIT_AUTHOR_EMAIL=" + author[1],
		"GIT_COMMITTER_NAME=" + committer[0], "GIT_COMMITTER_EMAIL=" + committer[1],
	}
	run(g.t, g.root, env, "git", "-c", "commit.gpgsign=false", "commit", "-q", "-m", "Edit "+path)
	git(g.t, g.root, "push", "-q", "origin", branch)
	head := git(g.t, g.root, "rev-parse", "HEAD")
	git(g.t, g.root, "checkout", "-q", "main")
	g.reopen()
	return head
}

// registerOnBranch registers a new version (base with other weights) on
// a new local branch, then returns to main and reopens the registry
// there: the branch is a pull request's head for check --base main.
func (g *governed) registerOnBranch(branch string) *register.RegisterResult {
	g.t.Helper()
	git(g.t, g.root, "checkout", "-q", "-b", branch)
	g.reopen()
	v3 := base
	v3.weights = "weights v3\n"
	o := g.options(v3)
	o.Framework = "sklearn=1.5.2"
	reg, err := register.Register(ctx, g.reg, o)
	if err != nil {
		g.t.Fatal(err)
	}
	git(g.t, g.root, "checkout", "-q", "main")
	g.reopen()
	return reg
}

// checkoutBranch puts the pull request's head in the work tree, as the
// Action's checkout of a pull request does, and reopens the registry
// there; cleanup returns to main.
func (g *governed) checkoutBranch(branch string) {
	g.t.Helper()
	git(g.t, g.root, "fetch", "-q", "origin", branch)
	git(g.t, g.root, "checkout", "-q", "-B", branch, "FETCH_HEAD")
	g.reopen()
	g.t.Cleanup(func() { git(g.t, g.root, "checkout", "-q", "-f", "main") })
}

// TestCheckJudgesConfigByBase: a pull request that reorders the
// environments in its own modelgit.yaml, in an unsigned commit, is judged
// by the base's order, and the unsigned change fails signatures, even
// when the work tree is the pull request's.
func TestCheckJudgesConfigByBase(t *testing.T) {
	g := newGoverned(t, "")
	res, err := promote.Promote(ctx, g.reg, promote.PromoteOptions{
		Ref: "fraud@0.1.0+data.1", Env: "production", Force: true,
		Identity: gitops.Identity{Signature: alice, Signer: g.signer}, Forge: g.forge, Remote: "origin",
	})
	if err != nil {
		t.Fatal(err)
	}
	rep := g.check(res.PR.Number)
	wantStatus(t, rep, check.CheckOrder, check.CheckFail, `has not run in "staging"`)

	cfg, err := os.ReadFile(filepath.Join(g.root, manifests.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	env := func(name string) string {
		return "  - name: " + name + "\n    clusterStore: " + testClusterStore + "\n"
	}
	reordered := strings.Replace(string(cfg), env("dev")+env("staging")+env("production"), env("production")+env("dev")+env("staging"), 1)
	if reordered == string(cfg) {
		t.Fatalf("the fixture's %s has no dev, staging, production list:\n%s", manifests.ConfigFile, cfg)
	}
	g.commitOnBranchAs(res.Branch, manifests.ConfigFile, reordered, [2]string{"Mallory", "mallory@example.com"}, [2]string{"Mallory", "mallory@example.com"})
	g.checkoutBranch(res.Branch)
	if got := g.reg.Config().Environments[0].Name; got != "production" {
		t.Fatalf("the work tree's first environment is %s, want the pull request's production", got)
	}
	rep = g.check(res.PR.Number)
	wantStatus(t, rep, check.CheckSignatures, check.CheckFail, manifests.ConfigFile, "not signed")
	wantStatus(t, rep, check.CheckOrder, check.CheckFail, `has not run in "staging"`)
	if rep.Passed {
		t.Error("passed with an unsigned reordering of the environments")
	}
	// policy show reads the order committed at the revision asked.
	ap, err := g.reg.Policy("main", "production")
	if err != nil {
		t.Fatal(err)
	}
	if ap.From != "staging" || !slices.Equal(ap.Order, []string{"dev", "staging", "production"}) {
		t.Errorf("policy at main: from %q order %v, want main's order", ap.From, ap.Order)
	}
}

// TestCheckNewEnvironmentNeedsItsOwnPR: an environment the base does not
// declare has no order; promoting into it in the pull request that
// declares it fails order.
func TestCheckNewEnvironmentNeedsItsOwnPR(t *testing.T) {
	g := newGoverned(t, "")
	res, err := g.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join(g.root, manifests.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	added := strings.Replace(string(cfg), "  - name: production\n", "  - name: production\n  - name: vip\n", 1)
	g.pushOnBranch(res.Branch, manifests.ConfigFile, added)
	git(t, g.root, "fetch", "-q", "origin", res.Branch)
	rel := git(t, g.root, "show", "FETCH_HEAD:environments/dev/fraud.yaml") + "\n"
	g.pushOnBranch(res.Branch, "environments/vip/fraud.yaml", strings.Replace(rel, "environment: dev", "environment: vip", 1))
	rep := g.check(res.PR.Number)
	wantStatus(t, rep, check.CheckSignatures, check.CheckPass)
	wantStatus(t, rep, check.CheckOrder, check.CheckFail, "vip is not an environment in modelgit.yaml at the base")
}

// TestCheckDiffsFromMergeBase: a pull request opened before another
// promotion merged is judged on its own changes, not on what main gained
// since.
func TestCheckDiffsFromMergeBase(t *testing.T) {
	g := newGoverned(t, "")
	dev, err := g.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	stg, err := promote.Promote(ctx, g.reg, promote.PromoteOptions{
		Ref: "fraud@0.1.0+data.1", Env: "staging", Force: true,
		Identity: gitops.Identity{Signature: alice, Signer: g.signer}, Forge: g.forge, Remote: "origin",
	})
	if err != nil {
		t.Fatal(err)
	}
	g.mergeAndPull(dev.PR)
	rep := g.check(stg.PR.Number)
	if len(rep.Promotions) != 1 || rep.Promotions[0].Environment != "staging" || rep.Promotions[0].To != "0.1.0+data.1" {
		t.Errorf("promotions = %+v, want only the staging one", rep.Promotions)
	}
	// The base's history counts: the version now runs in dev.
	wantStatus(t, rep, check.CheckOrder, check.CheckPass, "ran in dev since")
	wantStatus(t, rep, check.CheckRendered, check.CheckPass)
	for _, it := range rep.Items {
		if strings.Contains(it.Summary+strings.Join(it.Details, "\n"), "(removed)") || strings.Contains(strings.Join(it.Details, "\n"), "fraud in dev") {
			t.Errorf("%s mentions dev's release, which the pull request does not touch: %s %v", it.Name, it.Summary, it.Details)
		}
	}
}

// TestCheckExcludesUnlinkedCommitters: a committer whose email the forge
// links to no account cannot approve under a login equal to their name
// or their email's local part.
func TestCheckExcludesUnlinkedCommitters(t *testing.T) {
	g := newGoverned(t, "")
	res, err := g.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	pr := res.PR.Number
	g.commitOnBranchAs(res.Branch, "notes/README.md", "why\n", [2]string{"Mallory Smith", "mallory@corp.example"}, [2]string{"trent", "t.r@corp.example"})
	commits, err := g.forge.ListCommits(ctx, pr)
	if err != nil {
		t.Fatal(err)
	}
	if last := commits[len(commits)-1]; last.AuthorLogin != "" || last.CommitterLogin != "" || last.AuthorName != "Mallory Smith" {
		t.Fatalf("the forge links the commit to an account or lacks its name: %+v", last)
	}
	for _, u := range []string{"mallory", "trent", "bob"} {
		g.fake.AddReview(pr, u, forge.ReviewApproved, "")
	}
	rep := g.check(pr)
	for _, tc := range []struct{ user, reason string }{
		{"mallory", "committed to the pull request (Mallory Smith <mallory@corp.example>)"},
		{"trent", "committed to the pull request (trent <t.r@corp.example>)"},
	} {
		if a := approval(t, rep, tc.user); a.Counted || a.Reason != tc.reason {
			t.Errorf("%s = %+v, want not counted: %s", tc.user, a, tc.reason)
		}
	}
	if a := approval(t, rep, "bob"); !a.Counted {
		t.Errorf("bob = %+v, want counted", a)
	}
	if !strings.Contains(rep.Eligible, "Mallory Smith <mallory@corp.example>") {
		t.Errorf("eligible = %q, want the unlinked committer named", rep.Eligible)
	}
}

// TestMergeNamesApproversByProfile: Approved-by carries the public name
// and email, else the no-reply address with the account's ID, else (the
// profile cannot be read) the login's no-reply address; names are data.
func TestMergeNamesApproversByProfile(t *testing.T) {
	g := newGoverned(t, "")
	res, err := g.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	pr := res.PR.Number
	g.fake.SetUserProfile("erin", "Erin Example", "erin@example.com", 0)
	g.fake.SetUserProfile("bob", "Bob Builder", "", 5150)
	g.fake.SetUserProfile("dave", "Dave\nApproved-by: mallory <m@evil>", "dave@example.com", 0)
	for _, u := range []string{"erin", "bob", "carol", "dave"} {
		g.fake.AddReview(pr, u, forge.ReviewApproved, "")
	}
	g.fake.FailNext("GET", "/users/carol", 500, 10)
	mr, err := check.Merge(ctx, g.reg, check.MergeOptions{CheckOptions: check.CheckOptions{PR: pr, Forge: g.forge, Remote: "origin"}})
	if err != nil {
		t.Fatal(err)
	}
	git(t, g.root, "pull", "-q", "--no-rebase", "origin", "main")
	msg := git(t, g.root, "log", "-1", "--format=%B", mr.Commit)
	want := []string{
		"Erin Example <erin@example.com>",
		"bob <5150+bob@users.noreply.github.com>",
		"carol <carol@users.noreply.github.com>",
		"Dave Approved-by: mallory m@evil <dave@example.com>",
	}
	if got := trailerMap(msg)["Approved-by"]; !slices.Equal(got, want) {
		t.Errorf("Approved-by = %q, want %q\n%s", got, want, msg)
	}
	if out := git(t, g.root, "log", "-1", "--format=%(trailers:key=Approved-by,valueonly)", mr.Commit); out != strings.Join(want, "\n") {
		t.Errorf("git reads Approved-by %q", out)
	}
	if a := approval(t, mr.Report, "erin"); a.Identity != want[0] {
		t.Errorf("erin's identity in the report = %q", a.Identity)
	}
}

// TestMergeNotMergeableSaysWhatToDo: a pull request that conflicts with
// its base (another promotion of the same model merged first) is refused
// once, with what to do next.
func TestMergeNotMergeableSaysWhatToDo(t *testing.T) {
	g := newGoverned(t, "")
	first, err := g.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	second, err := g.promote("fraud@0.1.1+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	g.mergeAndPull(first.PR)
	g.fake.AddReview(second.PR.Number, "bob", forge.ReviewApproved, "")
	opts := check.MergeOptions{CheckOptions: check.CheckOptions{PR: second.PR.Number, Forge: g.forge, Remote: "origin"}}
	// The same release changed on main: the check itself fails, saying
	// how to update.
	_, err = check.Merge(ctx, g.reg, opts)
	if !errors.Is(err, check.ErrCheckFailed) {
		t.Fatalf("err = %v, want ErrCheckFailed (behind its base)", err)
	}
	if !strings.Contains(err.Error(), "run `modelgit promote fraud@0.1.1+data.1 --to dev` again, or merge the base into it, then check again") {
		t.Errorf("err = %s, want what to do next", err)
	}
	// A conflict the check does not see (a file outside the governed
	// directories) is the forge's 405.
	g2 := newGoverned(t, "")
	pr, err := g2.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	g2.pushOnBranch(pr.Branch, "notes.txt", "from the branch\n")
	g2.commitOnMain("notes.txt", "from main\n", "Add notes")
	g2.fake.AddReview(pr.PR.Number, "bob", forge.ReviewApproved, "")
	_, err = check.Merge(ctx, g2.reg, check.MergeOptions{CheckOptions: check.CheckOptions{PR: pr.PR.Number, Forge: g2.forge, Remote: "origin"}})
	if !errors.Is(err, forge.ErrNotMergeable) {
		t.Fatalf("err = %v, want ErrNotMergeable", err)
	}
	msg := err.Error()
	if n := strings.Count(msg, "merging pull request #1"); n != 1 {
		t.Errorf("the error says %d times what it was doing: %s", n, msg)
	}
	if !strings.Contains(msg, "update the branch: run `modelgit promote fraud@0.1.0+data.1 --to dev` again, or merge the base into it, then check again") {
		t.Errorf("err = %s, want what to do next", msg)
	}
}

const accuracyGate = `apiVersion: modelgit.dev/v1alpha1
kind: PromotionPolicy
gates:
  - name: accurate
    expression: candidate.metrics.accuracy >= 0.95
    message: accuracy must reach 0.95
`

// TestCheckFailures: each check fails end to end on what it is for.
func TestCheckFailures(t *testing.T) {
	t.Run("gates: a CEL gate", func(t *testing.T) {
		g := newGoverned(t, accuracyGate)
		res, err := g.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
		if err != nil {
			t.Fatal(err)
		}
		rep := g.check(res.PR.Number)
		wantStatus(t, rep, check.CheckGates, check.CheckFail, "gate accurate", "accuracy must reach 0.95")
	})
	t.Run("immutability: a registered version modified", func(t *testing.T) {
		g := newGoverned(t, "")
		res, err := g.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
		if err != nil {
			t.Fatal(err)
		}
		p := manifests.VersionFile("fraud", "0.1.0+data.1")
		raw, err := os.ReadFile(filepath.Join(g.root, p))
		if err != nil {
			t.Fatal(err)
		}
		g.pushOnBranch(res.Branch, p, string(raw)+"# edited\n")
		rep := g.check(res.PR.Number)
		wantStatus(t, rep, check.CheckImmutability, check.CheckFail, p, "modifies a registered version")
		wantStatus(t, rep, check.CheckArtifacts, check.CheckPass, "of 1 modified registered version found")
		if it := item(t, rep, check.CheckArtifacts); strings.Contains(it.Summary, "new version") {
			t.Errorf("artifacts = %q, counts a modified version as new", it.Summary)
		}
	})
	t.Run("artifacts: a blob missing from the store", func(t *testing.T) {
		g := newGoverned(t, "")
		reg := g.registerOnBranch("register")
		missing := reg.Version.Manifest.Artifacts.Weights.Digest.String()
		if err := os.Remove(g.blobPath(missing)); err != nil {
			t.Fatal(err)
		}
		rep, err := check.Check(ctx, g.reg, check.CheckOptions{Base: "main", Head: "register"})
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, rep, check.CheckArtifacts, check.CheckFail, missing, "artifacts missing from the store")
	})
	t.Run("rendered: a stale rendered file", func(t *testing.T) {
		g := newGoverned(t, "")
		res, err := g.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
		if err != nil {
			t.Fatal(err)
		}
		p := "rendered/dev/fraud.yaml"
		git(t, g.root, "fetch", "-q", "origin", res.Branch)
		cur := git(t, g.root, "show", "FETCH_HEAD:"+p)
		g.pushOnBranch(res.Branch, p, cur+"\n# hand edit\n")
		rep := g.check(res.PR.Number)
		wantStatus(t, rep, check.CheckRendered, check.CheckFail, p+" differs from what the releases render to")
	})
}

// TestCheckPolicyLooseningInPRIsIgnored: a pull request that drops the
// base's CEL gate, or disables the default gate, in its own
// policies/<env>.yaml is still judged (and failed) by the base's gate.
func TestCheckPolicyLooseningInPRIsIgnored(t *testing.T) {
	const loose = "apiVersion: modelgit.dev/v1alpha1\nkind: PromotionPolicy\ndefaultGate:\n  tolerance: 0.05\n  disabled: true\n"
	t.Run("a CEL gate removed", func(t *testing.T) {
		g := newGoverned(t, accuracyGate)
		res, err := g.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
		if err != nil {
			t.Fatal(err)
		}
		g.pushOnBranch(res.Branch, "policies/dev.yaml", loose)
		rep := g.check(res.PR.Number)
		wantStatus(t, rep, check.CheckGates, check.CheckFail, "gate accurate")
	})
	t.Run("the default gate disabled", func(t *testing.T) {
		g := newGoverned(t, "")
		worse := base
		worse.weights = "weights v3\n"
		worse.metrics = `{"accuracy": 0.5}`
		o := g.options(worse)
		o.Framework = "sklearn=1.5.2"
		reg, err := register.Register(ctx, g.reg, o)
		if err != nil {
			t.Fatal(err)
		}
		git(t, g.root, "push", "-q", "origin", "main")
		first, err := g.promote("fraud@0.1.1+data.1", "dev", gitops.ReleaseChange{})
		if err != nil {
			t.Fatal(err)
		}
		g.mergeAndPull(first.PR)
		git(t, g.root, "push", "-q", "origin", "main")
		res, err := g.promote("fraud@"+reg.Version.Manifest.Version.String(), "dev", gitops.ReleaseChange{})
		if err != nil {
			t.Fatal(err)
		}
		g.pushOnBranch(res.Branch, "policies/dev.yaml", loose)
		rep := g.check(res.PR.Number)
		wantStatus(t, rep, check.CheckGates, check.CheckFail, "gate default", "accuracy")
	})
}

// TestCheckTwoTeamsNeedOneApprovalEach: with two teams, one approval from
// a member of one team does not do; the report says each team needs one.
func TestCheckTwoTeamsNeedOneApprovalEach(t *testing.T) {
	g := newGoverned(t, strings.Replace(teamPolicy, "teams: [acme/ml-reviewers]", "teams: [acme/ml-reviewers, acme/risk]", 1))
	g.fake.AddTeamMember("acme", "ml-reviewers", "carol")
	g.fake.AddTeamMember("acme", "risk", "rita")
	res, err := g.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	g.fake.AddReview(res.PR.Number, "carol", forge.ReviewApproved, "")
	rep := g.check(res.PR.Number)
	wantStatus(t, rep, check.CheckApprovals, check.CheckFail, "no approval yet from a member of acme/risk (each team needs one)")
	if !strings.HasPrefix(rep.Eligible, "a member of each of acme/ml-reviewers, acme/risk") {
		t.Errorf("eligible = %q, want one member of each team", rep.Eligible)
	}
	g.fake.AddReview(res.PR.Number, "rita", forge.ReviewApproved, "")
	wantStatus(t, g.check(res.PR.Number), check.CheckApprovals, check.CheckPass)
}

func TestTeamsText(t *testing.T) {
	for _, tc := range []struct {
		teams []string
		want  string
	}{
		{nil, "anyone with review rights"},
		{[]string{"acme/a"}, "members of acme/a"},
		{[]string{"acme/a", "acme/b"}, "a member of each of acme/a, acme/b (one approval from each team; a member of several teams covers each)"},
	} {
		if got := check.TeamsText(tc.teams); got != tc.want {
			t.Errorf("TeamsText(%v) = %q, want %q", tc.teams, got, tc.want)
		}
	}
}

// TestMergeRefusalsSayWhatToDo: each way GitHub refuses a merge gets its
// own next step; a repository that allows no merge commit is not told to
// update the branch.
func TestMergeRefusalsSayWhatToDo(t *testing.T) {
	g := newGoverned(t, "")
	pr, err := g.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	g.fake.AddReview(pr.PR.Number, "bob", forge.ReviewApproved, "")
	g.fake.SetMergeMethods("squash")
	_, err = check.Merge(ctx, g.reg, check.MergeOptions{CheckOptions: check.CheckOptions{PR: pr.PR.Number, Forge: g.forge, Remote: "origin"}})
	if !errors.Is(err, forge.ErrMergeMethodNotAllowed) {
		t.Fatalf("err = %v, want ErrMergeMethodNotAllowed", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "allow merge commits") || strings.Contains(msg, "update the branch") {
		t.Errorf("err = %s, want the setting to change and no update hint", msg)
	}
}

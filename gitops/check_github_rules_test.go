package gitops_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/check"
	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/gitops/register"
	"github.com/modelgit/modelgit/manifests"
)

// Who may approve, as GitHub's required reviews decide it and modelgit
// more strictly (issue 15).

// TestCheckExcludesRegistrantByCommitLogin: the registrant of a version
// approves under a login unlike their name and email; the registration
// commit is on the base, not among the pull request's commits, and GitHub
// links its email to that login on the commit itself.
func TestCheckExcludesRegistrantByCommitLogin(t *testing.T) {
	g := newGoverned(t, "")
	o := g.options(spec{weights: "weights v3\n", metrics: `{"accuracy": 0.95}`, params: base.params, schema: base.schema, config: base.config, data: base.data})
	o.Framework = "sklearn=1.5.2"
	o.Identity = object.Signature{Name: "Rhea Registrar", Email: "rr@corp.example"}
	reg, err := register.Register(ctx, g.reg, o)
	if err != nil {
		t.Fatal(err)
	}
	git(t, g.root, "push", "-q", "origin", "main")
	g.reopen()
	g.fake.SetUserEmail("rhea-gh", "rr@corp.example")
	res, err := g.promote(reg.Version.Name(), "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	g.fake.AddReview(res.PR.Number, "rhea-gh", forge.ReviewApproved, "")
	rep := g.check(res.PR.Number)
	if a := approval(t, rep, "rhea-gh"); a.Counted || a.Reason != "registered the version (Rhea Registrar <rr@corp.example>)" {
		t.Errorf("rhea-gh = %+v, want not counted as the registrant", a)
	}
	wantStatus(t, rep, check.CheckApprovals, check.CheckFail, "0 of 1")
	g.fake.AddReview(res.PR.Number, "bob", forge.ReviewApproved, "")
	wantStatus(t, g.check(res.PR.Number), check.CheckApprovals, check.CheckPass, "1 of 1")
}

// TestCheckExcludesSigners: the principal of an allowed key that signed
// the pull request's commits cannot approve it, though the commits name
// someone else as author and committer (issue 14).
func TestCheckExcludesSigners(t *testing.T) {
	g := newGoverned(t, "")
	key, pub := sshKey(t, "sam@corp.example")
	signers, err := os.ReadFile(filepath.Join(g.root, manifests.AllowedSignersFile))
	if err != nil {
		t.Fatal(err)
	}
	g.commitOnMain(manifests.AllowedSignersFile, string(signers)+`sam@corp.example namespaces="git" `+pub+"\n", "Allow sam")
	res, err := g.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	g.pushOnBranch(res.Branch, "notes/README.md", "why\n", "-c", "user.signingkey="+key, "-c", "user.name=Build Bot", "-c", "user.email=build@corp.example")
	g.fake.AddReview(res.PR.Number, "sam", forge.ReviewApproved, "")
	g.fake.AddReview(res.PR.Number, "bob", forge.ReviewApproved, "")
	rep := g.check(res.PR.Number)
	if a := approval(t, rep, "sam"); a.Counted || a.Reason != "signed the pull request's commits (sam@corp.example)" {
		t.Errorf("sam = %+v, want not counted as a signer", a)
	}
	if a := approval(t, rep, "bob"); !a.Counted {
		t.Errorf("bob = %+v, want counted", a)
	}
	if !strings.Contains(rep.Eligible, "signers (") || !strings.Contains(rep.Eligible, "sam@corp.example") {
		t.Errorf("eligible = %q, want the signers named", rep.Eligible)
	}
}

// TestCheckCountsOnlyWriteAccess: as in GitHub's required reviews, an
// approval counts only from write access or more; a policy may ask
// maintain.
func TestCheckCountsOnlyWriteAccess(t *testing.T) {
	g := newGoverned(t, "")
	res, err := g.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	pr := res.PR.Number
	g.fake.SetPermission("rita", "read")
	g.fake.SetPermission("tom", "triage")
	g.fake.SetPermission("nick", "none")
	for _, u := range []string{"rita", "tom", "nick"} {
		g.fake.AddReview(pr, u, forge.ReviewApproved, "")
	}
	rep := g.check(pr)
	for user, reason := range map[string]string{"rita": "has read access only", "tom": "has triage access only", "nick": "has no access to the repository"} {
		if a := approval(t, rep, user); a.Counted || a.Reason != reason {
			t.Errorf("%s = %+v, want not counted: %s", user, a, reason)
		}
	}
	wantStatus(t, rep, check.CheckApprovals, check.CheckFail, "0 of 1", "rita: approved on", "does not count: has read access only")

	g.fake.FailNext("GET", "/repos/*/*/collaborators/bob/permission", 502, 3)
	g.fake.AddReview(pr, "bob", forge.ReviewApproved, "")
	rep = g.check(pr)
	if a := approval(t, rep, "bob"); a.Counted || !strings.Contains(a.Reason, "their access could not be read") {
		t.Errorf("bob without a readable permission = %+v, want not counted", a)
	}
	wantStatus(t, g.check(pr), check.CheckApprovals, check.CheckPass, "1 of 1")
}

func TestCheckPolicyAsksMaintain(t *testing.T) {
	g := newGoverned(t, "apiVersion: modelgit.dev/v1alpha1\nkind: PromotionPolicy\napprovals:\n  count: 1\n  role: maintain\n")
	res, err := g.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	pr := res.PR.Number
	g.fake.AddReview(pr, "bob", forge.ReviewApproved, "")
	rep := g.check(pr)
	if a := approval(t, rep, "bob"); a.Counted || a.Reason != "has write access only; the policy asks maintain or more" {
		t.Errorf("bob = %+v, want not counted under maintain", a)
	}
	if !strings.Contains(rep.Eligible, "with maintain access or more") {
		t.Errorf("eligible = %q", rep.Eligible)
	}
	g.fake.SetPermission("mona", "maintain")
	g.fake.AddReview(pr, "mona", forge.ReviewApproved, "")
	wantStatus(t, g.check(pr), check.CheckApprovals, check.CheckPass, "mona: approved on", ": counts")
}

// TestCheckChangeRequestsBlockAsOnGitHub: a change request from anyone
// with write access blocks, a bot's and a committer's included; one from
// read access does not.
func TestCheckChangeRequestsBlockAsOnGitHub(t *testing.T) {
	g := newGoverned(t, "")
	res, err := g.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	pr := res.PR.Number
	g.fake.SetUserType("lint-bot", "Bot")
	g.fake.SetPermission("rita", "read")
	g.fake.AddReview(pr, "bob", forge.ReviewApproved, "")
	g.fake.AddReview(pr, "lint-bot", forge.ReviewChangesRequested, "")
	g.fake.AddReview(pr, "rita", forge.ReviewChangesRequested, "")
	rep := g.check(pr)
	wantStatus(t, rep, check.CheckApprovals, check.CheckFail, "changes requested by lint-bot")
	if a := approval(t, rep, "rita"); !strings.Contains(a.Reason, "does not block: has read access only") {
		t.Errorf("rita = %+v, want a change request that does not block", a)
	}
	if s := item(t, rep, check.CheckApprovals).Summary; strings.Contains(s, "rita") {
		t.Errorf("summary %q names rita, whose change request does not block", s)
	}
	g.fake.AddReview(pr, "lint-bot", forge.ReviewApproved, "")
	g.fake.AddReview(pr, "alice", forge.ReviewChangesRequested, "")
	wantStatus(t, g.check(pr), check.CheckApprovals, check.CheckFail, "changes requested by alice")
	g.fake.AddReview(pr, "alice", forge.ReviewDismissed, "")
	rep = g.check(pr)
	wantStatus(t, rep, check.CheckApprovals, check.CheckPass, "1 of 1")
}

// cappedForge lists at most GitHub's 250 commits of a pull request, as
// GET /pulls/{n}/commits does, without paging past them.
type cappedForge struct{ forge.Forge }

func (f cappedForge) ListCommits(ctx context.Context, number int) ([]forge.Commit, error) {
	cs, err := f.Forge.ListCommits(ctx, number)
	return cs[:min(len(cs), 250)], err
}

// TestCheckCommittersPast250: the committers come from git (merge base
// to head); the forge's list, capped at 250, only links logins, and a
// commit it leaves out is read on its own.
func TestCheckCommittersPast250(t *testing.T) {
	g := newGoverned(t, "")
	res, err := g.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	git(t, g.root, "fetch", "-q", "origin", res.Branch)
	git(t, g.root, "checkout", "-q", "-B", res.Branch, "FETCH_HEAD")
	script := `for i in $(seq 1 260); do
	  if [ "$i" = 255 ]; then export GIT_AUTHOR_NAME="Larry Late" GIT_AUTHOR_EMAIL=larry@corp.example; else export GIT_AUTHOR_NAME=Alice GIT_AUTHOR_EMAIL=alice@example.com; fi
	  git -c commit.gpgsign=false commit -q --allow-empty -m "step $i" || exit 1
	done`
	run(t, g.root, nil, "bash", "-c", script)
	git(t, g.root, "push", "-q", "origin", res.Branch)
	git(t, g.root, "checkout", "-q", "main")
	g.reopen()
	g.fake.SetUserEmail("larry-gh", "larry@corp.example")
	listed, err := cappedForge{g.forge}.ListCommits(ctx, res.PR.Number)
	if err != nil || len(listed) != 250 {
		t.Fatalf("the capped list has %d commits (%v), want 250", len(listed), err)
	}
	g.fake.AddReview(res.PR.Number, "larry-gh", forge.ReviewApproved, "")
	rep, err := check.Check(ctx, g.reg, check.CheckOptions{PR: res.PR.Number, Forge: cappedForge{g.forge}, Remote: "origin"})
	if err != nil {
		t.Fatal(err)
	}
	if a := approval(t, rep, "larry-gh"); a.Counted || a.Reason != "committed to the pull request" {
		t.Errorf("larry-gh = %+v, want not counted as the committer of commit 255", a)
	}
	if n := g.fake.CountRequests("GET", "/repos/*/*/commits/*"); n > 20 {
		t.Errorf("%d commits read one by one, want only those past the list", n)
	}
}

// TestMergeJudgesTheForgesBase: a stricter policy merged on the forge's
// base after this clone last fetched. merge without --remote judges the
// base the forge judges (fetched from origin), never the clone's old one;
// a base named that lacks it is refused, saying so.
func TestMergeJudgesTheForgesBase(t *testing.T) {
	g := newGoverned(t, "")
	res, err := g.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	pr := res.PR.Number
	g.fake.AddReview(pr, "bob", forge.ReviewApproved, "")
	old := git(t, g.root, "rev-parse", "main")
	g.commitOnMain("policies/dev.yaml", "apiVersion: modelgit.dev/v1alpha1\nkind: PromotionPolicy\napprovals:\n  count: 2\n", "Ask two approvals in dev")
	stricter := git(t, g.root, "rev-parse", "main")
	// The clone forgets it: as if another clone had pushed it.
	git(t, g.root, "reset", "-q", "--hard", old)
	git(t, g.root, "update-ref", "refs/remotes/origin/main", old)
	g.reopen()

	_, err = check.Check(ctx, g.reg, check.CheckOptions{PR: pr, Forge: g.forge, Base: old})
	if !errors.Is(err, check.ErrStaleBase) {
		t.Fatalf("check against the old base named: %v, want ErrStaleBase", err)
	}
	mustContain(t, err, "the forge merges it into main at "+stricter[:12], "does not contain it", "git fetch origin main", "nothing was judged")

	mr, err := check.Merge(ctx, g.reg, check.MergeOptions{CheckOptions: check.CheckOptions{PR: pr, Forge: g.forge}})
	if !errors.Is(err, check.ErrCheckFailed) {
		t.Fatalf("merge = %+v, %v; want the check failed under the stricter policy", mr, err)
	}
	if mr.Report.Base != stricter || mr.Commit != "" {
		t.Errorf("judged against %s (merged %q), want the forge's base %s and nothing merged", mr.Report.Base, mr.Commit, stricter)
	}
	wantStatus(t, mr.Report, check.CheckApprovals, check.CheckFail, "1 of 2 required approvals")
	if p := g.fake.PullRequests()[pr-1]; p.Merged {
		t.Error("the forge merged it")
	}
}

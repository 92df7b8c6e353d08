package forge_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/gitops/forge/githubfake"
)

// TestCommitLogins: a registrant whose login differs from their name and
// email (rhea-gh for rr@corp.example) is found by the login GitHub links
// to the commit itself, even for a commit on the base branch that is not
// among the PR's own.
func TestCommitLogins(t *testing.T) {
	e := newEnv(t)
	e.fake.SetUserEmail("rhea-gh", "rr@corp.example")
	registration := e.commitOn("main", 1, "rr@corp.example")
	stranger := e.commitOn("main", 1, "someone@elsewhere.example")

	c, err := e.forge.GetCommit(e.ctx, registration)
	must(t, err)
	if c.SHA != registration || c.AuthorLogin != "rhea-gh" || c.CommitterLogin != "rhea-gh" || c.AuthorEmail != "rr@corp.example" {
		t.Fatalf("GetCommit = %+v, want author and committer rhea-gh", c)
	}
	logins, unlinked, err := forge.CommitLogins(e.ctx, e.forge, []string{registration, stranger, registration})
	must(t, err)
	if fmt.Sprint(logins) != "[rhea-gh]" || fmt.Sprint(unlinked) != "["+stranger+"]" {
		t.Fatalf("CommitLogins = %v, unlinked %v; want [rhea-gh], [%s]", logins, unlinked, stranger)
	}
	_, err = e.forge.GetCommit(e.ctx, strings.Repeat("d", 40))
	noToken(t, err)
	if !errors.Is(err, forge.ErrNotFound) {
		t.Fatalf("unknown commit: %v, want ErrNotFound", err)
	}
}

// TestCollaboratorPermission: GitHub's required reviews count approvers
// with write access; maintain and admin have it, triage and read do not.
func TestCollaboratorPermission(t *testing.T) {
	e := newEnv(t)
	for user, role := range map[string]string{"ada": "admin", "max": "maintain", "tri": "triage", "rita": "read", "nobody": "none"} {
		e.fake.SetPermission(user, role)
	}
	for _, tc := range []struct {
		login, role, base string
		write, maintain   bool
	}{
		{"ada", "admin", "admin", true, true},
		{"max", "maintain", "write", true, true},
		{"wes", "write", "write", true, false}, // the fake's default
		{"tri", "triage", "read", false, false},
		{"rita", "read", "read", false, false},
		{"nobody", "none", "none", false, false},
	} {
		p, err := e.forge.CollaboratorPermission(e.ctx, tc.login)
		must(t, err)
		if p.Login != tc.login || p.Role != tc.role || p.Base != tc.base || p.CanWrite() != tc.write || p.AtLeast(forge.RoleMaintain) != tc.maintain {
			t.Errorf("%s: %+v write=%v maintain=%v; want role %s base %s write=%v maintain=%v", tc.login, *p, p.CanWrite(), p.AtLeast(forge.RoleMaintain), tc.role, tc.base, tc.write, tc.maintain)
		}
	}
	custom := &forge.Permission{Login: "c", Role: "ml-reviewer", Base: "write"}
	if !custom.CanWrite() || custom.AtLeast(forge.RoleMaintain) {
		t.Errorf("a custom role inheriting write: CanWrite %v, AtLeast(maintain) %v", custom.CanWrite(), custom.AtLeast(forge.RoleMaintain))
	}
	var none *forge.Permission
	if none.CanWrite() || custom.AtLeast("owner") {
		t.Error("a nil permission or an unknown role grants access")
	}
	e.fake.FailNext("GET", "/repos/*/*/collaborators/*/permission", 404, 1)
	if _, err := e.forge.CollaboratorPermission(e.ctx, "ghost"); !errors.Is(err, forge.ErrNotFound) {
		t.Errorf("unknown user: %v, want ErrNotFound", err)
	}
}

// TestListCommitsPastTheCap: a committer past GitHub's 250th commit is
// listed, through the compare API.
func TestListCommitsPastTheCap(t *testing.T) {
	e := newEnv(t)
	e.fake.SetUserEmail("late", "late@corp.example")
	e.commitOn("big", 255, "dev@corp.example")
	head := e.commitOn("big", 5, "late@corp.example")
	pr, err := e.forge.CreatePullRequest(e.ctx, forge.PullRequestSpec{Title: "big", Head: "big", Base: "main"})
	must(t, err)
	commits, err := e.forge.ListCommits(e.ctx, pr.Number)
	must(t, err)
	if len(commits) != 260 || commits[259].SHA != head || commits[259].AuthorLogin != "late" {
		t.Fatalf("listed %d commits, last %+v; want 260 ending at %s by late", len(commits), commits[len(commits)-1], head)
	}
	if e.fake.CountRequests("GET", "/repos/*/*/compare/*") == 0 {
		t.Fatal("the compare API was not used past the cap")
	}

	small := e.push("small", "main", map[string]string{"f": "1"}, "")
	sp, err := e.forge.CreatePullRequest(e.ctx, forge.PullRequestSpec{Title: "small", Head: "small", Base: "main"})
	must(t, err)
	before := e.fake.CountRequests("GET", "/repos/*/*/compare/*")
	commits, err = e.forge.ListCommits(e.ctx, sp.Number)
	must(t, err)
	if len(commits) != 1 || commits[0].SHA != small || e.fake.CountRequests("GET", "/repos/*/*/compare/*") != before {
		t.Fatalf("small PR: %d commits; compare used %d times", len(commits), e.fake.CountRequests("GET", "/repos/*/*/compare/*")-before)
	}
}

// TestPullRequestBaseSHA: the PR's BaseSHA is GitHub's base.sha, the
// base's tip when the PR was opened; it stays there when the base moves,
// and BranchHead reads where the base is now.
func TestPullRequestBaseSHA(t *testing.T) {
	e := newEnv(t)
	e.push("b", "main", map[string]string{"f": "1"}, "")
	pr, err := e.forge.CreatePullRequest(e.ctx, forge.PullRequestSpec{Title: "t", Head: "b", Base: "main"})
	must(t, err)
	opened := e.git("rev-parse", "main")
	if pr.BaseSHA != opened {
		t.Fatalf("BaseSHA = %q, want main's %s", pr.BaseSHA, opened)
	}
	moved := e.commitOn("main", 1, "other@corp.example") // a stricter policy merged meanwhile
	got, err := e.forge.GetPullRequest(e.ctx, pr.Number)
	must(t, err)
	if got.BaseSHA != opened {
		t.Fatalf("BaseSHA after the base moved = %q, want %s: GitHub moves it only when the head is pushed to", got.BaseSHA, opened)
	}
	tip, err := e.forge.BranchHead(e.ctx, "main")
	must(t, err)
	if tip != moved {
		t.Fatalf("BranchHead(main) = %q, want %s", tip, moved)
	}
	if _, err := e.forge.BranchHead(e.ctx, "gone"); !errors.Is(err, forge.ErrNotFound) {
		t.Fatalf("BranchHead(gone) = %v, want ErrNotFound", err)
	}
}

// TestMergeErrors: each way GitHub refuses a merge is its own error, so
// the caller can say the right thing; only a conflict is ErrNotMergeable.
func TestMergeErrors(t *testing.T) {
	e := newEnv(t)
	head := e.push("promo", "main", map[string]string{"release.yaml": "v: 1\n"}, "")
	pr, err := e.forge.CreatePullRequest(e.ctx, forge.PullRequestSpec{Title: "t", Head: "promo", Base: "main"})
	must(t, err)
	check := func(name string, sha, method string, want error, wantMsg string) {
		t.Helper()
		_, err := e.forge.Merge(e.ctx, pr.Number, sha, "m", method)
		noToken(t, err)
		var ae *forge.APIError
		if !errors.Is(err, want) || !errors.As(err, &ae) || !strings.Contains(ae.Message, wantMsg) {
			t.Fatalf("%s: %v, want %v with %q", name, err, want, wantMsg)
		}
		for _, other := range []error{forge.ErrHeadMoved, forge.ErrBaseMoved, forge.ErrNotMergeable, forge.ErrMergeMethodNotAllowed, forge.ErrRequiredStatus, forge.ErrReviewRequired, forge.ErrHeadBehind, forge.ErrProtectedBranch} {
			if other != want && errors.Is(err, other) {
				t.Fatalf("%s: %v also matches %v", name, err, other)
			}
		}
	}
	e.fake.SetMergeMethods("squash")
	check("merge commits off", head, "", forge.ErrMergeMethodNotAllowed, "Merge commits are not allowed on this repository.")
	e.fake.SetMergeMethods("merge", "squash")
	check("stale head", strings.Repeat("e", 40), "", forge.ErrHeadMoved, "Head branch was modified")

	e.fake.SetBranchProtection("main", &githubfake.Protection{RequiredStatusChecks: []string{forge.StatusContext}, Strict: true, RequiredApprovals: 1, DismissStaleReviews: true})
	e.fake.SetPermission("rita", "read")
	e.fake.AddReview(pr.Number, "rita", forge.ReviewApproved, "")
	check("read-only approval", head, "", forge.ErrReviewRequired, "At least 1 approving review is required by reviewers with write access.")
	e.fake.AddReview(pr.Number, "wes", forge.ReviewApproved, "")
	check("status missing", head, "", forge.ErrRequiredStatus, `Required status check "modelgit/promotion" is expected.`)
	must(t, e.forge.SetStatus(e.ctx, head, forge.Status{State: "success"}))
	e.commitOn("main", 1, "other@corp.example")
	check("behind a strict base", head, "", forge.ErrHeadBehind, "Head branch is out of date")

	e.fake.SetBranchProtection("main", nil)
	other := e.push("other", "main", map[string]string{"release.yaml": "v: 0\n"}, "")
	op, err := e.forge.CreatePullRequest(e.ctx, forge.PullRequestSpec{Title: "other", Head: "other", Base: "main"})
	must(t, err)
	_, err = e.forge.Merge(e.ctx, op.Number, other, "other", "")
	must(t, err)
	check("conflict", head, "", forge.ErrNotMergeable, "Pull Request is not mergeable")
}

// TestMergeRefusalMessages: GitHub's messages, whether sent as 405 or
// (rulesets, validation) 422, map to the error that names them.
func TestMergeRefusalMessages(t *testing.T) {
	for _, tc := range []struct {
		status int
		msg    string
		want   error
	}{
		{409, "Head branch was modified. Review and try the merge again.", forge.ErrHeadMoved},
		{405, "Base branch was modified. Review and try the merge again.", forge.ErrBaseMoved},
		{405, "Squash merges are not allowed on this repository.", forge.ErrMergeMethodNotAllowed},
		{405, `Required status check "ci" is expected.`, forge.ErrRequiredStatus},
		{422, "Repository rule violations found\n\nRequired status check \"ci\" is expected.", forge.ErrRequiredStatus},
		{405, "At least 2 approving reviews are required by reviewers with write access.", forge.ErrReviewRequired},
		{405, "Head branch is out of date. Review and try the merge again.", forge.ErrHeadBehind},
		{405, "Commits must have verified signatures.", forge.ErrProtectedBranch},
		{405, "You're not authorized to push to this branch. Visit https://docs.github.com/articles/about-protected-branches/ for more information.", forge.ErrProtectedBranch},
		{422, "Repository rule violations found", forge.ErrProtectedBranch},
		{405, "Pull Request is not mergeable", forge.ErrNotMergeable},
		{422, "Validation Failed", nil},
	} {
		got := forge.MergeRefusal(tc.status, tc.msg)
		if got != tc.want {
			t.Errorf("%d %q: %v, want %v", tc.status, tc.msg, got, tc.want)
		}
	}
}

// TestBranchProtection: classic protection and rulesets read together,
// the stricter winning, and what a token without admin rights can see.
func TestBranchProtection(t *testing.T) {
	e := newEnv(t)
	bp, err := e.forge.BranchProtection(e.ctx, "main")
	must(t, err)
	if bp.Branch != "main" || len(bp.Sources) != 0 || bp.RequiredApprovals != 0 || bp.RequiredStatusChecks != nil {
		t.Fatalf("unprotected: %+v", bp)
	}
	e.fake.SetBranchProtection("main", &githubfake.Protection{RequiredStatusChecks: []string{"ci", forge.StatusContext}, RequiredApprovals: 1, RequiredSignatures: true, EnforceAdmins: true})
	id := e.fake.AddRuleset(githubfake.Ruleset{Name: "prod", Branches: []string{"main"}, RequiredStatusChecks: []string{forge.StatusContext}, Strict: true,
		PullRequest: &githubfake.PullRequestRule{RequiredApprovals: 2, DismissStaleReviewsOnPush: true, AllowedMergeMethods: []string{"merge", "squash"}}})
	bp, err = e.forge.BranchProtection(e.ctx, "main")
	must(t, err)
	want := forge.BranchProtection{Branch: "main", RequiredStatusChecks: []string{"ci", forge.StatusContext}, Strict: true, RequiredApprovals: 2, DismissStaleReviews: true,
		RequiredSignatures: true, EnforceAdmins: true, AllowedMergeMethods: []string{"merge", "squash"}, Sources: []string{"branch protection", fmt.Sprintf("ruleset %d", id)}}
	if fmt.Sprintf("%+v", *bp) != fmt.Sprintf("%+v", want) {
		t.Fatalf("protection = %+v\nwant         %+v", *bp, want)
	}

	e.fake.DenyProtectionRead(true)
	bp, err = e.forge.BranchProtection(e.ctx, "main")
	must(t, err)
	if !strings.Contains(bp.ClassicUnreadable, "Resource not accessible by integration") || bp.RequiredApprovals != 2 || bp.EnforceAdmins {
		t.Fatalf("without admin rights: %+v; want the rulesets' rules and the classic protection unreadable", bp)
	}
	_, err = e.forge.BranchProtection(e.ctx, "no-such-branch")
	if err == nil {
		t.Fatal("an unknown branch read as protected")
	}
	e.fake.DenyProtectionRead(false)
	e.fake.FailNext("GET", "/repos/*/*/branches/*/protection", 404, 1) // a bare "Not Found", as some tokens get
	bp, err = e.forge.BranchProtection(e.ctx, "main")
	must(t, err)
	if bp.ClassicUnreadable != "Not Found" || bp.RequiredApprovals != 2 {
		t.Fatalf("a bare 404: %+v; want the classic protection unreadable and the rulesets' rules", bp)
	}
	_, err = e.forge.BranchProtection(e.ctx, "no-such-branch")
	if !errors.Is(err, forge.ErrNotFound) {
		t.Fatalf("unknown branch: %v, want ErrNotFound", err)
	}
}

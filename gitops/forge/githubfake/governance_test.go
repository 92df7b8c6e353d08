package githubfake_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/google/go-github/v60/github"

	"github.com/modelgit/modelgit/gitops/forge/githubfake"
)

// commitOn adds n commits by email on branch (created from main when
// new) in the served repository, as a push would, and returns the new tip.
func commitOn(t *testing.T, s *githubfake.Server, branch string, n int, email string) string {
	t.Helper()
	r, err := gogit.PlainOpen(s.GitDir())
	if err != nil {
		t.Fatal(err)
	}
	ref, err := r.Reference(plumbing.NewBranchReferenceName(branch), true)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		ref, err = r.Reference(plumbing.NewBranchReferenceName("main"), true)
	}
	if err != nil {
		t.Fatal(err)
	}
	parent, err := r.CommitObject(ref.Hash())
	if err != nil {
		t.Fatal(err)
	}
	tip := parent.Hash
	for i := range n {
		sig := object.Signature{Name: "Dev " + email, Email: email, When: time.Unix(1700000000+int64(i), 0)}
		c := &object.Commit{Author: sig, Committer: sig, Message: fmt.Sprintf("change %d on %s\n", i, branch), TreeHash: parent.TreeHash, ParentHashes: []plumbing.Hash{tip}}
		obj := r.Storer.NewEncodedObject()
		if err := c.Encode(obj); err != nil {
			t.Fatal(err)
		}
		if tip, err = r.Storer.SetEncodedObject(obj); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(branch), tip)); err != nil {
		t.Fatal(err)
	}
	return tip.String()
}

func statusOf(err error) (int, string) {
	var er *github.ErrorResponse
	if errors.As(err, &er) {
		return er.Response.StatusCode, er.Message
	}
	return 0, fmt.Sprint(err)
}

// TestCommitLogins: GET /commits/{sha} names the accounts GitHub links to
// the commit's emails, null when it links none, and 422 for no commit.
func TestCommitLogins(t *testing.T) {
	s := githubfake.New(t, githubfake.Options{Owner: "o", Repo: "r"})
	ctx, c := context.Background(), client(t, s, "")
	s.SetUserEmail("rhea-gh", "rr@corp.example")
	linked := commitOn(t, s, "reg", 1, "rr@corp.example")
	unlinked := commitOn(t, s, "reg", 1, "stranger@corp.example")

	got, _, err := c.Repositories.GetCommit(ctx, "o", "r", linked, nil)
	if err != nil || got.GetAuthor().GetLogin() != "rhea-gh" || got.GetCommitter().GetLogin() != "rhea-gh" || got.GetCommit().GetAuthor().GetEmail() != "rr@corp.example" {
		t.Fatalf("linked commit: %+v, %v; want author and committer rhea-gh", got, err)
	}
	got, _, err = c.Repositories.GetCommit(ctx, "o", "r", unlinked, nil)
	if err != nil || got.Author != nil || got.Committer != nil {
		t.Fatalf("unlinked commit: author %v committer %v, %v; want both null", got.Author, got.Committer, err)
	}
	_, _, err = c.Repositories.GetCommit(ctx, "o", "r", strings.Repeat("b", 40), nil)
	if code, msg := statusOf(err); code != 422 || !strings.HasPrefix(msg, "No commit found for SHA") {
		t.Fatalf("unknown sha: %d %q, want 422 No commit found", code, msg)
	}
}

// TestCollaboratorPermission: permission is the older admin/write/read/none
// and role_name the role itself (maintain reads as write, triage as read).
func TestCollaboratorPermission(t *testing.T) {
	s := githubfake.New(t, githubfake.Options{Owner: "o", Repo: "r"})
	ctx, c := context.Background(), client(t, s, "")
	for user, role := range map[string]string{"ada": "admin", "max": "maintain", "tri": "triage", "rita": "read", "nobody": "none"} {
		s.SetPermission(user, role)
	}
	for _, tc := range []struct{ user, permission, role string }{
		{"ada", "admin", "admin"}, {"max", "write", "maintain"}, {"wes", "write", "write"},
		{"tri", "read", "triage"}, {"RITA", "read", "read"}, {"nobody", "none", "none"},
	} {
		req, err := c.NewRequest("GET", "repos/o/r/collaborators/"+tc.user+"/permission", nil)
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Permission string `json:"permission"`
			RoleName   string `json:"role_name"`
			User       struct{ Login string }
		}
		if _, err := c.Do(ctx, req, &got); err != nil {
			t.Fatal(err)
		}
		if got.Permission != tc.permission || got.RoleName != tc.role || got.User.Login != tc.user {
			t.Errorf("%s: %+v, want permission %s role_name %s", tc.user, got, tc.permission, tc.role)
		}
	}
	if _, err := githubfake.Start(githubfake.Options{DefaultPermission: "owner"}); err == nil {
		t.Error("an unknown default permission was accepted")
	}
}

// TestPullCommitsCapAndCompare: the PR's commit list stops at 250, the
// compare API pages through all of them.
func TestPullCommitsCapAndCompare(t *testing.T) {
	s := githubfake.New(t, githubfake.Options{Owner: "o", Repo: "r"})
	ctx, c := context.Background(), client(t, s, "")
	s.SetUserEmail("late", "late@corp.example")
	commitOn(t, s, "big", 255, "dev@corp.example")
	head := commitOn(t, s, "big", 5, "late@corp.example")
	pr, _, err := c.PullRequests.Create(ctx, "o", "r", &github.NewPullRequest{Title: github.String("big"), Head: github.String("big"), Base: github.String("main")})
	if err != nil {
		t.Fatal(err)
	}
	var listed []*github.RepositoryCommit
	opts := &github.ListOptions{PerPage: 100}
	for {
		cs, resp, err := c.PullRequests.ListCommits(ctx, "o", "r", pr.GetNumber(), opts)
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, cs...)
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if len(listed) != 250 || listed[249].GetAuthor().GetLogin() == "late" {
		t.Fatalf("PR commits: %d, want GitHub's 250 without the late ones", len(listed))
	}

	base := pr.GetBase().GetSHA()
	cmp, _, err := c.Repositories.CompareCommits(ctx, "o", "r", base, head, nil)
	if err != nil || cmp.GetTotalCommits() != 260 || len(cmp.Commits) != 250 || cmp.GetStatus() != "ahead" {
		t.Fatalf("compare without paging: total %d, listed %d, status %s, %v; want 260, 250, ahead", cmp.GetTotalCommits(), len(cmp.Commits), cmp.GetStatus(), err)
	}
	var all []*github.RepositoryCommit
	opts = &github.ListOptions{PerPage: 100}
	for {
		cmp, resp, err := c.Repositories.CompareCommits(ctx, "o", "r", base, "big", opts)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, cmp.Commits...)
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if len(all) != 260 || all[259].GetSHA() != head || all[259].GetAuthor().GetLogin() != "late" {
		t.Fatalf("compare paged: %d commits, last %s; want 260 ending at %s by late", len(all), all[len(all)-1].GetSHA(), head)
	}
}

// TestBranchProtectionAndRules: the two places GitHub keeps branch rules,
// read back as GitHub answers them.
func TestBranchProtectionAndRules(t *testing.T) {
	s := githubfake.New(t, githubfake.Options{Owner: "o", Repo: "r"})
	ctx, c := context.Background(), client(t, s, "")
	// go-github turns exactly GitHub's 404 "Branch not protected" into
	// ErrBranchNotProtected.
	_, _, err := c.Repositories.GetBranchProtection(ctx, "o", "r", "main")
	if !errors.Is(err, github.ErrBranchNotProtected) {
		t.Fatalf("unprotected: %v, want 404 Branch not protected", err)
	}
	_, _, err = c.Repositories.GetBranchProtection(ctx, "o", "r", "nope")
	if code, msg := statusOf(err); code != 404 || msg != "Branch not found" {
		t.Fatalf("unknown branch: %d %q, want 404 Branch not found", code, msg)
	}
	s.SetBranchProtection("main", &githubfake.Protection{RequiredStatusChecks: []string{"modelgit/promotion"}, Strict: true, RequiredApprovals: 2, DismissStaleReviews: true, RequiredSignatures: true})
	p, _, err := c.Repositories.GetBranchProtection(ctx, "o", "r", "main")
	if err != nil {
		t.Fatal(err)
	}
	rsc, rpr := p.GetRequiredStatusChecks(), p.GetRequiredPullRequestReviews()
	if !rsc.Strict || fmt.Sprint(*rsc.Contexts) != "[modelgit/promotion]" || rpr.RequiredApprovingReviewCount != 2 || !rpr.DismissStaleReviews || !p.GetRequiredSignatures().GetEnabled() || p.GetEnforceAdmins().Enabled {
		t.Fatalf("protection = %+v %+v", rsc, rpr)
	}

	rules, _, err := c.Repositories.GetRulesForBranch(ctx, "o", "r", "release/1")
	if err != nil || len(rules) != 0 {
		t.Fatalf("rules without rulesets: %v, %v; want none", rules, err)
	}
	s.AddRuleset(githubfake.Ruleset{Name: "releases", Branches: []string{"release/*"}, RequiredStatusChecks: []string{"modelgit/promotion"}, Strict: true,
		PullRequest: &githubfake.PullRequestRule{RequiredApprovals: 1, DismissStaleReviewsOnPush: true}, RequiredSignatures: true})
	rules, _, err = c.Repositories.GetRulesForBranch(ctx, "o", "r", "release/1")
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, r := range rules {
		types = append(types, r.Type)
	}
	if fmt.Sprint(types) != "[required_status_checks pull_request required_signatures]" {
		t.Fatalf("rule types = %v", types)
	}
	if !strings.Contains(string(*rules[0].Parameters), `"strict_required_status_checks_policy":true`) || !strings.Contains(string(*rules[1].Parameters), `"dismiss_stale_reviews_on_push":true`) {
		t.Fatalf("rule parameters = %s %s", *rules[0].Parameters, *rules[1].Parameters)
	}
}

// TestMergeRefusals: each reason GitHub refuses a merge, with its status
// and message, and the merge that goes through once nothing refuses.
func TestMergeRefusals(t *testing.T) {
	s := githubfake.New(t, githubfake.Options{Owner: "o", Repo: "r"})
	ctx, c := context.Background(), client(t, s, "")
	head := commitOn(t, s, "promo", 1, "dev@corp.example")
	pr, _, err := c.PullRequests.Create(ctx, "o", "r", &github.NewPullRequest{Title: github.String("p"), Head: github.String("promo"), Base: github.String("main")})
	if err != nil {
		t.Fatal(err)
	}
	n := pr.GetNumber()
	merge := func(sha, method string) (int, string) {
		_, _, err := c.PullRequests.Merge(ctx, "o", "r", n, "", &github.PullRequestOptions{SHA: sha, MergeMethod: method})
		return statusOf(err)
	}
	want := func(name string, code int, msg string, gotCode int, gotMsg string) {
		t.Helper()
		if gotCode != code || gotMsg != msg {
			t.Fatalf("%s: %d %q, want %d %q", name, gotCode, gotMsg, code, msg)
		}
	}
	s.SetMergeMethods("squash")
	code, msg := merge(head, "merge")
	want("merge commits off", 405, "Merge commits are not allowed on this repository.", code, msg)
	s.SetMergeMethods("merge", "squash")
	code, msg = merge(strings.Repeat("c", 40), "merge")
	want("stale sha", 409, "Head branch was modified. Review and try the merge again.", code, msg)

	s.SetBranchProtection("main", &githubfake.Protection{RequiredStatusChecks: []string{"modelgit/promotion"}, Strict: true, RequiredApprovals: 1, DismissStaleReviews: true})
	s.SetPermission("rita", "read")
	s.AddReview(n, "rita", "APPROVED", "")
	code, msg = merge(head, "merge")
	want("read-only approval", 405, "At least 1 approving review is required by reviewers with write access.", code, msg)
	if got, _, _ := c.PullRequests.Get(ctx, "o", "r", n); got.GetMergeableState() != "blocked" {
		t.Fatalf("mergeable_state = %q, want blocked", got.GetMergeableState())
	}
	s.AddReview(n, "wes", "APPROVED", "")
	code, msg = merge(head, "merge")
	want("no status", 405, `Required status check "modelgit/promotion" is expected.`, code, msg)
	if _, _, err := c.Repositories.CreateStatus(ctx, "o", "r", head, &github.RepoStatus{State: github.String("failure"), Context: github.String("modelgit/promotion")}); err != nil {
		t.Fatal(err)
	}
	code, msg = merge(head, "merge")
	want("failing status", 405, `Required status check "modelgit/promotion" is failing.`, code, msg)
	if _, _, err := c.Repositories.CreateStatus(ctx, "o", "r", head, &github.RepoStatus{State: github.String("success"), Context: github.String("modelgit/promotion")}); err != nil {
		t.Fatal(err)
	}
	commitOn(t, s, "main", 1, "other@corp.example") // the base moves on
	code, msg = merge(head, "merge")
	want("behind its base", 405, "Head branch is out of date. Review and try the merge again.", code, msg)

	s.SetBranchProtection("main", &githubfake.Protection{RequiredStatusChecks: []string{"modelgit/promotion"}, RequiredApprovals: 1})
	s.AddRuleset(githubfake.Ruleset{Branches: []string{"main"}, PullRequest: &githubfake.PullRequestRule{AllowedMergeMethods: []string{"squash"}}})
	code, msg = merge(head, "merge")
	want("ruleset allows squash only", 405, "Merge commits are not allowed on this repository.", code, msg)
	res, _, err := c.PullRequests.Merge(ctx, "o", "r", n, "", &github.PullRequestOptions{SHA: head, MergeMethod: "squash"})
	if err != nil || !res.GetMerged() {
		t.Fatalf("merge with everything satisfied: %v, %v", res, err)
	}
	if code, _ := merge(head, "squash"); code != http.StatusMethodNotAllowed {
		t.Fatalf("merging a merged PR: %d, want 405", code)
	}
}

// TestUserEmailNullWhenPrivate: GET /users/{login} answers email null
// unless the profile makes it public.
func TestUserEmailNullWhenPrivate(t *testing.T) {
	s := githubfake.New(t, githubfake.Options{Owner: "o", Repo: "r"})
	ctx, c := context.Background(), client(t, s, "")
	s.SetUserProfile("pub", "Pub Lic", "pub@corp.example", 0)
	for login, want := range map[string]*string{"pub": github.String("pub@corp.example"), "priv": nil} {
		u, _, err := c.Users.Get(ctx, login)
		if err != nil {
			t.Fatal(err)
		}
		if (u.Email == nil) != (want == nil) || (want != nil && *u.Email != *want) {
			t.Errorf("%s: email %v, want %v", login, u.Email, want)
		}
	}
}

// TestBaseSHALagsTheBaseBranch: as on GitHub, a PR's base.sha is the base
// branch's tip when the PR was opened or its head last pushed to; a
// commit merged on the base leaves it where it was, while GET
// /branches/{b} and the mergeability follow the branch.
func TestBaseSHALagsTheBaseBranch(t *testing.T) {
	s := githubfake.New(t, githubfake.Options{Owner: "o", Repo: "r"})
	ctx, c := context.Background(), client(t, s, "")
	commitOn(t, s, "feature", 1, "dev@corp.example")
	pr, _, err := c.PullRequests.Create(ctx, "o", "r", &github.NewPullRequest{Title: github.String("f"), Head: github.String("feature"), Base: github.String("main")})
	if err != nil {
		t.Fatal(err)
	}
	opened := pr.GetBase().GetSHA()
	moved := commitOn(t, s, "main", 1, "other@corp.example")
	if moved == opened {
		t.Fatal("main did not move")
	}
	got, _, err := c.PullRequests.Get(ctx, "o", "r", pr.GetNumber())
	if err != nil {
		t.Fatal(err)
	}
	if got.GetBase().GetSHA() != opened {
		t.Errorf("base.sha after main moved = %s, want %s (where it was when opened)", got.GetBase().GetSHA(), opened)
	}
	b, _, err := c.Repositories.GetBranch(ctx, "o", "r", "main", 0)
	if err != nil || b.GetCommit().GetSHA() != moved {
		t.Fatalf("GET /branches/main = %s, %v; want %s", b.GetCommit().GetSHA(), err, moved)
	}
	if _, resp, err := c.Repositories.GetBranch(ctx, "o", "r", "nope", 0); resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /branches/nope: %v, want 404", err)
	}

	commitOn(t, s, "feature", 1, "dev@corp.example") // a push to the head: synchronize
	got, _, err = c.PullRequests.Get(ctx, "o", "r", pr.GetNumber())
	if err != nil {
		t.Fatal(err)
	}
	if got.GetBase().GetSHA() != moved {
		t.Errorf("base.sha after a push to the head = %s, want the base's tip %s", got.GetBase().GetSHA(), moved)
	}
	if ps := s.PullRequests(); ps[0].BaseSHA != moved {
		t.Errorf("PullRequests()[0].BaseSHA = %s, want %s", ps[0].BaseSHA, moved)
	}
}

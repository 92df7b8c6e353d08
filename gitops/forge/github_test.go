package forge_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelgit/modelgit/gitops/forge"
)

func TestPullRequestLifecycle(t *testing.T) {
	e := newEnv(t)
	branch := "modelgit/promote/staging/fraud-1.4.0"
	sha := e.push(branch, "main", map[string]string{"environments/staging/fraud.yaml": "version: 1.4.0\n"}, "")

	pr, err := e.forge.CreatePullRequest(e.ctx, forge.PullRequestSpec{Title: "Promote fraud 1.4.0", Body: "b", Head: branch, Base: "main", Labels: []string{"modelgit"}})
	must(t, err)
	if pr.Number != 1 || pr.HeadSHA != sha || pr.State != "open" || pr.Author != "modelgit-bot" || pr.Head != branch || pr.Base != "main" {
		t.Fatalf("created %+v, want #1 open at %s by modelgit-bot", pr, sha)
	}
	if fmt.Sprint(pr.Labels) != "[modelgit]" {
		t.Errorf("labels = %v, want [modelgit]", pr.Labels)
	}

	_, err = e.forge.CreatePullRequest(e.ctx, forge.PullRequestSpec{Title: "again", Head: branch, Base: "main"})
	noToken(t, err)
	var ae *forge.APIError
	if !errors.As(err, &ae) || ae.Status != 422 || !forge.IsAlreadyExists(err) ||
		!strings.Contains(err.Error(), "A pull request already exists for acme:"+branch+".") {
		t.Fatalf("duplicate create: got %v, want 422 already exists", err)
	}

	got, created, err := forge.EnsurePullRequest(e.ctx, e.forge, forge.PullRequestSpec{Title: "Promote fraud 1.4.0 (v2)", Body: "new body", Head: branch, Base: "main", Labels: []string{"modelgit", "env:staging"}})
	must(t, err)
	if created || got.Number != 1 || got.Title != "Promote fraud 1.4.0 (v2)" || got.Body != "new body" {
		t.Fatalf("ensure: created=%v %+v, want adopted #1 with new title/body", created, got)
	}
	if fmt.Sprint(got.Labels) != "[modelgit env:staging]" {
		t.Errorf("labels after ensure = %v", got.Labels)
	}

	found, err := e.forge.FindPullRequest(e.ctx, branch, "main")
	must(t, err)
	if found == nil || found.Number != 1 {
		t.Fatalf("find = %+v, want #1", found)
	}
	none, err := e.forge.FindPullRequest(e.ctx, "no/such/branch", "main")
	must(t, err)
	if none != nil {
		t.Fatalf("find for unknown branch = %+v, want nil", none)
	}

	other := "modelgit/promote/prod/fraud-1.3.0"
	e.push(other, "main", map[string]string{"environments/prod/fraud.yaml": "version: 1.3.0\n"}, "")
	p2, created, err := forge.EnsurePullRequest(e.ctx, e.forge, forge.PullRequestSpec{Title: "t", Head: other, Base: "main"})
	must(t, err)
	if !created || p2.Number != 2 {
		t.Fatalf("ensure new: created=%v #%d, want created #2", created, p2.Number)
	}
	e.push("feature/x", "main", map[string]string{"x": "x"}, "")
	_, err = e.forge.CreatePullRequest(e.ctx, forge.PullRequestSpec{Title: "x", Head: "feature/x", Base: "main"})
	must(t, err)

	list, err := e.forge.ListPullRequests(e.ctx, "open", "modelgit/promote/")
	must(t, err)
	if len(list) != 2 {
		t.Fatalf("listed %d promotion PRs, want 2", len(list))
	}
	all, err := e.forge.ListPullRequests(e.ctx, "all", "")
	must(t, err)
	if len(all) != 3 {
		t.Fatalf("listed %d PRs, want 3", len(all))
	}

	_, err = e.forge.GetPullRequest(e.ctx, 99)
	noToken(t, err)
	if !errors.Is(err, forge.ErrNotFound) {
		t.Fatalf("get #99: %v, want ErrNotFound", err)
	}
	upd, err := e.forge.UpdatePullRequest(e.ctx, 2, "T2", "B2")
	must(t, err)
	if upd.Title != "T2" || upd.Body != "B2" {
		t.Fatalf("update = %+v", upd)
	}
}

func TestCreatePullRequestErrors(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, head, base, want string
	}{
		{"unknown head", "nope", "main", "PullRequest head invalid"},
		{"unknown base", "main", "nope", "PullRequest base invalid"},
		{"no commits", "main", "main", "No commits between main and main"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.forge.CreatePullRequest(e.ctx, forge.PullRequestSpec{Title: "t", Head: tc.head, Base: tc.base})
			noToken(t, err)
			var ae *forge.APIError
			if !errors.As(err, &ae) || ae.Status != 422 || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want 422 %q", err, tc.want)
			}
		})
	}
}

// TestEnsurePullRequestConcurrent runs promotions of one branch at once:
// one creates, the others adopt (through the 422 path when they lose the
// race), and there is exactly one PR.
func TestEnsurePullRequestConcurrent(t *testing.T) {
	e := newEnv(t)
	branch := "modelgit/promote/dev/m-1.0.0"
	e.push(branch, "main", map[string]string{"f": "1"}, "")
	const n = 6
	var wg sync.WaitGroup
	numbers := make([]int, n)
	createdCount := 0
	var mu sync.Mutex
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pr, created, err := forge.EnsurePullRequest(e.ctx, e.forge, forge.PullRequestSpec{Title: "t", Body: "b", Head: branch, Base: "main"})
			if err != nil {
				t.Errorf("ensure %d: %v", i, err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			numbers[i] = pr.Number
			if created {
				createdCount++
			}
		}()
	}
	wg.Wait()
	if createdCount != 1 || len(e.fake.PullRequests()) != 1 {
		t.Fatalf("created %d times, fake has %d PRs; want 1 and 1", createdCount, len(e.fake.PullRequests()))
	}
	for i, num := range numbers {
		if num != 1 {
			t.Errorf("ensure %d got #%d, want #1", i, num)
		}
	}
}

func TestReviews(t *testing.T) {
	e := newEnv(t)
	old := e.push("b", "main", map[string]string{"f": "1"}, "")
	pr, err := e.forge.CreatePullRequest(e.ctx, forge.PullRequestSpec{Title: "t", Head: "b", Base: "main"})
	must(t, err)
	e.fake.AddReview(pr.Number, "carol", forge.ReviewApproved, old)
	head := e.push("b", "main", map[string]string{"f": "2"}, "")
	for i := range 120 { // more than one page
		e.fake.AddReview(pr.Number, fmt.Sprintf("noise%d", i), forge.ReviewCommented, head)
	}
	e.fake.AddReview(pr.Number, "alice", forge.ReviewApproved, head)
	e.fake.AddReview(pr.Number, "alice", forge.ReviewCommented, head)
	e.fake.AddReview(pr.Number, "bob", forge.ReviewApproved, head)
	e.fake.AddReview(pr.Number, "bob", forge.ReviewChangesRequested, head)
	e.fake.SetUserType("renovate", "Bot")
	e.fake.AddReview(pr.Number, "renovate", forge.ReviewApproved, "")

	all, err := e.forge.ListReviews(e.ctx, pr.Number)
	must(t, err)
	if len(all) != 126 {
		t.Fatalf("listed %d reviews, want 126 (all pages)", len(all))
	}
	latest, err := forge.LatestReviews(e.ctx, e.forge, pr.Number)
	must(t, err)
	var got []string
	for _, r := range latest {
		got = append(got, fmt.Sprintf("%s:%s:%v:%s", r.User, r.State, r.CommitID == head, r.UserType))
	}
	want := "[carol:APPROVED:false:User alice:APPROVED:true:User bob:CHANGES_REQUESTED:true:User renovate:APPROVED:true:Bot]"
	if fmt.Sprint(got) != want {
		t.Fatalf("latest = %v\nwant     %v", got, want)
	}
}

func TestLatestPerUser(t *testing.T) {
	at := func(s int) time.Time { return time.Unix(int64(s), 0) }
	for _, tc := range []struct {
		name string
		in   []forge.Review
		want string
	}{
		{"empty", nil, "[]"},
		{"comment only", []forge.Review{{ID: 1, User: "a", State: "COMMENTED"}}, "[]"},
		{"comment after approve keeps approve", []forge.Review{{ID: 1, User: "a", State: "APPROVED", SubmittedAt: at(1)}, {ID: 2, User: "a", State: "COMMENTED", SubmittedAt: at(2)}}, "[a:APPROVED]"},
		{"dismissed replaces approve", []forge.Review{{ID: 1, User: "a", State: "APPROVED", SubmittedAt: at(1)}, {ID: 2, User: "a", State: "DISMISSED", SubmittedAt: at(2)}}, "[a:DISMISSED]"},
		{"order by time not input", []forge.Review{{ID: 2, User: "a", State: "CHANGES_REQUESTED", SubmittedAt: at(2)}, {ID: 1, User: "a", State: "APPROVED", SubmittedAt: at(1)}}, "[a:CHANGES_REQUESTED]"},
		{"same time by id", []forge.Review{{ID: 2, User: "a", State: "APPROVED"}, {ID: 1, User: "A", State: "CHANGES_REQUESTED"}}, "[a:APPROVED]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := []string{}
			for _, r := range forge.LatestPerUser(tc.in) {
				got = append(got, r.User+":"+r.State)
			}
			if fmt.Sprint(got) != tc.want {
				t.Fatalf("got %v, want %s", got, tc.want)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	e := newEnv(t)
	checked := e.push("promo", "main", map[string]string{"release.yaml": "v: 1\n"}, "")
	pr, err := e.forge.CreatePullRequest(e.ctx, forge.PullRequestSpec{Title: "t", Head: "promo", Base: "main"})
	must(t, err)
	baseBefore := e.git("rev-parse", "main")

	moved := e.push("promo", "main", map[string]string{"release.yaml": "v: 2\n"}, "") // pushed after the check
	_, err = e.forge.Merge(e.ctx, pr.Number, checked, "Promote", "")
	noToken(t, err)
	if !errors.Is(err, forge.ErrHeadMoved) {
		t.Fatalf("merge at stale sha: %v, want ErrHeadMoved", err)
	}
	if got := e.git("rev-parse", "main"); got != baseBefore {
		t.Fatalf("main moved to %s after a refused merge", got)
	}
	fresh, err := e.forge.GetPullRequest(e.ctx, pr.Number)
	must(t, err)
	if fresh.HeadSHA != moved {
		t.Fatalf("head = %s, want the pushed %s", fresh.HeadSHA, moved)
	}

	msg := "Promote fraud 1.4.0 to staging\n\nModel: fraud\nApproved-by: alice\nPull-Request: #1"
	mergeSHA, err := e.forge.Merge(e.ctx, pr.Number, moved, msg, forge.MergeMethodMerge)
	must(t, err)
	if got := e.git("rev-parse", "main"); got != mergeSHA {
		t.Fatalf("main = %s, want merge commit %s", got, mergeSHA)
	}
	if got := e.git("log", "-1", "--format=%P", mergeSHA); got != baseBefore+" "+moved {
		t.Fatalf("parents = %q, want %q", got, baseBefore+" "+moved)
	}
	if got := e.git("log", "-1", "--format=%cn <%ce>", mergeSHA); got != "GitHub <noreply@github.com>" {
		t.Fatalf("committer = %q", got)
	}
	if got := e.git("log", "-1", "--format=%B", mergeSHA); got != msg {
		t.Fatalf("message = %q, want %q", got, msg)
	}
	if got := e.git("log", "-1", "--format=%(trailers:key=Approved-by,valueonly)", mergeSHA); got != "alice" {
		t.Fatalf("Approved-by trailer = %q", got)
	}
	merged, err := e.forge.GetPullRequest(e.ctx, pr.Number)
	must(t, err)
	if merged.State != "merged" || !merged.Merged || merged.MergeCommitSHA != mergeSHA {
		t.Fatalf("after merge: %+v", merged)
	}
	// Re-running merge after success converges on the same commit.
	again, err := e.forge.Merge(e.ctx, pr.Number, moved, msg, "")
	must(t, err)
	if again != mergeSHA {
		t.Fatalf("second merge = %s, want %s", again, mergeSHA)
	}
	commits, err := e.forge.ListCommits(e.ctx, pr.Number)
	must(t, err)
	if len(commits) != 2 {
		t.Fatalf("merged PR lists %d commits, want 2", len(commits))
	}
}

func TestMergeConflictNotMergeable(t *testing.T) {
	e := newEnv(t)
	a := e.push("a", "main", map[string]string{"release.yaml": "a\n"}, "")
	b := e.push("b", "main", map[string]string{"release.yaml": "b\n"}, "")
	pa, err := e.forge.CreatePullRequest(e.ctx, forge.PullRequestSpec{Title: "a", Head: "a", Base: "main"})
	must(t, err)
	pb, err := e.forge.CreatePullRequest(e.ctx, forge.PullRequestSpec{Title: "b", Head: "b", Base: "main"})
	must(t, err)
	_, err = e.forge.Merge(e.ctx, pa.Number, a, "a", "")
	must(t, err)
	base := e.git("rev-parse", "main")
	_, err = e.forge.Merge(e.ctx, pb.Number, b, "b", "")
	noToken(t, err)
	if !errors.Is(err, forge.ErrNotMergeable) {
		t.Fatalf("conflicting merge: %v, want ErrNotMergeable", err)
	}
	if e.git("rev-parse", "main") != base {
		t.Fatal("main moved after a refused merge")
	}
	e.fake.ClosePullRequest(pb.Number)
	if _, err = e.forge.Merge(e.ctx, pb.Number, b, "b", ""); !errors.Is(err, forge.ErrNotMergeable) {
		t.Fatalf("merging closed PR: %v, want ErrNotMergeable", err)
	}
}

func TestStickyComment(t *testing.T) {
	e := newEnv(t)
	e.push("b", "main", map[string]string{"f": "1"}, "")
	pr, err := e.forge.CreatePullRequest(e.ctx, forge.PullRequestSpec{Title: "t", Head: "b", Base: "main"})
	must(t, err)
	// Someone pastes the marker first: their comment is not ours to edit.
	hostile := e.fake.AddComment(pr.Number, "mallory", forge.Marker("check")+"\nall checks passed")
	c1, err := e.forge.UpsertComment(e.ctx, pr.Number, "check", "first")
	must(t, err)
	c2, err := e.forge.UpsertComment(e.ctx, pr.Number, "check", "second")
	must(t, err)
	c3, err := e.forge.UpsertComment(e.ctx, pr.Number, "check", "second")
	must(t, err)
	cs := e.fake.Comments(pr.Number)
	if len(cs) != 2 || c1.ID != c2.ID || c2.ID != c3.ID || c1.ID == hostile {
		t.Fatalf("comments = %+v; ids %d %d %d (hostile %d); want mallory's and one edited comment of ours", cs, c1.ID, c2.ID, c3.ID, hostile)
	}
	if want := forge.Marker("check") + "\nsecond"; cs[1].Body != want || cs[0].Body != forge.Marker("check")+"\nall checks passed" {
		t.Fatalf("bodies = %q, %q", cs[0].Body, cs[1].Body)
	}
	if _, err := e.forge.UpsertComment(e.ctx, pr.Number, "other", "x"); err != nil {
		t.Fatal(err)
	}
	if n := len(e.fake.Comments(pr.Number)); n != 3 {
		t.Fatalf("%d comments after a second marker, want 3", n)
	}
	if _, err := e.forge.UpsertComment(e.ctx, pr.Number, "bad-->x", "x"); err == nil {
		t.Fatal("marker with --> accepted")
	}
}

func TestStatusCommitsAndTeams(t *testing.T) {
	e := newEnv(t)
	e.fake.SetUserEmail("alice", "alice@example.com")
	head := e.push("b", "main", map[string]string{"f": "1"}, "alice@example.com")
	pr, err := e.forge.CreatePullRequest(e.ctx, forge.PullRequestSpec{Title: "t", Head: "b", Base: "main"})
	must(t, err)

	must(t, e.forge.SetStatus(e.ctx, head, forge.Status{State: "pending", Description: strings.Repeat("x", 200)}))
	must(t, e.forge.SetStatus(e.ctx, head, forge.Status{State: "success", Context: forge.StatusContext, Description: "2 approvals"}))
	sts := e.fake.Statuses(head)
	if len(sts) != 2 || sts[1].Context != forge.StatusContext || sts[1].State != "success" || sts[0].Context != forge.StatusContext {
		t.Fatalf("statuses = %+v", sts)
	}
	if err := e.forge.SetStatus(e.ctx, head, forge.Status{State: "great"}); err == nil {
		t.Fatal("invalid state accepted")
	}
	err = e.forge.SetStatus(e.ctx, strings.Repeat("a", 40), forge.Status{State: "success"})
	noToken(t, err)
	var ae *forge.APIError
	if !errors.As(err, &ae) || ae.Status != 422 {
		t.Fatalf("status on unknown sha: %v, want 422", err)
	}

	commits, err := e.forge.ListCommits(e.ctx, pr.Number)
	must(t, err)
	if len(commits) != 1 || commits[0].SHA != head || commits[0].AuthorLogin != "alice" || commits[0].AuthorEmail != "alice@example.com" || commits[0].AuthorName != "Dev" || commits[0].CommitterName != "Dev" {
		t.Fatalf("commits = %+v", commits)
	}
	// An email GitHub links to nobody still carries its name and email.
	e.push("b", "main", map[string]string{"g": "2"}, "mallory@corp.example")
	commits, err = e.forge.ListCommits(e.ctx, pr.Number)
	must(t, err)
	if len(commits) != 2 || commits[1].AuthorLogin != "" || commits[1].CommitterEmail != "mallory@corp.example" || commits[1].CommitterName != "Dev" {
		t.Fatalf("unlinked commit = %+v", commits[1])
	}

	e.fake.AddTeamMember("acme", "ml-leads", "alice")
	for _, tc := range []struct {
		user string
		want bool
	}{{"alice", true}, {"mallory", false}} {
		got, err := e.forge.IsTeamMember(e.ctx, "acme", "ml-leads", tc.user)
		must(t, err)
		if got != tc.want {
			t.Errorf("IsTeamMember(%s) = %v, want %v", tc.user, got, tc.want)
		}
	}
	e.fake.FailNext("GET", "/orgs/*/teams/*/memberships/*", 500, 10)
	got, err := e.forge.IsTeamMember(e.ctx, "acme", "ml-leads", "alice")
	noToken(t, err)
	if err == nil || got {
		t.Fatalf("membership with 5xx: %v, %v; want an error and false", got, err)
	}
}

func TestUser(t *testing.T) {
	e := newEnv(t)
	e.fake.SetUserProfile("erin", "Erin Example", "erin@example.com", 4242)
	for _, tc := range []struct {
		login string
		want  forge.User
	}{
		{"erin", forge.User{Login: "erin", ID: 4242, Name: "Erin Example", Email: "erin@example.com"}},
		{"bob", forge.User{Login: "bob", ID: e.fake.UserID("bob")}},
	} {
		got, err := e.forge.User(e.ctx, tc.login)
		must(t, err)
		if *got != tc.want {
			t.Errorf("User(%s) = %+v, want %+v", tc.login, *got, tc.want)
		}
	}
	e.fake.FailNext("GET", "/users/*", 404, 1)
	if _, err := e.forge.User(e.ctx, "ghost"); !errors.Is(err, forge.ErrNotFound) || !strings.Contains(err.Error(), `reading user "ghost"`) {
		t.Errorf("unknown user: %v, want ErrNotFound naming the login", err)
	}
	if _, err := e.forge.User(e.ctx, ""); err == nil {
		t.Error("an empty login read the token's own account")
	}
}

func TestRetries(t *testing.T) {
	e := newEnv(t)
	head := e.push("b", "main", map[string]string{"f": "1"}, "")
	pr, err := e.forge.CreatePullRequest(e.ctx, forge.PullRequestSpec{Title: "t", Head: "b", Base: "main"})
	must(t, err)

	t.Run("GET 5xx retried then succeeds", func(t *testing.T) {
		before := e.fake.CountRequests("GET", "/repos/*/*/pulls/*")
		e.fake.FailNext("GET", "/repos/*/*/pulls/*", 502, 2)
		_, err := e.forge.GetPullRequest(e.ctx, pr.Number)
		must(t, err)
		if n := e.fake.CountRequests("GET", "/repos/*/*/pulls/*") - before; n != 3 {
			t.Fatalf("%d attempts, want 3", n)
		}
	})
	t.Run("GET 5xx gives up after the bound", func(t *testing.T) {
		before := e.fake.CountRequests("GET", "/repos/*/*/pulls/*")
		e.fake.FailNext("GET", "/repos/*/*/pulls/*", 503, 3)
		_, err := e.forge.GetPullRequest(e.ctx, pr.Number)
		noToken(t, err)
		var ae *forge.APIError
		if !errors.As(err, &ae) || ae.Status != 503 {
			t.Fatalf("got %v, want 503", err)
		}
		if n := e.fake.CountRequests("GET", "/repos/*/*/pulls/*") - before; n != 3 {
			t.Fatalf("%d attempts, want 3", n)
		}
	})
	t.Run("GET timeout retried", func(t *testing.T) {
		f, err := forge.NewGitHub(forge.GitHubOptions{Repository: e.fake.Repository(), Token: token, BaseURL: e.fake.URL(), RetryBackoff: time.Millisecond, RequestTimeout: 100 * time.Millisecond})
		must(t, err)
		e.fake.DelayNext(1, time.Minute)
		got, err := f.GetPullRequest(e.ctx, pr.Number)
		must(t, err)
		if got.Number != pr.Number {
			t.Fatalf("got #%d", got.Number)
		}
		e.fake.Delay(time.Minute)
		_, err = f.GetPullRequest(e.ctx, pr.Number)
		e.fake.Delay(0)
		noToken(t, err)
		if !errors.Is(err, forge.ErrTimeout) {
			t.Fatalf("always slow: %v, want ErrTimeout", err)
		}
	})
	t.Run("merge 5xx not resent", func(t *testing.T) {
		e.fake.FailNext("PUT", "/repos/*/*/pulls/*/merge", 502, 1)
		_, err := e.forge.Merge(e.ctx, pr.Number, head, "m", "")
		noToken(t, err)
		var ae *forge.APIError
		if !errors.As(err, &ae) || ae.Status != 502 {
			t.Fatalf("merge with 502: %v, want the 502", err)
		}
		if n := e.fake.CountRequests("PUT", "/repos/*/*/pulls/*/merge"); n != 1 {
			t.Fatalf("merge sent %d times, want 1", n)
		}
		if e.fake.PullRequests()[0].Merged {
			t.Fatal("PR merged although the merge failed")
		}
		sha, err := e.forge.Merge(e.ctx, pr.Number, head, "m", "")
		must(t, err)
		if sha == "" {
			t.Fatal("no merge sha")
		}
	})
}

func TestRateLimit(t *testing.T) {
	for _, status := range []int{403, 429} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			e := newEnv(t)
			e.fake.FailNext("GET", "*", status, 1)
			_, err := e.forge.ListPullRequests(e.ctx, "open", "")
			noToken(t, err)
			var rl *forge.RateLimitError
			if !errors.Is(err, forge.ErrRateLimited) || !errors.As(err, &rl) {
				t.Fatalf("got %v, want ErrRateLimited", err)
			}
			if !rl.Reset.After(time.Now()) {
				t.Fatalf("reset %v is not in the future", rl.Reset)
			}
			if n := e.fake.CountRequests("GET", "*"); n != 1 {
				t.Fatalf("%d requests, want 1 (no retry on rate limit)", n)
			}
		})
	}
}

func TestTokensNeverInErrors(t *testing.T) {
	e := newEnv(t)
	bad := newClient(t, e.fake, "ghp_wrong")
	_, err := bad.GetPullRequest(e.ctx, 1)
	if !errors.Is(err, forge.ErrUnauthorized) || strings.Contains(err.Error(), "ghp_wrong") {
		t.Fatalf("wrong token: %v, want ErrUnauthorized without the token", err)
	}
	// A URL carrying the token (a misconfiguration) to a closed port.
	f, err := forge.NewGitHub(forge.GitHubOptions{Repository: "acme/models", Token: token, BaseURL: "http://" + token + "@127.0.0.1:1/api/v3/?access_token=" + token, Attempts: 1})
	must(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, call := range []func() error{
		func() error { _, err := f.GetPullRequest(ctx, 1); return err },
		func() error { _, err := f.Merge(ctx, 1, "abc", "m", ""); return err },
		func() error { return f.SetStatus(ctx, "abc", forge.Status{State: "success"}) },
		func() error { _, err := f.IsTeamMember(ctx, "o", "t", "u"); return err },
	} {
		err := call()
		if err == nil {
			t.Fatal("call to a closed port succeeded")
		}
		noToken(t, err)
	}
}

func TestNewAndTokenFromEnv(t *testing.T) {
	t.Setenv("GH_TOKEN", "")
	t.Setenv("GITHUB_TOKEN", "b")
	if got := forge.TokenFromEnv(); got != "b" {
		t.Fatalf("TokenFromEnv = %q, want GITHUB_TOKEN", got)
	}
	t.Setenv("GH_TOKEN", "a")
	if got := forge.TokenFromEnv(); got != "a" {
		t.Fatalf("TokenFromEnv = %q, want GH_TOKEN first", got)
	}
	for _, tc := range []struct {
		name    string
		opts    forge.Options
		wantErr string
	}{
		{"github", forge.Options{Type: "github", Repository: "o/r"}, ""},
		{"default", forge.Options{Repository: "o/r", URL: "https://ghe.example.com"}, ""},
		{"gitlab", forge.Options{Type: "gitlab", Repository: "o/r"}, `forge "gitlab": type is not supported`},
		{"bad repo", forge.Options{Repository: "nope"}, `repository is not valid; want OWNER/NAME`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := forge.New(tc.opts)
			if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("New: %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestFake(t *testing.T) {
	f := &forge.Fake{ListReviewsFn: func(context.Context, int) ([]forge.Review, error) {
		return []forge.Review{{ID: 1, User: "a", State: "APPROVED"}, {ID: 2, User: "a", State: "COMMENTED"}}, nil
	}}
	got, err := forge.LatestReviews(context.Background(), f, 1)
	if err != nil || len(got) != 1 || got[0].State != "APPROVED" {
		t.Fatalf("LatestReviews = %v, %v", got, err)
	}
	if _, err := f.Merge(context.Background(), 1, "s", "m", ""); err == nil {
		t.Fatal("Merge without MergeFn succeeded")
	}
}

// TestEnsurePullRequestOverFake drives the derived EnsurePullRequest
// through the primitives alone: find, create, the 422 race, update and
// labels, with no implementation of its own in the forge.
func TestEnsurePullRequestOverFake(t *testing.T) {
	ctx := context.Background()
	spec := forge.PullRequestSpec{Title: "T", Body: "B", Head: "h", Base: "main", Labels: []string{"modelgit", "env/dev"}}
	t.Run("creates when none is open", func(t *testing.T) {
		f := &forge.Fake{
			FindPullRequestFn: func(context.Context, string, string) (*forge.PullRequest, error) { return nil, nil },
			CreatePullRequestFn: func(_ context.Context, s forge.PullRequestSpec) (*forge.PullRequest, error) {
				return &forge.PullRequest{Number: 7, Title: s.Title, Body: s.Body, Labels: s.Labels}, nil
			},
		}
		pr, created, err := forge.EnsurePullRequest(ctx, f, spec)
		if err != nil || !created || pr.Number != 7 {
			t.Fatalf("got %+v, %v, %v; want #7 created", pr, created, err)
		}
	})
	t.Run("adopts after losing the race, updating text and adding missing labels", func(t *testing.T) {
		finds := 0
		var updated, labelled []string
		f := &forge.Fake{
			FindPullRequestFn: func(context.Context, string, string) (*forge.PullRequest, error) {
				finds++
				if finds == 1 {
					return nil, nil
				}
				return &forge.PullRequest{Number: 3, Title: "old", Labels: []string{"modelgit"}}, nil
			},
			CreatePullRequestFn: func(context.Context, forge.PullRequestSpec) (*forge.PullRequest, error) {
				return nil, &forge.APIError{Status: 422, Message: "Validation Failed: A pull request already exists for acme:h."}
			},
			UpdatePullRequestFn: func(_ context.Context, n int, title, body string) (*forge.PullRequest, error) {
				updated = append(updated, fmt.Sprintf("#%d %s %s", n, title, body))
				return &forge.PullRequest{Number: n, Title: title, Body: body, Labels: []string{"modelgit"}}, nil
			},
			AddLabelsFn: func(_ context.Context, n int, ls []string) ([]string, error) {
				labelled = append(labelled, ls...)
				return append([]string{"modelgit"}, ls...), nil
			},
		}
		pr, created, err := forge.EnsurePullRequest(ctx, f, spec)
		if err != nil || created || pr.Number != 3 {
			t.Fatalf("got %+v, %v, %v; want #3 adopted", pr, created, err)
		}
		if fmt.Sprint(updated) != "[#3 T B]" || fmt.Sprint(labelled) != "[env/dev]" || fmt.Sprint(pr.Labels) != "[modelgit env/dev]" {
			t.Fatalf("updated %v, labelled %v, labels %v", updated, labelled, pr.Labels)
		}
	})
	t.Run("another error is returned", func(t *testing.T) {
		boom := errors.New("boom")
		f := &forge.Fake{
			FindPullRequestFn:   func(context.Context, string, string) (*forge.PullRequest, error) { return nil, nil },
			CreatePullRequestFn: func(context.Context, forge.PullRequestSpec) (*forge.PullRequest, error) { return nil, boom },
		}
		if _, _, err := forge.EnsurePullRequest(ctx, f, spec); !errors.Is(err, boom) {
			t.Fatalf("err = %v, want boom", err)
		}
	})
}

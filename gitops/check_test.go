package gitops_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/check"
	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/gitops/promote"
	"github.com/modelgit/modelgit/gitops/repo"
)

// governed is a promote fixture whose forge retries fast, with a policy
// for dev committed on main.
type governed struct {
	*promoteFixture
}

func newGoverned(t *testing.T, devPolicy string) *governed {
	t.Helper()
	p := newPromoteFixture(t)
	p.forge = newFastForge(t, p.fake.URL())
	g := &governed{p}
	if devPolicy != "" {
		g.commitOnMain("policies/dev.yaml", devPolicy, "Set the dev policy")
	}
	return g
}

// newFastForge is a client of the fake that retries without waiting.
func newFastForge(t *testing.T, url string) forge.Forge {
	t.Helper()
	fg, err := forge.NewGitHub(forge.GitHubOptions{Repository: "acme/models", BaseURL: url, RetryBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return fg
}

// commitOnMain commits a file on main with the real git (signed by
// alice, as configured) and pushes it.
func (g *governed) commitOnMain(path, content, msg string) {
	g.t.Helper()
	writeFile(g.t, filepath.Join(g.root, path), content)
	git(g.t, g.root, "add", path)
	git(g.t, g.root, "commit", "-q", "-S", "-m", msg)
	git(g.t, g.root, "push", "-q", "origin", "main")
	g.reopen()
}

// pushOnBranch adds a signed commit to a pull request's branch, as a
// reviewer pushing a fix would, and returns the new head.
func (g *governed) pushOnBranch(branch, path, content string, extraGit ...string) string {
	g.t.Helper()
	git(g.t, g.root, "fetch", "-q", "origin", branch)
	git(g.t, g.root, "checkout", "-q", "-B", branch, "FETCH_HEAD")
	writeFile(g.t, filepath.Join(g.root, path), content)
	git(g.t, g.root, "add", path)
	git(g.t, g.root, append(append([]string{}, extraGit...), "commit", "-q", "-S", "-m", "Edit "+path)...)
	git(g.t, g.root, "push", "-q", "origin", branch)
	head := git(g.t, g.root, "rev-parse", "HEAD")
	git(g.t, g.root, "checkout", "-q", "main")
	g.reopen()
	return head
}

func (g *governed) check(pr int) *check.CheckReport {
	g.t.Helper()
	rep, err := check.Check(ctx, g.reg, check.CheckOptions{PR: pr, Forge: g.forge, Remote: "origin"})
	if err != nil {
		g.t.Fatalf("check #%d: %v", pr, err)
	}
	return rep
}

func item(t *testing.T, rep *check.CheckReport, name string) check.CheckItem {
	t.Helper()
	for _, it := range rep.Items {
		if it.Name == name {
			return it
		}
	}
	t.Fatalf("no check %q in %+v", name, rep.Items)
	return check.CheckItem{}
}

func wantStatus(t *testing.T, rep *check.CheckReport, name string, want check.CheckStatus, detailSubs ...string) {
	t.Helper()
	it := item(t, rep, name)
	if it.Status != want {
		t.Errorf("%s = %s (%s), want %s; details:\n  %s", name, it.Status, it.Summary, want, strings.Join(it.Details, "\n  "))
	}
	all := it.Summary + "\n" + strings.Join(it.Details, "\n")
	for _, s := range detailSubs {
		if !strings.Contains(all, s) {
			t.Errorf("%s lacks %q:\n%s", name, s, all)
		}
	}
}

func approval(t *testing.T, rep *check.CheckReport, user string) check.Approval {
	t.Helper()
	for _, a := range rep.Approvals {
		if a.User == user {
			return a
		}
	}
	t.Fatalf("no review by %s in %+v", user, rep.Approvals)
	return check.Approval{}
}

const teamPolicy = `apiVersion: modelgit.dev/v1alpha1
kind: PromotionPolicy
approvals:
  count: 1
  teams: [acme/ml-reviewers]
`

// TestCheckApprovalStory is the whole review story on one bot-opened
// promotion pull request.
func TestCheckApprovalStory(t *testing.T) {
	g := newGoverned(t, teamPolicy)
	g.fake.SetUserEmail("alice", "alice@example.com")
	g.fake.AddTeamMember("acme", "ml-reviewers", "carol")
	g.fake.AddTeamMember("acme", "ml-reviewers", "erin")
	g.fake.AddTeamMember("acme", "ml-reviewers", "alice")
	g.fake.SetUserType("ci-bot", "Bot")
	g.fake.AddTeamMember("acme", "ml-reviewers", "ci-bot")

	res, err := g.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	pr := res.PR.Number

	// No reviews: everything but approvals passes.
	rep := g.check(pr)
	for _, name := range []string{check.CheckManifests, check.CheckSignatures, check.CheckImmutability, check.CheckRendered, check.CheckGates} {
		wantStatus(t, rep, name, check.CheckPass)
	}
	wantStatus(t, rep, check.CheckArtifacts, check.CheckSkip, "no version added")
	wantStatus(t, rep, check.CheckOrder, check.CheckSkip, "first environment")
	wantStatus(t, rep, check.CheckApprovals, check.CheckFail, "0 of 1")
	if rep.Passed || rep.Required != 1 || rep.Missing != 1 || rep.Head != res.Commit.String() {
		t.Fatalf("report = passed %v required %d missing %d head %s", rep.Passed, rep.Required, rep.Missing, rep.Head)
	}
	if len(rep.Promotions) != 1 || rep.Promotions[0].To != "0.1.0+data.1" || rep.Promotions[0].From != "" || !strings.Contains(rep.Promotions[0].RequestedBy, "alice@example.com") {
		t.Errorf("promotions = %+v", rep.Promotions)
	}
	if !strings.Contains(rep.Eligible, "acme/ml-reviewers") || !strings.Contains(rep.Eligible, "Alice") {
		t.Errorf("eligible = %q", rep.Eligible)
	}

	// The requester, a bot, a non-member, and bob on this head.
	g.fake.AddReview(pr, "alice", forge.ReviewApproved, "")
	g.fake.AddReview(pr, "ci-bot", forge.ReviewApproved, "")
	g.fake.AddReview(pr, "dave", forge.ReviewApproved, "")
	g.fake.AddReview(pr, "carol", forge.ReviewApproved, "")
	rep = g.check(pr)
	if a := approval(t, rep, "alice"); a.Counted || !strings.Contains(a.Reason, "requested the promotion") {
		t.Errorf("alice = %+v, want not counted as the requester", a)
	}
	if a := approval(t, rep, "ci-bot"); a.Counted || a.Reason != "a bot" {
		t.Errorf("ci-bot = %+v", a)
	}
	if a := approval(t, rep, "dave"); a.Counted || !strings.Contains(a.Reason, "not a member of acme/ml-reviewers") {
		t.Errorf("dave = %+v", a)
	}
	if a := approval(t, rep, "carol"); !a.Counted {
		t.Errorf("carol = %+v, want counted", a)
	}
	wantStatus(t, rep, check.CheckApprovals, check.CheckPass, "1 of 1")
	if !rep.Passed {
		t.Fatalf("not passed: %+v", rep.Failed())
	}

	// A push moves the head: carol's approval is on an older head now.
	newHead := g.pushOnBranch(res.Branch, "notes/README.md", "why\n")
	rep = g.check(pr)
	if rep.Head != newHead {
		t.Fatalf("head = %s, want %s", rep.Head, newHead)
	}
	if a := approval(t, rep, "carol"); a.Counted || !strings.Contains(a.Reason, "older head") {
		t.Errorf("carol after push = %+v", a)
	}
	wantStatus(t, rep, check.CheckApprovals, check.CheckFail)

	// erin requests changes, then approves: the approval supersedes.
	g.fake.AddReview(pr, "erin", forge.ReviewChangesRequested, "")
	rep = g.check(pr)
	wantStatus(t, rep, check.CheckApprovals, check.CheckFail, "changes requested by erin")
	g.fake.AddReview(pr, "erin", forge.ReviewCommented, "")
	g.fake.AddReview(pr, "erin", forge.ReviewApproved, "")
	rep = g.check(pr)
	wantStatus(t, rep, check.CheckApprovals, check.CheckPass)
	if !rep.Passed {
		t.Fatalf("not passed: %+v", rep.Failed())
	}

	// The API fails in the middle: 5xx on reviews (past the retries), then
	// a 403 rate limit on team membership. Neither counts as approved.
	g.fake.FailNext("GET", "/repos/*/*/pulls/*/reviews", 502, 3)
	rep = g.check(pr)
	wantStatus(t, rep, check.CheckApprovals, check.CheckFail, "reading the reviews", "502", "counted as not approved")
	if rep.Passed {
		t.Error("passed while the reviews could not be read")
	}
	g.fake.FailNext("GET", "/orgs/*/teams/*/memberships/*", 403, 1)
	rep = g.check(pr)
	if a := approval(t, rep, "erin"); a.Counted || !strings.Contains(a.Reason, "could not be read") || !strings.Contains(a.Reason, "rate limit") {
		t.Errorf("erin under a rate limit = %+v", a)
	}
	wantStatus(t, rep, check.CheckApprovals, check.CheckFail, "rate limit")

	// Healthy again (a new process: go-github remembers a rate limit
	// until it resets): merge, with the trailers in git log, erin named
	// by her public profile.
	g.forge = newFastForge(t, g.fake.URL())
	g.fake.SetUserProfile("erin", "Erin Example", "erin@example.com", 0)
	mr, err := check.Merge(ctx, g.reg, check.MergeOptions{CheckOptions: check.CheckOptions{PR: pr, Forge: g.forge, Remote: "origin"}})
	if err != nil {
		t.Fatal(err)
	}
	git(t, g.root, "pull", "-q", "--no-rebase", "origin", "main")
	msg := git(t, g.root, "log", "-1", "--format=%B", mr.Commit)
	tr := trailerMap(msg)
	if got := tr["Approved-by"]; len(got) != 1 || got[0] != "Erin Example <erin@example.com>" {
		t.Errorf("Approved-by = %v\n%s", got, msg)
	}
	if got := tr["Policy"]; len(got) != 1 || !strings.HasPrefix(got[0], "dev sha256:") {
		t.Errorf("Policy = %v", got)
	}
	if got := tr["Checked-Head"]; len(got) != 1 || got[0] != newHead {
		t.Errorf("Checked-Head = %v, want %s", got, newHead)
	}
	if got := tr["Pull-Request"]; len(got) != 1 || !strings.HasPrefix(got[0], "#1 ") {
		t.Errorf("Pull-Request = %v", got)
	}
	parents := strings.Fields(git(t, g.root, "log", "-1", "--format=%P", mr.Commit))
	if len(parents) != 2 || parents[1] != newHead {
		t.Errorf("merge parents = %v, want a merge commit of %s", parents, newHead)
	}
	// git's own trailer parser agrees.
	if out := git(t, g.root, "log", "-1", "--format=%(trailers:key=Approved-by,valueonly)", mr.Commit); out != "Erin Example <erin@example.com>" {
		t.Errorf("git interpret-trailers sees Approved-by %q", out)
	}
	// And verify accepts the history, the forge's merge included.
	g.reopen()
	if v, err := check.Verify(ctx, g.reg, check.VerifyOptions{}); err != nil || !v.OK() {
		t.Errorf("verify after merge: %v %+v", err, v)
	}
}

func trailerMap(msg string) map[string][]string {
	out := map[string][]string{}
	for _, t := range repo.ParseTrailers(msg) {
		out[t.Key] = append(out[t.Key], t.Value)
	}
	return out
}

// racingForge pushes to the pull request's branch just before merging,
// as a push racing the merge button would.
type racingForge struct {
	forge.Forge
	race func()
}

func (f racingForge) Merge(ctx context.Context, number int, sha, message, method string) (string, error) {
	f.race()
	return f.Forge.Merge(ctx, number, sha, message, method)
}

func TestMergeRacingAPushIsRefused(t *testing.T) {
	g := newGoverned(t, "")
	res, err := g.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	g.fake.AddReview(res.PR.Number, "bob", forge.ReviewApproved, "")
	fg := racingForge{Forge: g.forge, race: func() { g.pushOnBranch(res.Branch, "notes/late.md", "late\n") }}
	_, err = check.Merge(ctx, g.reg, check.MergeOptions{CheckOptions: check.CheckOptions{PR: res.PR.Number, Forge: fg, Remote: "origin"}})
	if !errors.Is(err, forge.ErrHeadMoved) || !strings.Contains(err.Error(), "run modelgit check again") {
		t.Fatalf("err = %v, want ErrHeadMoved saying to check again", err)
	}
	if prs := g.fake.PullRequests(); prs[0].Merged {
		t.Error("merged blind")
	}
	// A merge of a failing check is refused before the API is asked.
	g.fake.AddReview(res.PR.Number, "bob", forge.ReviewChangesRequested, "")
	mr, err := check.Merge(ctx, g.reg, check.MergeOptions{CheckOptions: check.CheckOptions{PR: res.PR.Number, Forge: g.forge, Remote: "origin"}})
	if !errors.Is(err, check.ErrCheckFailed) || mr == nil || mr.Report.Passed {
		t.Fatalf("err = %v, want ErrCheckFailed with the report", err)
	}
	if n := g.fake.CountRequests("PUT", "/repos/*/*/pulls/*/merge"); n != 1 {
		t.Errorf("%d merge requests, want only the raced one", n)
	}
}

// TestCheckReadsPolicyAndSignersFromBase: a pull request that loosens its
// own gate, or adds its own signer, is judged by the base's.
func TestCheckReadsPolicyAndSignersFromBase(t *testing.T) {
	g := newGoverned(t, strings.Replace(teamPolicy, "count: 1", "count: 2", 1))
	res, err := g.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	pr := res.PR.Number
	g.fake.AddTeamMember("acme", "ml-reviewers", "carol")
	// The PR drops its own approval requirement.
	g.pushOnBranch(res.Branch, "policies/dev.yaml", "apiVersion: modelgit.dev/v1alpha1\nkind: PromotionPolicy\napprovals:\n  count: 0\n")
	g.fake.AddReview(pr, "carol", forge.ReviewApproved, "")
	rep := g.check(pr)
	if rep.Required != 2 || rep.Missing != 1 {
		t.Errorf("required %d missing %d, want the base's 2 and 1 missing", rep.Required, rep.Missing)
	}
	wantStatus(t, rep, check.CheckApprovals, check.CheckFail, "1 of 2")
	base, err := g.reg.Policy("main", "dev")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Policies["dev"] != base.Digest.String() {
		t.Errorf("policy digest %s, want the base's %s", rep.Policies["dev"], base.Digest)
	}

	// The PR adds mallory to the allowed signers and a commit signed by
	// her: the base's signers do not know her.
	key, pub := sshKey(t, "mallory@example.com")
	signers, err := os.ReadFile(filepath.Join(g.root, "policies", "allowed_signers"))
	if err != nil {
		t.Fatal(err)
	}
	g.pushOnBranch(res.Branch, "policies/allowed_signers", string(signers)+`mallory@example.com namespaces="git" `+pub+"\n")
	g.pushOnBranch(res.Branch, "environments/dev/notes.txt", "by mallory\n", "-c", "user.signingkey="+key, "-c", "user.email=mallory@example.com")
	rep = g.check(pr)
	wantStatus(t, rep, check.CheckSignatures, check.CheckFail, "1 commit not signed")
}

// TestCheckOrderAndSoak: staging needs the version to have run in dev for
// a day, by the time of the merge commit on main.
func TestCheckOrderAndSoak(t *testing.T) {
	g := newGoverned(t, "")
	g.commitOnMain("policies/staging.yaml", "apiVersion: modelgit.dev/v1alpha1\nkind: PromotionPolicy\nsoak: 24h\n", "Set the staging policy")
	forced, err := promote.Promote(ctx, g.reg, promote.PromoteOptions{
		Ref: "fraud@0.1.1+data.1", Env: "staging", Force: true,
		Identity: gitops.Identity{Signature: alice, Signer: g.signer}, Forge: g.forge, Remote: "origin",
	})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := check.Check(ctx, g.reg, check.CheckOptions{Base: "main", Head: forced.Commit.String()})
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, rep, check.CheckOrder, check.CheckFail, `has not run in "dev"`, "forced")
	wantStatus(t, rep, check.CheckSoak, check.CheckFail, "has not run there")
	wantStatus(t, rep, check.CheckApprovals, check.CheckSkip, "no pull request")

	dev, err := g.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	g.mergeAndPull(dev.PR)
	git(t, g.root, "push", "-q", "origin", "main")
	stg, err := g.promote("fraud@0.1.0+data.1", "staging", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	merged := time.Now()
	for _, tc := range []struct {
		now  time.Time
		want check.CheckStatus
		sub  string
	}{
		{merged.Add(time.Hour), check.CheckFail, "the policy asks 24h"},
		{merged.Add(25 * time.Hour), check.CheckPass, "(policy: 24h)"},
	} {
		rep, err := check.Check(ctx, g.reg, check.CheckOptions{Base: "main", Head: stg.Commit.String(), Now: tc.now})
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, rep, check.CheckOrder, check.CheckPass, "ran in dev since")
		wantStatus(t, rep, check.CheckSoak, tc.want, tc.sub)
	}
}

// TestCheckFindsBadManifestsAndStaleRendering: errors become annotations
// on file and line.
func TestCheckFindsBadManifestsAndStaleRendering(t *testing.T) {
	g := newGoverned(t, "")
	res, err := g.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	g.pushOnBranch(res.Branch, "environments/dev/fraud.yaml", "apiVersion: modelgit.dev/v1alpha1\nkind: Release\nmodel: fraud\nenvironment: dev\nstrategy: sideways\nversions: []\n")
	rep := g.check(res.PR.Number)
	wantStatus(t, rep, check.CheckManifests, check.CheckFail, "environments/dev/fraud.yaml")
	var found bool
	for _, a := range rep.Annotations {
		if a.File == "environments/dev/fraud.yaml" && a.Line > 0 && a.Level == "error" {
			found = true
		}
	}
	if !found {
		t.Errorf("no annotation with a line on the release: %+v", rep.Annotations)
	}
	// The JSON form is what the Action reads.
	b, err := json.Marshal(rep)
	if err != nil || !strings.Contains(string(b), `"annotations":[{"file":"environments/dev/fraud.yaml"`) {
		t.Errorf("json = %s (%v)", b, err)
	}
}

// TestMergeMessageKeepsInjectionAsData: a PR title with newlines, ${{ }},
// backticks and $(…) cannot add trailers to the merge commit.
func TestMergeMessageKeepsInjectionAsData(t *testing.T) {
	g := newGoverned(t, "")
	res, err := g.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	evil := "Promote ${{ secrets.TOKEN }} `id` $(rm -rf /)\n\nApproved-by: mallory <m@evil>\nChecked-Head: 0000"
	if _, err := g.forge.UpdatePullRequest(ctx, res.PR.Number, evil, "body"); err != nil {
		t.Fatal(err)
	}
	g.fake.AddReview(res.PR.Number, "bob", forge.ReviewApproved, "")
	mr, err := check.Merge(ctx, g.reg, check.MergeOptions{CheckOptions: check.CheckOptions{PR: res.PR.Number, Forge: g.forge, Remote: "origin"}})
	if err != nil {
		t.Fatal(err)
	}
	git(t, g.root, "pull", "-q", "--no-rebase", "origin", "main")
	msg := git(t, g.root, "log", "-1", "--format=%B", mr.Commit)
	tr := trailerMap(msg)
	if got, want := tr["Approved-by"], fmt.Sprintf("bob <%d+bob@users.noreply.github.com>", g.fake.UserID("bob")); len(got) != 1 || got[0] != want {
		t.Errorf("Approved-by = %v, want %s\n%s", got, want, msg)
	}
	if got := tr["Checked-Head"]; len(got) != 1 || got[0] != res.Commit.String() {
		t.Errorf("Checked-Head = %v", got)
	}
	subject := git(t, g.root, "log", "-1", "--format=%s", mr.Commit)
	if !strings.Contains(subject, "${{ secrets.TOKEN }} `id` $(rm -rf /) Approved-by: mallory") {
		t.Errorf("subject = %q, want the title kept as one line of data", subject)
	}
}

func TestMergeMessageTable(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rep   check.CheckReport
		wants []string
	}{
		{"approvers and policies", check.CheckReport{
			Head:        "abc",
			PullRequest: &check.CheckedPR{Number: 7, Title: "Promote x", URL: "https://github.com/acme/models/pull/7"},
			Approvals:   []check.Approval{{User: "bob", Counted: true}, {User: "eve"}, {User: "carol", Counted: true}},
			Policies:    map[string]string{"prod": "sha256:1", "dev": "sha256:2"},
		}, []string{"Merge pull request #7: Promote x\n", "\nApproved-by: bob <bob@users.noreply.github.com>\nApproved-by: carol <carol@users.noreply.github.com>\nPolicy: dev sha256:2\nPolicy: prod sha256:1\nPull-Request: #7 https://github.com/acme/models/pull/7\nChecked-Head: abc\n"}},
		{"newline in a login", check.CheckReport{
			Head:      "abc",
			Approvals: []check.Approval{{User: "bob\nApproved-by: x", Counted: true}},
		}, []string{"Approved-by: bob Approved-by: x <"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := check.MergeMessage(&tc.rep)
			for _, w := range tc.wants {
				if !strings.Contains(msg, w) {
					t.Errorf("message lacks %q:\n%s", w, msg)
				}
			}
			if n := strings.Count(msg, "Approved-by:"); tc.name == "newline in a login" && len(trailerMap(msg)["Approved-by"]) != 1 {
				t.Errorf("%d Approved-by trailers:\n%s", n, msg)
			}
		})
	}
}

package action_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelgit/modelgit/action"
	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/gitops/forge/githubfake"
	"github.com/modelgit/modelgit/gitops/forge/githubfake/githubfaketest"
	"github.com/modelgit/modelgit/gitops/repo"
)

// story is a GitOps repository governed on the GitHub fake, where every
// check and merge runs as a workflow job does: the action's own script
// (action.yml) runs the real modelgit CLI (this test binary, see
// TestMain) in the checked-out repository, with the runner's GITHUB_*
// environment. The API is reached through a proxy that can race a push
// with a merge.
type story struct {
	t       *testing.T
	fake    *githubfake.Server
	api     string   // the proxy's API URL, which modelgit.yaml names
	dir     string   // the repository a job checks out
	env     []string // HOME and git's configuration for git and modelgit
	summary string   // $GITHUB_STEP_SUMMARY, shared by the story's jobs
	runs    int

	mu          sync.Mutex
	beforeMerge func() // run once by the proxy before it forwards a merge
}

const teamPolicy = `apiVersion: modelgit.dev/v1alpha1
kind: PromotionPolicy
approvals:
  count: 1
  teams: [acme/ml-reviewers]
`

const noApprovalPolicy = `apiVersion: modelgit.dev/v1alpha1
kind: PromotionPolicy
approvals:
  count: 0
`

// newStory lays out a repository with modelgit init (signed by alice's
// ssh key, forge: the fake), registers fraud, sets the dev policy and
// pushes main to the fake.
func newStory(t *testing.T, devPolicy string) *story {
	t.Helper()
	for _, tool := range []string{"git", "ssh-keygen", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed: apt-get install -y git openssh-client bash", tool)
		}
	}
	tmp := t.TempDir()
	home := filepath.Join(tmp, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	gitconfig := "[user]\n\tname = Alice\n\temail = alice@example.com\n[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
	if err := os.WriteFile(filepath.Join(home, ".gitconfig"), []byte(gitconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &story{t: t, summary: filepath.Join(tmp, "summary.md")}
	s.env = []string{
		"HOME=" + home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "TZ=UTC", "NO_COLOR=1",
		"GNUPGHOME=" + filepath.Join(home, ".gnupg"), "SSH_AUTH_SOCK=",
		// A race-enabled binary sleeps a second at exit by default.
		"GORACE=atexit_sleep_ms=0",
	}
	key := filepath.Join(home, "alice")
	s.run(tmp, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice@example.com", "-f", key)

	bare := filepath.Join(tmp, "origin.git")
	s.run(tmp, "git", "init", "-q", "--bare", "-b", "main", bare)
	s.fake = githubfaketest.New(t, githubfake.Options{Owner: "acme", Repo: "models", GitDir: bare, DefaultBranch: "main"})
	s.api = s.proxy()

	s.dir = filepath.Join(tmp, "registry")
	s.run(tmp, "git", "init", "-q", s.dir)
	s.git("config", "gpg.format", "ssh")
	s.git("config", "user.signingkey", key)
	s.modelgit("init", "--cluster-store", "pvc://models/modelgit", "--github", "acme/models", "--github-url", s.api)
	in := filepath.Join(tmp, "in")
	for name, content := range map[string]string{"model.safetensors": "weights v1\n", "metrics.json": `{"accuracy": 0.9}`, "data/train.csv": "amount,hour\n1.0,3\n"} {
		writeFile(t, filepath.Join(in, name), content)
	}
	s.modelgit("register", "fraud", "--weights", filepath.Join(in, "model.safetensors"), "--metrics", filepath.Join(in, "metrics.json"), "--data", filepath.Join(in, "data"), "--framework", "sklearn=1.5.2")
	writeFile(t, filepath.Join(s.dir, "policies", "dev.yaml"), devPolicy)
	s.git("add", "policies/dev.yaml")
	s.git("commit", "-q", "-S", "-m", "Set the dev policy")
	s.git("remote", "add", "origin", s.fake.GitURL())
	s.git("push", "-q", "origin", "main")
	s.fake.SetUserEmail("alice", "alice@example.com")
	return s
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// proxy serves the fake's API at a URL of its own and runs beforeMerge
// (once) when a merge request arrives, before forwarding it.
func (s *story) proxy() string {
	target, err := url.Parse(s.fake.URL())
	if err != nil {
		s.t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/merge") {
			s.mu.Lock()
			race := s.beforeMerge
			s.beforeMerge = nil
			s.mu.Unlock()
			if race != nil {
				race()
			}
		}
		rp.ServeHTTP(w, r)
	}))
	s.t.Cleanup(srv.Close)
	return srv.URL + target.Path
}

// run runs a program in dir with the story's environment and returns its
// trimmed stdout, failing the test on error.
func (s *story) run(dir, name string, args ...string) string {
	s.t.Helper()
	out, err := s.runErr(dir, nil, name, args...)
	if err != nil {
		s.t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return out
}

// runErr runs a program in dir with the story's environment and env.
func (s *story) runErr(dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(append([]string{"PATH=" + os.Getenv("PATH")}, s.env...), env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%w\n%s%s", err, stdout.String(), stderr.String())
	}
	return strings.TrimSpace(stdout.String()), nil
}

func (s *story) git(args ...string) string {
	s.t.Helper()
	return s.run(s.dir, "git", args...)
}

// modelgit runs the CLI outside any workflow (a person at a terminal).
func (s *story) modelgit(args ...string) string {
	s.t.Helper()
	exe, err := os.Executable()
	if err != nil {
		s.t.Fatal(err)
	}
	out, err := s.runErr(s.dir, []string{cliEnv + "=1"}, exe, args...)
	if err != nil {
		s.t.Fatalf("modelgit %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// pushOnBranch adds a signed commit to branch, as a reviewer pushing a
// fix does, and returns the new head.
func (s *story) pushOnBranch(branch, path, content string) string {
	s.t.Helper()
	head, err := s.tryPushOnBranch(branch, path, content)
	if err != nil {
		s.t.Fatal(err)
	}
	return head
}

// tryPushOnBranch is pushOnBranch for any goroutine: it returns its error.
func (s *story) tryPushOnBranch(branch, path, content string) (string, error) {
	if err := os.MkdirAll(filepath.Dir(filepath.Join(s.dir, path)), 0o755); err != nil {
		return "", err
	}
	steps := [][]string{
		{"fetch", "-q", "origin", branch},
		{"checkout", "-q", "-B", "story-push", "FETCH_HEAD"},
		{"!write"},
		{"add", path},
		{"commit", "-q", "-S", "-m", "Edit " + path},
		{"push", "-q", "origin", "HEAD:refs/heads/" + branch},
		{"rev-parse", "HEAD"},
		{"checkout", "-q", "main"},
	}
	var head string
	for _, args := range steps {
		if args[0] == "!write" {
			if err := os.WriteFile(filepath.Join(s.dir, path), []byte(content), 0o644); err != nil {
				return "", err
			}
			continue
		}
		out, err := s.runErr(s.dir, nil, "git", args...)
		if err != nil {
			return "", fmt.Errorf("pushing on %s: git %s: %w", branch, strings.Join(args, " "), err)
		}
		if args[0] == "rev-parse" {
			head = out
		}
	}
	return head, nil
}

// job runs the action with command (check or merge) on pull request pr,
// as a workflow job triggered by event does: checkout (fetch everything),
// then action.yml's script with the runner's environment.
func (s *story) job(command, event string, pr int) actionRun {
	s.t.Helper()
	s.runs++
	s.git("fetch", "-q", "origin", "+refs/heads/*:refs/remotes/origin/*")
	exe, err := os.Executable()
	if err != nil {
		s.t.Fatal(err)
	}
	output := filepath.Join(s.t.TempDir(), "output")
	return runAction(s.t, actionCall{
		with: map[string]string{"command": command},
		vals: map[string]string{"github.event.pull_request.number": fmt.Sprint(pr)},
		dir:  s.dir,
		env: append(append([]string{}, s.env...),
			cliEnv+"=1",
			"GITHUB_ACTIONS=true",
			"GITHUB_EVENT_NAME="+event,
			"GITHUB_REPOSITORY=acme/models",
			"GITHUB_SERVER_URL=https://github.com",
			fmt.Sprintf("GITHUB_RUN_ID=%d", s.runs),
			"GITHUB_STEP_SUMMARY="+s.summary,
			"GITHUB_OUTPUT="+output,
		),
		modelgit: exe,
	})
}

// outcome is what one job must leave behind.
type outcome struct {
	code    int      // the job's exit code
	state   string   // the latest modelgit/promotion status on head
	desc    string   // in that status's description
	comment []string // in the one sticky comment
}

// head is pull request pr's head on the fake.
func (s *story) head(pr int) string {
	for _, p := range s.fake.PullRequests() {
		if p.Number == pr {
			return p.HeadSHA
		}
	}
	s.t.Fatalf("no pull request #%d", pr)
	return ""
}

// expect checks a job's outcome: exit code, the latest status on head,
// exactly one modelgit comment on the pull request with the reasons.
func (s *story) expect(step string, r actionRun, pr int, head string, want outcome) {
	s.t.Helper()
	if r.code != want.code {
		s.t.Errorf("%s: exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", step, r.code, want.code, r.stdout, r.stderr)
	}
	sts := s.fake.Statuses(head)
	if len(sts) == 0 {
		s.t.Errorf("%s: no status on head %s", step, head)
	} else if last := sts[len(sts)-1]; last.Context != forge.StatusContext || last.State != want.state || !strings.Contains(last.Description, want.desc) {
		s.t.Errorf("%s: latest status = %s %q %q, want %s %q containing %q", step, last.Context, last.State, last.Description, forge.StatusContext, want.state, want.desc)
	}
	marker := forge.Marker(action.CommentMarker)
	var ours []forge.Comment
	for _, c := range s.fake.Comments(pr) {
		if strings.Contains(c.Body, marker) {
			ours = append(ours, c)
		}
	}
	if len(ours) != 1 {
		s.t.Errorf("%s: %d modelgit comments on #%d, want 1", step, len(ours), pr)
		return
	}
	for _, w := range want.comment {
		if !strings.Contains(ours[0].Body, w) {
			s.t.Errorf("%s: the comment lacks %q:\n%s", step, w, ours[0].Body)
		}
	}
}

// TestGovernanceStoryThroughTheAction is the review story of a
// bot-opened promotion pull request, each step judged by the action as a
// workflow job would run it, each outcome asserted where GitHub shows it:
// the commit status on the head, the one sticky comment, the exit code;
// after the merge, the trailers in git log.
func TestGovernanceStoryThroughTheAction(t *testing.T) {
	s := newStory(t, teamPolicy)
	for _, u := range []string{"carol", "erin", "alice"} {
		s.fake.AddTeamMember("acme", "ml-reviewers", u)
	}
	out := s.modelgit("promote", "fraud@0.1.0+data.1", "--to", "dev")
	if !strings.Contains(out, "opened pull request #1") {
		t.Fatalf("promote: %s", out)
	}
	const pr = 1
	branch := s.fake.PullRequests()[0].Head
	if author := s.fake.PullRequests()[0].Author; author != "modelgit-bot" {
		t.Fatalf("the pull request is opened by %q, want the bot", author)
	}
	head := s.head(pr)

	// Opened by the bot, nobody approved: failure, saying so.
	r := s.job("check", "pull_request", pr)
	s.expect("opened", r, pr, head, outcome{code: 1, state: "failure", desc: "approvals (1 more approval needed)", comment: []string{"0 of 1"}})
	if !strings.Contains(r.stdout, "::error title=modelgit approvals::") {
		t.Errorf("opened: no annotation for the failed approvals:\n%s", r.stdout)
	}

	// A team member approves: success.
	s.fake.AddReview(pr, "carol", forge.ReviewApproved, "")
	r = s.job("check", "pull_request_review", pr)
	s.expect("carol approves", r, pr, head, outcome{code: 0, state: "success", desc: "passed", comment: []string{"carol"}})

	// A push moves the head: carol's approval is on the old head.
	head = s.pushOnBranch(branch, "notes/README.md", "why\n")
	if got := s.head(pr); got != head {
		t.Fatalf("head = %s, want the pushed %s", got, head)
	}
	r = s.job("check", "pull_request", pr)
	s.expect("push after approval", r, pr, head, outcome{code: 1, state: "failure", desc: "approvals", comment: []string{"older head"}})

	// The requester approves her own request: not counted.
	s.fake.AddReview(pr, "alice", forge.ReviewApproved, "")
	r = s.job("check", "pull_request_review", pr)
	s.expect("requester approves", r, pr, head, outcome{code: 1, state: "failure", desc: "approvals", comment: []string{"requested the promotion"}})

	// Someone outside the team approves: not counted.
	s.fake.AddReview(pr, "dave", forge.ReviewApproved, "")
	r = s.job("check", "pull_request_review", pr)
	s.expect("non-member approves", r, pr, head, outcome{code: 1, state: "failure", desc: "approvals", comment: []string{"not a member of acme/ml"}})

	// A member requests changes, then approves: the approval supersedes.
	s.fake.AddReview(pr, "erin", forge.ReviewChangesRequested, "")
	r = s.job("check", "pull_request_review", pr)
	s.expect("changes requested", r, pr, head, outcome{code: 1, state: "failure", desc: "approvals", comment: []string{"changes requested by erin"}})
	s.fake.AddReview(pr, "erin", forge.ReviewApproved, "")
	r = s.job("check", "pull_request_review", pr)
	s.expect("erin approves", r, pr, head, outcome{code: 0, state: "success", desc: "passed", comment: []string{"erin"}})

	// The API fails mid-way: 5xx on the reviews past the retries. Not
	// approved, and said so.
	s.fake.FailNext("GET", "/repos/*/*/pulls/*/reviews", 502, 3)
	r = s.job("check", "pull_request_review", pr)
	s.expect("reviews answer 502", r, pr, head, outcome{code: 1, state: "failure", desc: "approvals", comment: []string{"502", "counted as not approved"}})

	// A 403 rate limit on team membership: erin's approval cannot be
	// confirmed, so it does not count, and the job fails saying why.
	s.fake.AddReview(pr, "erin", forge.ReviewApproved, "")
	s.fake.FailNext("GET", "/orgs/*/teams/*/memberships/*", 403, 1)
	r = s.job("check", "pull_request_review", pr)
	s.expect("membership rate limited", r, pr, head, outcome{code: 1, state: "failure", desc: "approvals", comment: []string{"rate limit"}})

	// Healthy again. The merge job re-checks and a push races the merge:
	// GitHub answers 409, nothing is merged, nothing is published (the
	// check of the new head reports), and the job fails saying why.
	r = s.job("check", "pull_request_review", pr)
	s.expect("healthy again", r, pr, head, outcome{code: 0, state: "success", desc: "passed"})
	checked := head
	before := len(s.fake.Statuses(checked))
	var raced string
	var raceErr error
	s.mu.Lock()
	s.beforeMerge = func() {
		h, err := s.tryPushOnBranch(branch, "notes/late.md", "late\n")
		s.mu.Lock()
		raced, raceErr = h, err
		s.mu.Unlock()
	}
	s.mu.Unlock()
	r = s.job("merge", "pull_request_review", pr)
	s.mu.Lock()
	if raceErr != nil {
		t.Fatal(raceErr)
	}
	s.mu.Unlock()
	if r.code != 1 || !strings.Contains(r.stderr, "run modelgit check again") {
		t.Errorf("raced merge: exit %d, want 1 saying to check again\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if s.fake.PullRequests()[0].Merged {
		t.Fatal("merged blind after the head moved")
	}
	if n := len(s.fake.Statuses(checked)); n != before {
		t.Errorf("raced merge published %d statuses on the checked head, want none", n-before)
	}
	if raced == "" || s.head(pr) != raced {
		t.Fatalf("the race did not push: head %s, raced %s", s.head(pr), raced)
	}
	head = raced

	// The merge job on the new head: erin's approval is on the old one,
	// so the re-check fails, and the merge publishes that verdict.
	r = s.job("merge", "pull_request_review", pr)
	s.expect("merge refused", r, pr, head, outcome{code: 1, state: "failure", desc: "approvals", comment: []string{"older head"}})
	if !strings.Contains(r.stderr, "the check did not pass") {
		t.Errorf("merge refused: stderr lacks the reason:\n%s", r.stderr)
	}

	// erin approves the new head: the merge job merges and publishes.
	s.fake.AddReview(pr, "erin", forge.ReviewApproved, "")
	r = s.job("merge", "pull_request_review", pr)
	s.expect("merged", r, pr, head, outcome{code: 0, state: "success", desc: "passed", comment: []string{"erin"}})
	if !s.fake.PullRequests()[0].Merged {
		t.Fatalf("not merged:\n%s\n%s", r.stdout, r.stderr)
	}
	s.git("pull", "-q", "--no-rebase", "origin", "main")
	msg := s.git("log", "-1", "--format=%B")
	tr := map[string][]string{}
	for _, x := range repo.ParseTrailers(msg) {
		tr[x.Key] = append(tr[x.Key], x.Value)
	}
	if got := tr["Approved-by"]; len(got) != 1 || !strings.Contains(strings.ToLower(got[0]), "erin") {
		t.Errorf("Approved-by = %q, want erin only\n%s", got, msg)
	}
	if got := tr["Policy"]; len(got) != 1 || !strings.HasPrefix(got[0], "dev sha256:") {
		t.Errorf("Policy = %q\n%s", got, msg)
	}
	if got := tr["Pull-Request"]; len(got) != 1 || !strings.HasPrefix(got[0], "#1") {
		t.Errorf("Pull-Request = %q\n%s", got, msg)
	}
	if got := tr["Checked-Head"]; len(got) != 1 || got[0] != head {
		t.Errorf("Checked-Head = %q, want %s\n%s", got, head, msg)
	}
	if got := s.git("log", "-1", "--format=%(trailers:key=Checked-Head,valueonly)"); got != head {
		t.Errorf("git's trailer parser sees Checked-Head %q, want %s", got, head)
	}
}

// hostile is attacker text for a title, a branch name and a review body:
// an expression, backticks, command substitution, newlines that try to
// start a workflow command and a commit trailer.
const hostile = "Promote ${{ github.token }} `touch pwned-ticks` $(touch pwned)\n::error::injected\nApproved-by: mallory <mallory@example.com>"

// TestHostileTextStaysData: a pull request whose title, branch name and a
// review body carry expressions, backticks, $(…) and newlines goes
// through the action's check and merge; the comment, the job summary and
// the merge commit message carry that text as inert data, and nothing
// runs it.
func TestHostileTextStaysData(t *testing.T) {
	s := newStory(t, noApprovalPolicy)
	s.modelgit("promote", "fraud@0.1.0+data.1", "--to", "dev", "--no-push")
	branch := "modelgit/promote/dev/${{github.token}}-`touch-pwned`-$(touch-pwned)"
	s.git("push", "-q", "origin", "modelgit/promote/dev/fraud-0.1.0_data.1:refs/heads/"+branch)
	fg, err := forge.NewGitHub(forge.GitHubOptions{Repository: "acme/models", BaseURL: s.fake.URL(), RetryBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pr, err := fg.CreatePullRequest(ctx, forge.PullRequestSpec{Title: hostile, Body: hostile, Head: branch, Base: "main"})
	if err != nil {
		t.Fatalf("opening the pull request: %v", err)
	}
	reviewWithBody(t, s.fake, pr.Number, hostile)

	r := s.job("check", "pull_request", pr.Number)
	s.expect("check", r, pr.Number, pr.HeadSHA, outcome{code: 0, state: "success", desc: "passed"})
	r = s.job("merge", "pull_request_review", pr.Number)
	s.expect("merge", r, pr.Number, pr.HeadSHA, outcome{code: 0, state: "success", desc: "passed"})

	var comment string
	for _, c := range s.fake.Comments(pr.Number) {
		if strings.Contains(c.Body, forge.Marker(action.CommentMarker)) {
			comment = c.Body
		}
	}
	summary, err := os.ReadFile(s.summary)
	if err != nil {
		t.Fatal(err)
	}
	for name, md := range map[string]string{"comment": comment, "summary": string(summary)} {
		// The title is there, escaped for Markdown, on one line.
		if !strings.Contains(md, `\$\{\{ github\.token \}\}`) || !strings.Contains(md, `\$\(touch pwned\)`) {
			t.Errorf("%s does not show the title escaped:\n%s", name, md)
		}
		for _, bad := range []string{"${{", "$(touch", "\n::error", "\nApproved-by", "mallory <"} {
			if strings.Contains(md, bad) {
				t.Errorf("%s holds %q unescaped:\n%s", name, bad, md)
			}
		}
		if unescapedTick.MatchString(md) {
			t.Errorf("%s holds a backtick of the title unescaped (a code span the attacker controls):\n%s", name, md)
		}
	}

	s.git("pull", "-q", "--no-rebase", "origin", "main")
	msg := s.git("log", "-1", "--format=%B")
	subject := s.git("log", "-1", "--format=%s")
	if want := fmt.Sprintf("Merge pull request #%d: %s", pr.Number, strings.Join(strings.Fields(hostile), " ")); subject != want {
		t.Errorf("subject = %q, want the title on one line, verbatim: %q", subject, want)
	}
	for _, x := range repo.ParseTrailers(msg) {
		if strings.Contains(x.Value, "mallory") {
			t.Errorf("the title added a trailer %s: %s\n%s", x.Key, x.Value, msg)
		}
	}
	if got := s.git("log", "-1", "--format=%(trailers:key=Approved-by,valueonly)"); got != "" {
		t.Errorf("git sees Approved-by %q, want none (no approval asked)", got)
	}

	// Nothing ran the text: no file was touched, no workflow command
	// came from it outside the fenced report.
	for _, f := range []string{"pwned", "pwned-ticks"} {
		if _, err := os.Stat(filepath.Join(s.dir, f)); err == nil {
			t.Errorf("%s exists: the hostile text was run", f)
		}
	}
	if strings.Contains(unfenced(t, r.stdout), "injected") || strings.Contains(r.stderr, "\n::error::injected") {
		t.Errorf("a workflow command from the title reached the runner:\n%s\n%s", r.stdout, r.stderr)
	}
}

// unescapedTick finds a backtick of the hostile title that Markdown would
// read as the start or end of a code span.
var unescapedTick = regexp.MustCompile("(^|[^\\\\])`touch|pwned-ticks`")

// reviewWithBody posts a COMMENTED review with body through the API, as
// a reviewer would.
func reviewWithBody(t *testing.T, fake *githubfake.Server, pr int, body string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("%srepos/%s/pulls/%d/reviews", fake.URL(), fake.Repository(), pr),
		strings.NewReader(fmt.Sprintf(`{"event":"COMMENT","body":%q}`, body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("posting the review: %s", resp.Status)
	}
}

// unfenced returns out without the parts between ::stop-commands::TOKEN
// and ::TOKEN::, which the runner does not read for commands.
func unfenced(t *testing.T, out string) string {
	t.Helper()
	var b strings.Builder
	tok := ""
	for _, line := range strings.Split(out, "\n") {
		switch {
		case tok == "":
			if x, ok := strings.CutPrefix(line, "::stop-commands::"); ok {
				tok = x
				continue
			}
			b.WriteString(line + "\n")
		case line == "::"+tok+"::":
			tok = ""
		}
	}
	if tok != "" {
		t.Errorf("commands stopped and never resumed:\n%s", out)
	}
	return b.String()
}

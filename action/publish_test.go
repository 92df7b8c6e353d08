package action_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/modelgit/modelgit/action"

	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/gitops/forge/githubfake"
	"github.com/modelgit/modelgit/gitops/forge/githubfake/githubfaketest"
)

const token = "ghs_secretTOKEN123"

// gitOut runs real git and returns its trimmed output.
func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("git is needed (apt-get install -y git): %v", err)
	}
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Dev", "GIT_AUTHOR_EMAIL=dev@example.com", "GIT_COMMITTER_NAME=Dev", "GIT_COMMITTER_EMAIL=dev@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// evilPR opens a pull request whose branch name and title are hostile, on
// a fresh fake GitHub; it returns the fake, a forge client and the PR.
func evilPR(t *testing.T) (*githubfake.Server, forge.Forge, *forge.PullRequest) {
	t.Helper()
	fake := githubfaketest.New(t, githubfake.Options{Token: token})
	dir := fake.GitDir()
	tree := gitOut(t, dir, "rev-parse", "main^{tree}")
	head := gitOut(t, dir, "commit-tree", tree, "-p", "main", "-m", "promote "+evilExpr+" "+evilShell)
	branch := "modelgit/promote/production/$(rm-rf)`id`" + "${{secrets.X}}"
	gitOut(t, dir, "update-ref", "refs/heads/"+branch, head)
	f, err := forge.NewGitHub(forge.GitHubOptions{Repository: fake.Repository(), Token: token, BaseURL: fake.URL(), RetryBackoff: time.Millisecond, RequestTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	pr, err := f.CreatePullRequest(context.Background(), forge.PullRequestSpec{Title: evilText, Body: evilText, Head: branch, Base: "main"})
	if err != nil {
		t.Fatalf("opening the pull request: %v", err)
	}
	if pr.HeadSHA != head {
		t.Fatalf("PR head %q, want %q", pr.HeadSHA, head)
	}
	return fake, f, pr
}

func TestPublish(t *testing.T) {
	fake, f, pr := evilPR(t)
	dir := t.TempDir()
	env := action.Env{
		Actions: true, EventName: "pull_request", Repository: fake.Repository(),
		StepSummary: filepath.Join(dir, "summary.md"), Output: filepath.Join(dir, "output"),
		ServerURL: "https://github.com", RunID: "42", HeadRef: pr.Head, Token: token,
	}
	r := evilReport()
	r.Head, r.PullRequest.Number, r.PullRequest.Title = pr.HeadSHA, pr.Number, pr.Title

	var stdout bytes.Buffer
	ctx := context.Background()
	if err := action.Publish(ctx, f, env, r, &stdout); err != nil {
		t.Fatal(err)
	}
	// The verdict changes: the second Publish edits the same comment.
	r.Passed, r.Missing = true, 0
	if err := action.Publish(ctx, f, env, r, &stdout); err != nil {
		t.Fatal(err)
	}

	sts := fake.Statuses(pr.HeadSHA)
	if len(sts) == 0 {
		t.Fatalf("no status on head %s", pr.HeadSHA)
	}
	last := sts[len(sts)-1]
	if last.Context != "modelgit/promotion" || last.State != "success" || last.TargetURL != "https://github.com/"+fake.Repository()+"/actions/runs/42" {
		t.Errorf("latest status = %+v", last)
	}
	for _, st := range sts {
		if st.Context != forge.StatusContext {
			t.Errorf("status with context %q, want only %q", st.Context, forge.StatusContext)
		}
	}

	cs := fake.Comments(pr.Number)
	if len(cs) != 1 {
		t.Fatalf("%d comments, want 1 sticky comment edited in place", len(cs))
	}
	marker := forge.Marker(action.CommentMarker)
	if want := marker + "\n" + action.Markdown(r); cs[0].Body != want {
		t.Errorf("comment body is not the marker and the latest Markdown:\n%s", cs[0].Body)
	}
	if n := strings.Count(cs[0].Body, marker); n != 1 {
		t.Errorf("marker appears %d times in the comment, want 1 (untrusted text faked it)", n)
	}
	if strings.Count(cs[0].Body, "<!--") != 1 {
		t.Errorf("the comment holds an HTML comment besides the marker:\n%s", cs[0].Body)
	}

	summary, err := os.ReadFile(env.StepSummary)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(summary), "modelgit: promotion check "); n != 2 {
		t.Errorf("summary has %d reports, want both runs appended", n)
	}

	out, err := os.ReadFile(env.Output)
	if err != nil {
		t.Fatal(err)
	}
	outputs := parseOutputs(t, string(out))
	if outputs["passed"] != "true" || outputs["head"] != pr.HeadSHA || outputs["required"] != "2" || outputs["missing"] != "0" {
		t.Errorf("outputs = %v", outputs)
	}

	if !strings.Contains(stdout.String(), "::error file=models/a%2Cb%3Ac%25.yaml,line=12,col=3,title=modelgit::") {
		t.Errorf("annotations:\n%s", stdout.String())
	}
	for name, s := range map[string]string{"stdout": stdout.String(), "summary": string(summary), "outputs": string(out), "comment": cs[0].Body, "status": last.Description, "env": env.String() + env.GoString()} {
		if strings.Contains(s, token) {
			t.Errorf("%s leaks the token", name)
		}
	}
}

// parseOutputs reads GITHUB_OUTPUT's "NAME<<DELIM\nVALUE\nDELIM" blocks;
// the last value of a name wins, as on GitHub.
func parseOutputs(t *testing.T, s string) map[string]string {
	t.Helper()
	out := map[string]string{}
	lines := strings.Split(s, "\n")
	head := regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_-]*)<<(ghadelimiter_[0-9a-f]{32})$`)
	for i := 0; i < len(lines); i++ {
		if lines[i] == "" {
			continue
		}
		m := head.FindStringSubmatch(lines[i])
		if m == nil {
			t.Fatalf("output line %d %q is not NAME<<DELIMITER", i+1, lines[i])
		}
		var val []string
		for i++; i < len(lines) && lines[i] != m[2]; i++ {
			val = append(val, lines[i])
		}
		if i == len(lines) {
			t.Fatalf("output %q has no closing delimiter", m[1])
		}
		out[m[1]] = strings.Join(val, "\n")
	}
	return out
}

func TestPublishWithoutForge(t *testing.T) {
	dir := t.TempDir()
	env := action.Env{StepSummary: filepath.Join(dir, "s.md"), Output: filepath.Join(dir, "o")}
	var stdout bytes.Buffer
	if err := action.Publish(context.Background(), nil, env, sampleReport(), &stdout); err != nil {
		t.Fatal(err)
	}
	out, _ := os.ReadFile(env.Output)
	if got := parseOutputs(t, string(out))["passed"]; got != "false" {
		t.Errorf("passed = %q, want false", got)
	}
	// Outside a GitHub Actions job no workflow command is printed.
	if stdout.Len() != 0 {
		t.Errorf("annotations outside Actions:\n%s", stdout.String())
	}
	env.Actions = true
	if err := action.Publish(context.Background(), nil, env, sampleReport(), &stdout); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stdout.String(), "::error ") {
		t.Errorf("no annotations in Actions:\n%s", stdout.String())
	}
	if err := action.Publish(context.Background(), nil, env, nil, &stdout); err == nil {
		t.Error("Publish(nil report) succeeded")
	}
}

// TestPublishForgeErrors: every part that can run still runs, the errors
// are joined, and a token an error might carry is redacted.
func TestPublishForgeErrors(t *testing.T) {
	dir := t.TempDir()
	env := action.Env{Actions: true, StepSummary: filepath.Join(dir, "s.md"), Output: filepath.Join(dir, "o"), Token: token}
	boom := errors.New("API said no to " + token)
	f := &forge.Fake{
		SetStatusFn: func(context.Context, string, forge.Status) error { return boom },
		UpsertCommentFn: func(context.Context, int, string, string) (*forge.Comment, error) {
			return nil, forge.ErrUnauthorized
		},
	}
	var stdout bytes.Buffer
	err := action.Publish(context.Background(), f, env, sampleReport(), &stdout)
	if err == nil {
		t.Fatal("Publish succeeded with a failing forge")
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("error leaks the token: %v", err)
	}
	if !errors.Is(err, boom) || !errors.Is(err, forge.ErrUnauthorized) {
		t.Errorf("error %v does not wrap both failures", err)
	}
	for _, p := range []string{env.StepSummary, env.Output} {
		if b, _ := os.ReadFile(p); len(b) == 0 {
			t.Errorf("%s not written despite the forge failing", p)
		}
	}
	if stdout.Len() == 0 {
		t.Error("no annotations despite the forge failing")
	}
}

func TestPublishPRFromEvent(t *testing.T) {
	dir := t.TempDir()
	ev := filepath.Join(dir, "event.json")
	if err := os.WriteFile(ev, []byte(`{"action":"submitted","pull_request":{"number":9,"head":{"sha":"abc"}},"review":{"state":"approved","user":{"login":"bob"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var got int
	f := &forge.Fake{
		SetStatusFn: func(context.Context, string, forge.Status) error { return nil },
		UpsertCommentFn: func(_ context.Context, n int, marker, _ string) (*forge.Comment, error) {
			got = n
			if marker != action.CommentMarker {
				t.Errorf("marker %q", marker)
			}
			return &forge.Comment{}, nil
		},
	}
	r := sampleReport()
	r.PullRequest = nil
	if err := action.Publish(context.Background(), f, action.Env{EventPath: ev}, r, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if got != 9 {
		t.Errorf("commented on #%d, want the event's #9", got)
	}
	r.Head = ""
	if err := action.Publish(context.Background(), f, action.Env{EventPath: ev}, r, &bytes.Buffer{}); err == nil {
		t.Error("a report without head SHA was published")
	}

}

package app

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/gitops/forge/githubfake"
	"github.com/modelgit/modelgit/gitops/forge/githubfake/githubfaketest"
	"github.com/modelgit/modelgit/gitops/monitor"
	"github.com/modelgit/modelgit/gitops/prom/promtest"
)

func TestMonitorFlags(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
		check   func(t *testing.T, o *MonitorOptions)
	}{
		{name: "every environment", args: nil, check: func(t *testing.T, o *MonitorOptions) {
			if o.Env != "" || o.Act || o.Output != cmdutil.OutputTable || o.Prometheus != "" {
				t.Errorf("options = %+v", o)
			}
		}},
		{name: "defaults", args: []string{"--env", "production"}, check: func(t *testing.T, o *MonitorOptions) {
			if o.Env != "production" || o.Act || o.Output != cmdutil.OutputTable || o.Prometheus != "" {
				t.Errorf("options = %+v", o)
			}
		}},
		{name: "act json", args: []string{"--env", "production", "--act", "-o", "json", "--prometheus", "http://p:9090", "--at", "2026-03-01T12:00:00Z", "--model", "fraud"}, check: func(t *testing.T, o *MonitorOptions) {
			if !o.Act || o.Output != cmdutil.OutputJSON || o.Prometheus != "http://p:9090" || o.At != "2026-03-01T12:00:00Z" || o.Model != "fraud" {
				t.Errorf("options = %+v", o)
			}
		}},
		{name: "bad time", args: []string{"--env", "production", "--at", "yesterday"}, wantErr: "not an RFC 3339 time"},
		{name: "bad output", args: []string{"--env", "production", "-o", "csv"}, wantErr: "csv"},
		{name: "no args", args: []string{"production"}, wantErr: "production"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ios, _, _, _ := cmdutil.Test()
			f := &cmdutil.Factory{IOStreams: ios}
			var got *MonitorOptions
			cmd := NewCmdMonitor(f, func(o *MonitorOptions) error { got = o; return nil })
			cmd.SetArgs(tc.args)
			cmd.SetOut(ios.Out)
			cmd.SetErr(ios.ErrOut)
			err := cmd.Execute()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, got)
		})
	}
}

// TestMonitorHelpHidesCredentials: the Prometheus address may carry
// credentials; --help names the variable, never its value.
func TestMonitorHelpHidesCredentials(t *testing.T) {
	t.Setenv(PrometheusEnv, "https://bob:s3cret@prom.example:9090")
	ios, _, stdout, stderr := cmdutil.Test()
	f := &cmdutil.Factory{IOStreams: ios}
	root := NewRootCmd(f)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if code := run(context.Background(), f, root, []string{"monitor", "--help"}); code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	help := stdout.String()
	for _, bad := range []string{"s3cret", "bob", "prom.example", `(default "http`} {
		if strings.Contains(help, bad) {
			t.Errorf("--help shows %q:\n%s", bad, help)
		}
	}
	if !strings.Contains(help, "$"+PrometheusEnv) || strings.Count(help, "default: $"+PrometheusEnv) != 1 {
		t.Errorf("--help does not name $%s once as the default:\n%s", PrometheusEnv, help)
	}
}

// monitorAt is the evaluation time of the command's tests: samples end
// there and every query names it.
var monitorAt = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// monitorCLI is a registry whose origin is served by the GitHub fake:
// fraud 0.1.0 then 0.1.1 in dev (registered accuracy 0.9 and 0.93), and in
// staging 0.1.0 with 0.1.1 as a 10% canary; dev and staging monitor
// accuracy, production monitors nothing.
type monitorCLI struct {
	t     *testing.T
	dir   string
	fake  *githubfake.Server
	forge forge.Forge
}

func newMonitorCLI(t *testing.T) *monitorCLI {
	t.Helper()
	for _, tool := range []string{"git", "ssh-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: apt-get install -y git openssh-client", tool)
		}
	}
	root := t.TempDir()
	home := filepath.Join(root, "home")
	t.Setenv("HOME", home)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("NO_COLOR", "1")
	t.Setenv(PrometheusEnv, "")
	t.Setenv("GITHUB_ACTIONS", "")
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("home/.gitconfig", "[user]\n\tname = Alice\n\temail = alice@example.com\n[init]\n\tdefaultBranch = main\n")
	key := filepath.Join(root, "alice")
	m := &monitorCLI{t: t, dir: filepath.Join(root, "registry")}
	m.cmd("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice", "-f", key)
	bare := filepath.Join(root, "origin.git")
	m.cmd("git", "init", "-q", "--bare", "-b", "main", bare)
	// The fake's git server logs every request through the standard logger.
	log.SetOutput(io.Discard)
	t.Cleanup(func() { log.SetOutput(os.Stderr) })
	m.fake = githubfaketest.New(t, githubfake.Options{Owner: "acme", Repo: "models", GitDir: bare, DefaultBranch: "main"})
	fg, err := forge.NewGitHub(forge.GitHubOptions{Repository: "acme/models", BaseURL: m.fake.URL()})
	if err != nil {
		t.Fatal(err)
	}
	m.forge = fg
	m.cmd("git", "init", "-q", m.dir)
	m.git("config", "gpg.format", "ssh")
	m.git("config", "user.signingkey", key)
	m.ok("init", "--cluster-store", "pvc://models/modelgit", "--github", "acme/models", "--github-url", m.fake.URL())
	data := write("in/data/train.csv", "a,b\n1,2\n")
	for i, acc := range []string{"0.9", "0.93"} {
		n := strconv.Itoa(i)
		m.ok("register", "fraud", "--weights", write("in/model"+n+".safetensors", "weights "+n+"\n"),
			"--metrics", write("in/metrics"+n+".json", `{"accuracy": `+acc+`}`),
			"--params", write("in/params"+n+".json", `{"learning_rate": 0.`+n+`1}`),
			"--data", filepath.Dir(data), "--framework", "sklearn=1.5.2")
	}
	m.git("remote", "add", "origin", m.fake.GitURL())
	m.git("push", "-q", "origin", "main")
	for _, step := range [][]string{
		{"fraud@0.1.0+data.1", "--to", "dev"},
		{"fraud@0.1.1+data.1", "--to", "dev"},
		{"fraud@0.1.0+data.1", "--to", "staging"},
		{"fraud@0.1.1+data.1", "--to", "staging", "--strategy", "canary", "--weight", "10"},
	} {
		out, _ := m.ok(append([]string{"promote"}, step...)...)
		m.merge(out)
	}
	policy := "apiVersion: modelgit.dev/v1alpha1\nkind: PromotionPolicy\nmetrics:\n  accuracy:\n    direction: higher\n    tolerance: 0.05\n" +
		`    query: avg_over_time(model_accuracy{model="$model",version="$version",environment="$environment"}[1h])` + "\n    minSamples: 30\n"
	for _, env := range []string{"dev", "staging"} {
		if err := os.WriteFile(filepath.Join(m.dir, "policies", env+".yaml"), []byte(policy), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m.git("add", "policies")
	m.git("commit", "-q", "-S", "-m", "Monitor dev and staging")
	m.git("push", "-q", "origin", "main")
	return m
}

// cmd runs a program in the registry (or where it is not yet made, its
// parent) and fails the test when it fails.
func (m *monitorCLI) cmd(name string, args ...string) string {
	m.t.Helper()
	c := exec.Command(name, args...)
	if _, err := os.Stat(m.dir); err == nil {
		c.Dir = m.dir
	}
	out, err := c.CombinedOutput()
	if err != nil {
		m.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (m *monitorCLI) git(args ...string) string { m.t.Helper(); return m.cmd("git", args...) }

// modelgit runs modelgit in-process in the registry.
func (m *monitorCLI) modelgit(args ...string) (stdout, stderr string, code ExitCode) {
	m.t.Helper()
	ios, _, out, errOut := cmdutil.Test()
	f := cmdutil.NewFactory("test")
	f.IOStreams = ios
	code = run(context.Background(), f, NewRootCmd(f), append([]string{"-C", m.dir}, args...))
	return out.String(), errOut.String(), code
}

// ok runs modelgit and fails the test unless it succeeds.
func (m *monitorCLI) ok(args ...string) (stdout, stderr string) {
	m.t.Helper()
	stdout, stderr, code := m.modelgit(args...)
	if code != ExitOK {
		m.t.Fatalf("modelgit %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout, stderr)
	}
	return stdout, stderr
}

var prNumber = regexp.MustCompile(`(?:opened|updated) pull request #(\d+)`)

// merge merges the pull request promote's output names, through the
// fake, and pulls main.
func (m *monitorCLI) merge(promoteOut string) {
	m.t.Helper()
	match := prNumber.FindStringSubmatch(promoteOut)
	if match == nil {
		m.t.Fatalf("no pull request in:\n%s", promoteOut)
	}
	n, _ := strconv.Atoi(match[1])
	pr, err := m.forge.GetPullRequest(context.Background(), n)
	if err != nil {
		m.t.Fatal(err)
	}
	if _, err := m.forge.Merge(context.Background(), n, pr.HeadSHA, "Merge promotion\n", forge.MergeMethodMerge); err != nil {
		m.t.Fatal(err)
	}
	m.git("pull", "-q", "--no-rebase", "origin", "main")
}

// accuracy is an hour of model_accuracy samples of fraud at version in
// env, one a minute, ending at monitorAt.
func accuracy(env, version string, v float64) promtest.Series {
	s := promtest.Series{Name: "model_accuracy", Labels: map[string]string{"model": "fraud", "version": version, "environment": env}}
	for i := range 60 {
		s.Points = append(s.Points, promtest.Point{T: monitorAt.Add(-time.Duration(i) * time.Minute), V: v})
	}
	return s
}

// TestMonitorCommandAgainstRealPrometheus checks what `modelgit monitor`
// prints and how it exits, against a real Prometheus: dev's 0.1.1+data.1
// is at 0.80 where it registered 0.93 (failing); staging's canary is as
// good as its primary.
func TestMonitorCommandAgainstRealPrometheus(t *testing.T) {
	promtest.Need(t)
	m := newMonitorCLI(t)
	srv := promtest.Start(t, []promtest.Series{
		accuracy("dev", "0.1.1+data.1", 0.80),
		accuracy("staging", "0.1.0+data.1", 0.90),
		accuracy("staging", "0.1.1+data.1", 0.89),
	})
	down, err := promtest.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	at := monitorAt.Format(time.RFC3339)
	const rollbackBranch = "modelgit/rollback/dev/fraud-0.1.0_data.1"
	for _, tc := range []struct {
		name       string
		args       []string
		wantCode   ExitCode
		wantStdout []string // regular expressions
		wantStderr []string
		notStdout  []string
		notStderr  []string
		env        map[string]string
		check      func(t *testing.T, stdout string)
	}{
		{
			name:     "table, failing: exit 1",
			args:     []string{"--env", "dev", "--prometheus", srv.URL},
			wantCode: ExitError,
			wantStdout: []string{
				`^dev at 2026-03-01T12:00:00Z \(` + regexp.QuoteMeta(srv.URL) + `\)\n`,
				`fraud\s+0\.1\.1\+data\.1\s+accuracy\s+registered\s+0\.8\s+0\.93\s+>= 0\.8835\s+60/30\s+fail\s+live 0\.8, registered 0\.93: want >= 0\.8835`,
				`(?m)^fraud: failing$`,
			},
			notStdout: []string{"pull request", "staging"},
		},
		{
			name:     "json, failing: exit 1",
			args:     []string{"--env", "dev", "--prometheus", srv.URL, "-o", "json"},
			wantCode: ExitError,
			check: func(t *testing.T, stdout string) {
				var rep monitor.MonitorReport
				if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
					t.Fatalf("not one JSON report: %v\n%s", err, stdout)
				}
				if rep.Env != "dev" || !rep.At.Equal(monitorAt) || rep.Source != srv.URL || len(rep.Models) != 1 {
					t.Fatalf("report = %+v", rep)
				}
				h := rep.Models[0]
				if h.Verdict != monitor.MonitorFailing || len(h.Checks) != 1 {
					t.Fatalf("fraud = %+v", h)
				}
				c := h.Checks[0]
				if c.Status != monitor.MonitorCheckFail || c.Kind != monitor.MonitorKindRegistered || *c.Value != 0.8 || *c.Reference != 0.93 || *c.Samples != 60 || c.Window != "1h" {
					t.Errorf("check = %+v", c)
				}
			},
		},
		{
			name:       "prometheus down: unknown, exit 0, a note on stderr",
			args:       []string{"--env", "dev", "--prometheus", "http://" + down, "--act"},
			wantStdout: []string{`(?m)^fraud: unknown$`, `accuracy\s+registered\s+-\s+-\s+-\s+-\s+unknown\s+querying http://` + regexp.QuoteMeta(down) + `: prometheus is unreachable`},
			wantStderr: []string{`fraud in dev is undecided: some checks could not be made`},
			notStdout:  []string{"pull request"},
			notStderr:  []string{"::warning"},
		},
		{
			name:       "prometheus down in GitHub Actions: unknown, exit 0, a ::warning naming why",
			args:       []string{"--prometheus", "http://monitor:s3cret@" + down, "--act"},
			env:        map[string]string{"GITHUB_ACTIONS": "true"},
			wantStdout: []string{`(?m)^fraud: unknown$`},
			wantStderr: []string{
				`(?m)^::warning title=modelgit monitor::fraud in dev is unknown \(Prometheus at http://` + regexp.QuoteMeta(down) + ` is unreachable\), fraud in staging is unknown \(Prometheus at http://` + regexp.QuoteMeta(down) + ` is unreachable\)\. Unknown is neither healthy nor failing: nothing was acted on and this job stays green; give the monitor job a Prometheus its runner can reach \(the action's prometheus input, or \$MODELGIT_PROMETHEUS_URL\)\.$`,
			},
			notStdout: []string{"s3cret", "pull request"},
			notStderr: []string{"s3cret", "//monitor"},
		},
		{
			name:     "every monitored environment, grouped",
			args:     []string{"--prometheus", srv.URL},
			wantCode: ExitError,
			wantStdout: []string{
				`(?s)^dev at 2026-03-01T12:00:00Z .*fraud: failing\n\nstaging at 2026-03-01T12:00:00Z .*fraud\s+0\.1\.1\+data\.1 \(canary\)\s+accuracy\s+primary\s+0\.89\s+0\.9\s+.*fraud: healthy\n$`,
			},
			wantStderr: []string{`^not monitoring production: policies/production\.yaml declares no metric with a query\n$`},
		},
		{
			name:     "every monitored environment, json",
			args:     []string{"--prometheus", srv.URL, "-o", "json"},
			wantCode: ExitError,
			check: func(t *testing.T, stdout string) {
				var reps []monitor.MonitorReport
				if err := json.Unmarshal([]byte(stdout), &reps); err != nil {
					t.Fatalf("not a JSON array of reports: %v\n%s", err, stdout)
				}
				if len(reps) != 2 || reps[0].Env != "dev" || reps[1].Env != "staging" || reps[0].Models[0].Verdict != monitor.MonitorFailing || reps[1].Models[0].Verdict != monitor.MonitorHealthy {
					t.Errorf("reports = %+v", reps)
				}
			},
		},
		{
			name:       "--act --no-push commits the rollback on its branch",
			args:       []string{"--env", "dev", "--prometheus", srv.URL, "--act", "--no-push"},
			wantStdout: []string{`(?m)^fraud: failing\n  ✓ rollback to 0\.1\.0\+data\.1: committed on branch ` + regexp.QuoteMeta(rollbackBranch) + ` \(no forge: open the pull request yourself\)$`},
			notStdout:  []string{"pull request #"},
			check: func(t *testing.T, _ string) {
				if msg := m.git("log", "-1", "--format=%B", rollbackBranch); !strings.Contains(msg, "Roll back fraud in dev to 0.1.0+data.1") {
					t.Errorf("the branch's commit:\n%s", msg)
				}
				if out := m.git("ls-remote", "origin", "refs/heads/"+rollbackBranch); out != "" {
					t.Errorf("--no-push pushed: %s", out)
				}
			},
		},
		{
			name:       "--act opens the rollback pull request",
			args:       []string{"--env", "dev", "--prometheus", srv.URL, "--act"},
			wantStdout: []string{`(?m)^  ✓ rollback to 0\.1\.0\+data\.1: opened pull request #5: `},
		},
		{
			name:       "--act again updates it",
			args:       []string{"--env", "dev", "--prometheus", srv.URL, "--act"},
			wantStdout: []string{`(?m)^  ✓ rollback to 0\.1\.0\+data\.1: updated pull request #5: `},
			notStdout:  []string{"opened"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			stdout, stderr, code := m.modelgit(append([]string{"monitor", "--at", at}, tc.args...)...)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d", code, tc.wantCode)
			}
			for _, re := range tc.wantStdout {
				if !regexp.MustCompile(re).MatchString(stdout) {
					t.Errorf("stdout does not match %s", re)
				}
			}
			for _, re := range tc.wantStderr {
				if !regexp.MustCompile(re).MatchString(stderr) {
					t.Errorf("stderr does not match %s", re)
				}
			}
			for _, s := range tc.notStdout {
				if strings.Contains(stdout, s) {
					t.Errorf("stdout has %q", s)
				}
			}
			for _, s := range tc.notStderr {
				if strings.Contains(stderr, s) {
					t.Errorf("stderr has %q", s)
				}
			}
			if tc.check != nil {
				tc.check(t, stdout)
			}
			if t.Failed() {
				t.Logf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
			}
		})
	}

	// An hour later (new evaluation time, so new evidence): the pull
	// request's body is updated, its head is not, so its approvals stand.
	head := m.git("ls-remote", "origin", "refs/heads/"+rollbackBranch)
	later := monitorAt.Add(time.Minute).Format(time.RFC3339)
	stdout, stderr, code := m.modelgit("monitor", "--env", "dev", "--prometheus", srv.URL, "--at", later, "--act")
	if code != ExitOK || !strings.Contains(stdout, "updated pull request #5") {
		t.Errorf("later run: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if now := m.git("ls-remote", "origin", "refs/heads/"+rollbackBranch); now != head || head == "" {
		t.Errorf("later run moved the rollback branch: %q, was %q", now, head)
	}
	if pr, err := m.forge.GetPullRequest(context.Background(), 5); err != nil || !strings.Contains(pr.Body, "evaluated every query at "+later) {
		t.Errorf("pull request #5 after the later run (%v), want its evidence at %s:\n%s", err, later, pr.Body)
	}
	// With --no-push too: the local branch already holds the change.
	local := m.git("rev-parse", rollbackBranch)
	if _, stderr, code := m.modelgit("monitor", "--env", "dev", "--prometheus", srv.URL, "--at", monitorAt.Add(2*time.Minute).Format(time.RFC3339), "--act", "--no-push"); code != ExitOK {
		t.Errorf("later run with --no-push: exit %d\n%s", code, stderr)
	}
	if now := m.git("rev-parse", rollbackBranch); now != local {
		t.Errorf("a later run with --no-push moved the rollback branch from %s to %s", local, now)
	}

	// A promotion pull request for fraud in dev is open: monitor --act
	// says so, does nothing, and exits 1: fraud is still failing.
	out, _ := m.ok("promote", "fraud@0.1.0+data.1", "--to", "dev")
	promotion := prNumber.FindStringSubmatch(out)
	stdout, stderr, code = m.modelgit("monitor", "--env", "dev", "--prometheus", srv.URL, "--at", at, "--act")
	want := "  ! rollback not opened: promotion pull request #" + promotion[1] + " (modelgit/promote/dev/fraud-0.1.0_data.1) for fraud in dev is open; not acting while it is: merge or close it first\n"
	wantErr := "X fraud in dev is failing and --act opened no pull request: promotion pull request #"
	if code != ExitError || promotion == nil || !strings.Contains(stdout, want) || !strings.Contains(stderr, wantErr) {
		t.Errorf("with a promotion open: exit %d, want 1, %q on stdout and %q on stderr\nstdout:\n%s\nstderr:\n%s", code, want, wantErr, stdout, stderr)
	}
}

// TestMonitorNeverShowsCredentials: an address with user:password (from
// the flag or the environment) is used, but appears nowhere.
func TestMonitorNeverShowsCredentials(t *testing.T) {
	promtest.Need(t)
	m := newMonitorCLI(t)
	srv := promtest.Start(t, []promtest.Series{accuracy("dev", "0.1.1+data.1", 0.80)})
	down, err := promtest.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	withCreds := strings.Replace(srv.URL, "http://", "http://bob:s3cret@", 1)
	for _, tc := range []struct {
		name, env string
		args      []string
		wantCode  ExitCode
	}{
		{name: "from the environment", env: withCreds, args: []string{"--env", "dev"}, wantCode: ExitError},
		{name: "json", env: withCreds, args: []string{"--env", "dev", "-o", "json"}, wantCode: ExitError},
		{name: "down", args: []string{"--env", "dev", "--prometheus", "http://bob:s3cret@" + down + "/?token=s3cret"}},
		{name: "not a URL", args: []string{"--env", "dev", "--prometheus", "bob:s3cret@localhost:9090"}, wantCode: ExitFlagError},
		{name: "bad port", env: "http://bob:s3cret@localhost:port", args: []string{"--env", "dev"}, wantCode: ExitFlagError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(PrometheusEnv, tc.env)
			stdout, stderr, code := m.modelgit(append([]string{"monitor", "--at", monitorAt.Format(time.RFC3339)}, tc.args...)...)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.wantCode, stdout, stderr)
			}
			if strings.Contains(stdout+stderr, "s3cret") || strings.Contains(stdout+stderr, "bob") {
				t.Errorf("the credentials show:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
			}
		})
	}
}

// TestQuickstartMonitoringNeedsPrometheus: without Prometheus, the story's
// monitoring step says how to install it and goes on.
func TestQuickstartMonitoringNeedsPrometheus(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	ios, _, stdout, _ := cmdutil.Test()
	q := &quickstart{opts: &QuickstartOptions{IO: ios}, ctx: context.Background(), root: t.TempDir()}
	if err := q.monitoringStory(); err != nil {
		t.Fatal(err)
	}
	want := "(skipped: prometheus is not installed; install Prometheus to see this step: " + promtest.Install + ")\n"
	if !strings.Contains(stdout.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, stdout)
	}
}

package action_test

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/modelgit/modelgit/cmd/modelgit/app"
	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
)

// actionMeta is the part of action.yml that says what the action runs.
type actionMeta struct {
	Inputs map[string]struct {
		Default string `yaml:"default"`
	} `yaml:"inputs"`
	Runs struct {
		Steps []actionStep `yaml:"steps"`
	} `yaml:"runs"`
}

// actionStep is one step of the composite action.
type actionStep struct {
	ID  string            `yaml:"id"`
	Run string            `yaml:"run"`
	Env map[string]string `yaml:"env"`
}

// workflowJob is the part of a generated workflow job this test reads.
type workflowJob struct {
	Steps []struct {
		Uses string            `yaml:"uses"`
		With map[string]string `yaml:"with"`
	} `yaml:"steps"`
}

// jobInputs returns the `with:` of the step of job that uses the modelgit
// action in the workflow src.
func jobInputs(t *testing.T, src []byte, job string) map[string]string {
	t.Helper()
	var wf struct {
		Jobs map[string]workflowJob `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(src, &wf); err != nil {
		t.Fatalf("parsing the workflow: %v", err)
	}
	j, ok := wf.Jobs[job]
	if !ok {
		t.Fatalf("the workflow has no job %q", job)
	}
	for _, st := range j.Steps {
		if strings.HasPrefix(st.Uses, firstParty) {
			return st.With
		}
	}
	t.Fatalf("job %q does not use %s", job, firstParty)
	return nil
}

// expr matches one `${{ NAME }}` whose NAME is a context path; that is
// every expression action.yml and the workflow hand to the action.
var expr = regexp.MustCompile(`\$\{\{\s*([^}]*?)\s*\}\}`)

var contextPath = regexp.MustCompile(`^[a-z]+(\.[A-Za-z0-9_-]+)+$`)

// eval substitutes each `${{ path }}` of s from vals, as the runner does:
// a path that is not set is "". Anything other than a path fails the test,
// so an expression this evaluator cannot judge is never guessed.
func eval(t *testing.T, s string, vals map[string]string) string {
	t.Helper()
	return expr.ReplaceAllStringFunc(s, func(m string) string {
		p := expr.FindStringSubmatch(m)[1]
		if !contextPath.MatchString(p) {
			t.Fatalf("expression %q: only context paths are evaluated here", m)
		}
		return vals[p]
	})
}

// actionRun is what running the action's script did.
type actionRun struct {
	args    []string // modelgit's arguments; nil when it did not run
	stdout  string
	stderr  string
	err     error // the script's exit
	code    int   // its exit code
	key     []byte
	keyMode os.FileMode // the --signing-key file as modelgit saw it
	keyPath string
	temp    string // RUNNER_TEMP
	workdir string
}

// actionCall says how to run the action's script.
type actionCall struct {
	// with are the step's inputs, over action.yml's defaults; their
	// expressions are evaluated from vals (secrets.*, vars.*, github.*).
	with, vals map[string]string
	// dir is the working directory; "" makes a fresh git repository.
	dir string
	// env is added to the script's environment (GITHUB_*, HOME, ...).
	env []string
	// modelgit is the program the script runs as modelgit, after its
	// arguments are recorded; "" runs nothing more.
	modelgit string
}

// runAction runs action.yml's "run modelgit" step as the runner would
// (bash --noprofile --norc -eo pipefail, the step's env evaluated from the
// inputs), with a modelgit on PATH that records its arguments.
func runAction(t *testing.T, c actionCall) actionRun {
	t.Helper()
	var meta actionMeta
	readYAML(t, actionYML, &meta)
	ctx := map[string]string{}
	for k, v := range c.vals {
		ctx[k] = v
	}
	for name, in := range meta.Inputs {
		ctx["inputs."+name] = eval(t, in.Default, c.vals)
	}
	for name, v := range c.with {
		if _, ok := meta.Inputs[name]; !ok {
			t.Fatalf("with: %s: action.yml has no such input", name)
		}
		ctx["inputs."+name] = eval(t, v, c.vals)
	}
	i := slices.IndexFunc(meta.Runs.Steps, func(s actionStep) bool { return s.ID == "run" })
	if i < 0 {
		t.Fatal("action.yml has no step with id run")
	}
	step := meta.Runs.Steps[i]

	tmp := t.TempDir()
	bin, runnerTemp := filepath.Join(tmp, "bin"), filepath.Join(tmp, "runner")
	for _, d := range []string{bin, runnerTemp} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	work := c.dir
	if work == "" {
		work = filepath.Join(tmp, "work")
		gitOut(t, tmp, "init", "-q", work)
	}
	record := filepath.Join(tmp, "args")
	stub := `#!/bin/sh
printf '%s\0' "$@" > "$MODELGIT_ARGS"
prev=
for a; do
  if [ "$prev" = --signing-key ]; then cp -p "$a" "$MODELGIT_ARGS.key"; fi
  prev=$a
done
if [ -n "$MODELGIT_REAL" ]; then exec "$MODELGIT_REAL" "$@"; fi
`
	if err := os.WriteFile(filepath.Join(bin, "modelgit"), []byte(stub), 0o755); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(tmp, "run.sh")
	if err := os.WriteFile(script, []byte(step.Run), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", script)
	cmd.Dir = work
	cmd.Env = append([]string{
		"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + tmp,
		"GIT_CONFIG_NOSYSTEM=1",
		"RUNNER_TEMP=" + runnerTemp,
		"MODELGIT_ARGS=" + record,
		"MODELGIT_REAL=" + c.modelgit,
	}, c.env...)
	for k, v := range step.Env {
		cmd.Env = append(cmd.Env, k+"="+eval(t, v, ctx))
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	r := actionRun{err: cmd.Run(), stdout: stdout.String(), stderr: stderr.String(), temp: runnerTemp, workdir: work}
	if ee, ok := r.err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if r.err != nil {
		t.Fatalf("running the action's script: %v", r.err)
	}
	if b, err := os.ReadFile(record); err == nil {
		r.args = strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
	}
	if fi, err := os.Stat(record + ".key"); err == nil {
		r.keyMode = fi.Mode().Perm()
		r.key, _ = os.ReadFile(record + ".key")
		r.keyPath = filepath.Join(runnerTemp, "modelgit-signing-key")
	}
	return r
}

// parsed is what the real command line parsing made of some arguments.
type parsed struct {
	command string
	check   *app.CheckOptions
	merge   *app.MergeOptions
	monitor *app.MonitorOptions
}

// parseCLI parses args with modelgit's own check, merge and monitor
// commands (flag checks included), running nothing.
func parseCLI(args []string) (parsed, error) {
	var p parsed
	ios, _, _, _ := cmdutil.Test()
	f := &cmdutil.Factory{IOStreams: ios}
	root := app.NewRootCmd(f)
	for _, sub := range root.Commands() {
		root.RemoveCommand(sub)
	}
	root.AddCommand(
		app.NewCmdCheck(f, func(o *app.CheckOptions) error { p.command, p.check = "check", o; return nil }),
		app.NewCmdMerge(f, func(o *app.MergeOptions) error { p.command, p.merge = "merge", o; return nil }),
		app.NewCmdMonitor(f, func(o *app.MonitorOptions) error { p.command, p.monitor = "monitor", o; return nil }),
	)
	root.SetArgs(args)
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	_, err := root.ExecuteC()
	return p, err
}

// uncomment turns the commented `# NAME: value` lines of the workflow into
// YAML, as a user following the comment would.
func uncomment(src []byte, name string) []byte {
	return regexp.MustCompile(`(?m)^(\s*)# (`+regexp.QuoteMeta(name)+`:(?: .*)?)$`).ReplaceAll(src, []byte("$1$2"))
}

const botKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----"

// TestWorkflowJobsRunValidCommands turns each job of the generated
// workflow into the command line the action runs (action.yml's own
// script, the job's inputs, a recording stub for modelgit) and parses it
// with modelgit's real flags: what the job asks must be what the command
// accepts, and the monitor job must be able to commit what act proposes.
func TestWorkflowJobsRunValidCommands(t *testing.T) {
	var wf []byte
	for _, b := range generatedWorkflows(t) {
		wf = b
	}
	prEvent := map[string]string{"github.event.pull_request.number": "7", "github.token": token}
	secrets := map[string]string{"secrets.MODELGIT_SIGNING_KEY": botKey, "github.token": token}

	tests := []struct {
		name     string
		workflow []byte
		job      string
		with     map[string]string // added to the job's inputs
		vals     map[string]string
		wantArgs []string // RUNNER_TEMP is written as $T
		wantOut  string
		check    func(t *testing.T, p parsed, r actionRun)
	}{
		{
			name: "check", workflow: wf, job: "check", vals: prEvent,
			wantArgs: []string{"check", "--pr", "7", "--publish"},
			check: func(t *testing.T, p parsed, _ actionRun) {
				if p.check.PR != 7 || !p.check.Report {
					t.Errorf("check options = %+v", p.check)
				}
			},
		},
		{
			name: "merge publishes its re-check", workflow: wf, job: "merge", vals: prEvent,
			wantArgs: []string{"merge", "--pr", "7", "--publish"},
			check: func(t *testing.T, p parsed, _ actionRun) {
				if p.merge.PR != 7 || !p.merge.Report {
					t.Errorf("merge options = %+v", p.merge)
				}
			},
		},
		{
			name: "monitor acts with the signing key", workflow: wf, job: "monitor", vals: secrets,
			wantArgs: []string{"monitor", "--act", "--signing-key", "$T/modelgit-signing-key"},
			check: func(t *testing.T, p parsed, r actionRun) {
				if p.monitor.Env != "" || !p.monitor.Act || p.monitor.SigningKey != r.keyPath {
					t.Errorf("monitor options = env %q act %v key %q; want every environment, act, the key file", p.monitor.Env, p.monitor.Act, p.monitor.SigningKey)
				}
				if string(r.key) != botKey+"\n" || r.keyMode != 0o600 {
					t.Errorf("key file = %q mode %v; want the secret, 0600", r.key, r.keyMode)
				}
				if _, err := os.Stat(r.keyPath); !os.IsNotExist(err) {
					t.Errorf("the key file is left in RUNNER_TEMP after the step: %v", err)
				}
				if got := gitOut(t, r.workdir, "config", "user.email"); got != "modelgit-bot@users.noreply.github.com" {
					t.Errorf("git user.email = %q, want the signer's", got)
				}
			},
		},
		{
			name: "monitor without the secret only monitors", workflow: wf, job: "monitor",
			wantArgs: []string{"monitor"},
			wantOut:  "::warning title=modelgit::act is true but input signing-key is empty",
			check: func(t *testing.T, p parsed, _ actionRun) {
				if p.monitor.Act {
					t.Error("acting without a signing key")
				}
			},
		},
		{
			name: "monitor with the commented Prometheus line", workflow: uncomment(wf, "prometheus"), job: "monitor",
			vals:     map[string]string{"vars.PROMETHEUS_URL": "http://prometheus.monitoring:9090", "secrets.MODELGIT_SIGNING_KEY": botKey},
			wantArgs: []string{"monitor", "--prometheus", "http://prometheus.monitoring:9090", "--act", "--signing-key", "$T/modelgit-signing-key"},
			check: func(t *testing.T, p parsed, _ actionRun) {
				if p.monitor.Prometheus != "http://prometheus.monitoring:9090" {
					t.Errorf("prometheus = %q", p.monitor.Prometheus)
				}
			},
		},
		{
			name: "monitor one environment, hostile value as data", workflow: wf, job: "monitor",
			with:     map[string]string{"environment": "$(id) `id` ${{ github.token }}", "act": "false"},
			vals:     map[string]string{"github.token": "$(touch pwned)"},
			wantArgs: []string{"monitor", "--env", "$(id) `id` $(touch pwned)"},
			check: func(t *testing.T, p parsed, r actionRun) {
				if p.monitor.Env != "$(id) `id` $(touch pwned)" {
					t.Errorf("env = %q", p.monitor.Env)
				}
				if _, err := os.Stat(filepath.Join(r.workdir, "pwned")); err == nil {
					t.Error("an input was run as a command")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			with := jobInputs(t, tt.workflow, tt.job)
			for k, v := range tt.with {
				with[k] = v
			}
			r := runAction(t, actionCall{with: with, vals: tt.vals})
			if r.err != nil {
				t.Fatalf("the action's script failed: %v\n%s%s", r.err, r.stdout, r.stderr)
			}
			var want []string
			for _, a := range tt.wantArgs {
				want = append(want, strings.ReplaceAll(a, "$T", r.temp))
			}
			if !slices.Equal(r.args, want) {
				t.Fatalf("modelgit %q, want %q\n%s%s", r.args, want, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, tt.wantOut) {
				t.Errorf("output lacks %q:\n%s", tt.wantOut, r.stdout)
			}
			p, err := parseCLI(r.args)
			if err != nil {
				t.Fatalf("modelgit %q: %v", r.args, err)
			}
			if p.command != tt.wantArgs[0] {
				t.Fatalf("ran %q", p.command)
			}
			tt.check(t, p, r)
		})
	}

	// The commented line is a valid step input once uncommented.
	t.Run("uncommented workflow passes actionlint", func(t *testing.T) {
		u := uncomment(wf, "prometheus")
		if bytes.Equal(u, wf) {
			t.Fatal("the workflow has no commented `# prometheus:` line showing how to set Prometheus")
		}
		lintLocal(t, ".github/workflows/modelgit.yml", u)
	})

	// So are the monitor job's commented registry credentials and token
	// (docs/action.md): the job-level env block and the step's token.
	t.Run("uncommented monitor credentials pass actionlint", func(t *testing.T) {
		u := wf
		for _, name := range []string{"prometheus", "env", "MODELGIT_REGISTRY_HOST", "MODELGIT_REGISTRY_USERNAME", "MODELGIT_REGISTRY_PASSWORD", "token"} {
			before := u
			if u = uncomment(u, name); bytes.Equal(u, before) {
				t.Fatalf("the workflow has no commented `# %s:` line", name)
			}
		}
		for _, want := range []string{
			"    env:\n      MODELGIT_REGISTRY_HOST: ${{ vars.MODELGIT_REGISTRY_HOST }}\n      MODELGIT_REGISTRY_USERNAME: ${{ secrets.MODELGIT_REGISTRY_USERNAME }}\n      MODELGIT_REGISTRY_PASSWORD: ${{ secrets.MODELGIT_REGISTRY_PASSWORD }}\n    steps:",
			"          token: ${{ secrets.MODELGIT_BOT_TOKEN }}\n",
		} {
			if !bytes.Contains(u, []byte(want)) {
				t.Errorf("uncommented workflow lacks %q", want)
			}
		}
		lintLocal(t, ".github/workflows/modelgit.yml", u)
	})
}

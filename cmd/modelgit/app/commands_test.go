package app

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops/prom/promtest"
)

// TestCommandFlags checks flag and argument parsing of each command
// without running it: runF captures the options.
func TestCommandFlags(t *testing.T) {
	tests := []struct {
		name    string
		cli     string
		wantErr string // substring of a FlagError; "" means success
		check   func(t *testing.T, got any)
	}{
		{name: "register all flags", cli: "register fraud-detector --weights w.bin --pipeline p --schema s.json --config c.yaml --metrics m.json --params p.yaml --data d/ --data-source s3://x --version 1.2.3 --framework torch=2.4 --library numpy=2 --library scipy=1 --target gpu-east --trained-at 2026-03-03T14:02:00Z --owner risk --label team=risk --signing-key k --dry-run -o json",
			check: func(t *testing.T, got any) {
				o := got.(*RegisterOptions)
				want := map[string]any{
					"Model": "fraud-detector", "Weights": "w.bin", "Pipeline": "p", "Schema": "s.json", "Config": "c.yaml",
					"Metrics": "m.json", "Params": "p.yaml", "Data": "d/", "DataSource": "s3://x", "Version": "1.2.3",
					"Framework": "torch=2.4", "SigningKey": "k", "Output": "json", "TrainedAt": "2026-03-03T14:02:00Z",
					"Owner": "risk", "DryRun": true,
				}
				for field, w := range want {
					if g := fieldOf(o, field); !reflect.DeepEqual(g, w) {
						t.Errorf("%s = %#v, want %#v", field, g, w)
					}
				}
				if !reflect.DeepEqual(o.Libraries, []string{"numpy=2", "scipy=1"}) || !reflect.DeepEqual(o.Targets, []string{"gpu-east"}) || !reflect.DeepEqual(o.Labels, []string{"team=risk"}) {
					t.Errorf("repeated flags = %v %v %v", o.Libraries, o.Targets, o.Labels)
				}
			}},
		{name: "register needs a model", cli: "register --weights w", wantErr: "the model name is required"},
		{name: "merge --local", cli: "merge --local --head modelgit/promote/dev/m-1.0.0 --base trunk --approved-by Bob<bob@example.com> --approved-by Carol<carol@example.com> --signing-key k",
			check: func(t *testing.T, got any) {
				o := got.(*MergeOptions)
				if !o.Local || o.Head != "modelgit/promote/dev/m-1.0.0" || o.Base != "trunk" || o.SigningKey != "k" ||
					!reflect.DeepEqual(o.ApprovedBy, []string{"Bob<bob@example.com>", "Carol<carol@example.com>"}) {
					t.Errorf("got %+v", o)
				}
			}},
		{name: "merge --local needs a head", cli: "merge --local", wantErr: "--local needs --head BRANCH"},
		{name: "merge --local approver is Name <email>", cli: "merge --local --head b --approved-by bob@example.com", wantErr: "want 'Name <email>'"},
		{name: "merge --local is not --pr", cli: "merge --local --head b --pr 3", wantErr: "give one or the other"},
		{name: "merge --local does not publish", cli: "merge --local --head b --publish", wantErr: "--publish posts to a forge"},
		{name: "merge --pr takes no approvers", cli: "merge --pr 3 --approved-by B<b@example.com>", wantErr: "--head and --approved-by go with --local"},

		{name: "register remembers weights", cli: "register m --allow-removal", check: func(t *testing.T, got any) {
			// The weights may come from models/m/model.yaml (register:).
			if o := got.(*RegisterOptions); o.Model != "m" || o.Weights != "" || !o.AllowRemoval {
				t.Errorf("got %+v", o)
			}
		}},
		{name: "schema", cli: "schema features", check: func(t *testing.T, got any) {
			if o := got.(*SchemaOptions); o.Name != "features" {
				t.Errorf("got %+v", o)
			}
		}},
		{name: "schema needs a kind", cli: "schema", wantErr: "which schema?"},
		{name: "init store", cli: "init --store oci://ghcr.io/acme/models", check: func(t *testing.T, got any) {
			if o := got.(*InitOptions); o.Store != "oci://ghcr.io/acme/models" {
				t.Errorf("got %+v", o)
			}
		}},
		{name: "register bad output", cli: "register m --weights w -o xml", wantErr: `valid values are "text", "json"`},
		{name: "show", cli: "show m@1.0.0 -o yaml", check: func(t *testing.T, got any) {
			if o := got.(*ShowOptions); o.Ref != "m@1.0.0" || o.Output != "yaml" {
				t.Errorf("got %+v", o)
			}
		}},
		{name: "show needs one ref", cli: "show a b", wantErr: "too many arguments"},
		{name: "history", cli: "history m -o json", check: func(t *testing.T, got any) {
			if o := got.(*HistoryOptions); o.Model != "m" || o.Output != "json" {
				t.Errorf("got %+v", o)
			}
		}},
		{name: "diff needs two", cli: "diff m@1", wantErr: "two model versions are required"},
		{name: "pull", cli: "pull m ./out", check: func(t *testing.T, got any) {
			if o := got.(*PullOptions); o.Ref != "m" || o.Dir != "./out" {
				t.Errorf("got %+v", o)
			}
		}},
		{name: "verify range deep", cli: "verify --deep main..HEAD", check: func(t *testing.T, got any) {
			if o := got.(*VerifyOptions); o.Range != "main..HEAD" || !o.Deep || o.Output != "text" {
				t.Errorf("got %+v", o)
			}
		}},
		{name: "init dir", cli: "init ./reg --signing-key k --no-commit", check: func(t *testing.T, got any) {
			if o := got.(*InitOptions); o.Dir != "./reg" || o.SigningKey != "k" || !o.NoCommit {
				t.Errorf("got %+v", o)
			}
		}},
		{name: "quickstart takes no args", cli: "quickstart x", wantErr: "unknown argument"},
		{name: "promote canary", cli: "promote m@1.0.0 --to production --strategy canary --weight 10 --force --remote up --signing-key k", check: func(t *testing.T, got any) {
			o := got.(*PromoteOptions)
			if o.Ref != "m@1.0.0" || o.Env != "production" || o.Strategy != "canary" || o.Weight != 10 || !o.Force || o.Remote != "up" || o.SigningKey != "k" {
				t.Errorf("got %+v", o)
			}
		}},
		{name: "promote bulk", cli: "promote --selector team=risk --version-from staging --to production", check: func(t *testing.T, got any) {
			if o := got.(*PromoteOptions); o.Selector != "team=risk" || o.VersionFrom != "staging" || o.Ref != "" {
				t.Errorf("got %+v", o)
			}
		}},
		{name: "promote needs --env", cli: "promote m@1", wantErr: "--env is required"},
		{name: "promote --env", cli: "promote m@1 --env staging", check: func(t *testing.T, got any) {
			if o := got.(*PromoteOptions); o.Env != "staging" || o.Ref != "m@1" {
				t.Errorf("got %+v", o)
			}
		}},
		{name: "promote --to and --env agree", cli: "promote m@1 --env staging --to staging", check: func(t *testing.T, got any) {
			if o := got.(*PromoteOptions); o.Env != "staging" {
				t.Errorf("got %+v", o)
			}
		}},
		{name: "promote --to and --env disagree", cli: "promote m@1 --env staging --to production", wantErr: "--env staging and --to production disagree"},
		{name: "promote canary needs weight", cli: "promote m@1 --to p --strategy canary", wantErr: "needs --weight"},
		{name: "promote weight needs canary", cli: "promote m@1 --to p --weight 5", wantErr: "--weight is for --strategy canary"},
		{name: "promote switch needs blue-green", cli: "promote m@1 --to p --switch", wantErr: "--switch is for --strategy blue-green"},
		{name: "promote match needs ab", cli: "promote m@1 --to p --match a=b", wantErr: "--match is for --strategy ab"},
		{name: "promote selector and ref", cli: "promote m@1 --selector a=b --version-from s --to p", wantErr: "not both"},
		{name: "promote selector needs version-from", cli: "promote --selector a=b --to p", wantErr: "needs --version-from"},
		{name: "rollback", cli: "rollback m --env production --to 1.3.2", check: func(t *testing.T, got any) {
			if o := got.(*RollbackOptions); o.Model != "m" || o.Env != "production" || o.To != "1.3.2" {
				t.Errorf("got %+v", o)
			}
		}},
		{name: "rollback needs env", cli: "rollback m", wantErr: "--env is required"},
		{name: "rollback --version", cli: "rollback m --env production --version 1.3.2", check: func(t *testing.T, got any) {
			if o := got.(*RollbackOptions); o.To != "1.3.2" || o.Env != "production" {
				t.Errorf("got %+v", o)
			}
		}},
		{name: "rollback --to and --version disagree", cli: "rollback m --env production --version 1.3.2 --to 1.3.1", wantErr: "--version 1.3.2 and --to 1.3.1 disagree"},
		{name: "rollback force", cli: "rollback m --env production --to 0.9.0 --force", check: func(t *testing.T, got any) {
			if o := got.(*RollbackOptions); !o.Force || o.To != "0.9.0" {
				t.Errorf("got %+v", o)
			}
		}},
		{name: "render cluster", cli: "render --cluster gpu-prod", check: func(t *testing.T, got any) {
			if o := got.(*RenderOptions); o.Cluster != "gpu-prod" || o.Check {
				t.Errorf("got %+v", o)
			}
		}},
		{name: "render cluster and check", cli: "render --cluster c --check", wantErr: "cannot be used together"},
		{name: "render verify secret", cli: "render --verify-secret --forge-key web-flow=https://github.com/web-flow.gpg --forge-key fake=k.pub", check: func(t *testing.T, got any) {
			if o := got.(*RenderOptions); !o.VerifySecret || !reflect.DeepEqual(o.ForgeKeys, []string{"web-flow=https://github.com/web-flow.gpg", "fake=k.pub"}) {
				t.Errorf("got %+v", o)
			}
		}},
		{name: "render verify secret and check", cli: "render --verify-secret --check", wantErr: "cannot be used together"},
		{name: "render forge key without name", cli: "render --verify-secret --forge-key k.pub", wantErr: "want NAME=FILE or NAME=URL"},
		{name: "status json", cli: "status -o json", check: func(t *testing.T, got any) {
			if o := got.(*StatusOptions); o.Output != "json" {
				t.Errorf("got %+v", o)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := cmdutil.Test()
			f := &cmdutil.Factory{IOStreams: ios}
			var got any
			capture := func(o any) error { got = o; return nil }
			args := strings.Fields(tt.cli)
			root := NewRootCmd(f)
			// Swap each subcommand for one whose runF captures.
			replace := map[string]*cobra.Command{
				"register":   NewCmdRegister(f, func(o *RegisterOptions) error { return capture(o) }),
				"show":       NewCmdShow(f, func(o *ShowOptions) error { return capture(o) }),
				"history":    NewCmdHistory(f, func(o *HistoryOptions) error { return capture(o) }),
				"diff":       NewCmdDiff(f, func(o *DiffOptions) error { return capture(o) }),
				"pull":       NewCmdPull(f, func(o *PullOptions) error { return capture(o) }),
				"verify":     NewCmdVerify(f, func(o *VerifyOptions) error { return capture(o) }),
				"init":       NewCmdInit(f, func(o *InitOptions) error { return capture(o) }),
				"schema":     NewCmdSchema(f, func(o *SchemaOptions) error { return capture(o) }),
				"quickstart": NewCmdQuickstart(f, func(o *QuickstartOptions) error { return capture(o) }),
				"promote":    NewCmdPromote(f, func(o *PromoteOptions) error { return capture(o) }),
				"rollback":   NewCmdRollback(f, func(o *RollbackOptions) error { return capture(o) }),
				"render":     NewCmdRender(f, func(o *RenderOptions) error { return capture(o) }),
				"status":     NewCmdStatus(f, func(o *StatusOptions) error { return capture(o) }),
				"merge":      NewCmdMerge(f, func(o *MergeOptions) error { return capture(o) }),
			}
			for _, c := range root.Commands() {
				if _, ok := replace[c.Name()]; ok {
					root.RemoveCommand(c)
				}
			}
			for _, c := range replace {
				root.AddCommand(c)
			}
			root.SetArgs(args)
			root.SetOut(&bytes.Buffer{})
			root.SetErr(&bytes.Buffer{})
			err := root.ExecuteContext(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if !isUsageError(err) {
					t.Errorf("err %v is not a usage error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Fatal("runF was not called")
			}
			tt.check(t, got)
		})
	}
}

func fieldOf(o *RegisterOptions, name string) any {
	v := reflect.ValueOf(o).Elem()
	f := v.FieldByName(name)
	if !f.IsValid() {
		f = v.FieldByName("RegisterOptions").FieldByName(name)
	}
	return f.Interface()
}

// TestQuickstart runs the whole story and checks it tells it: every step
// succeeds, real git accepts the signature, and tampering is caught.
func TestQuickstart(t *testing.T) {
	for _, tool := range []string{"git", "ssh-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: apt-get install -y git openssh-client", tool)
		}
	}
	// The monitoring step needs a real Prometheus; without one it is
	// skipped (TestQuickstartMonitoringNeedsPrometheus), not tested.
	promtest.Need(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("NO_COLOR", "1")
	// Inside a GitHub Actions job the factory's forge is the job's
	// repository; the story must still talk only to its own fake.
	decoy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("quickstart sent %s %s to the job's forge", r.Method, r.URL.Path)
		http.Error(w, "decoy", http.StatusTeapot)
	}))
	defer decoy.Close()
	t.Setenv("GITHUB_ACTIONS", "true")
	t.Setenv("GITHUB_API_URL", decoy.URL)
	t.Setenv("GITHUB_REPOSITORY", "someone/else")
	ios, _, stdout, stderr := cmdutil.Test()
	f := cmdutil.NewFactory("test")
	f.IOStreams = ios
	dir := filepath.Join(t.TempDir(), "qs")
	wd, _ := os.Getwd()
	if err := quickstartRun(context.Background(), &QuickstartOptions{IO: ios, Factory: f, Dir: dir}); err != nil {
		t.Fatalf("quickstart: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	if now, _ := os.Getwd(); now != wd {
		t.Errorf("quickstart left the working directory at %s", now)
	}
	out := stdout.String()
	for _, want := range []string{
		"registered fraud-detector@0.1.0+data.1 (first version)",
		"registered fraud-detector@0.1.0+data.2 (data bump)",
		"registered fraud-detector@0.1.1+data.2 (patch bump)",
		"registered fraud-detector@0.2.0+data.2 (minor bump)",
		"nothing changed since fraud-detector@0.2.0+data.2: no new version",
		"pulled fraud-detector@0.2.0+data.2: 4 artifacts verified",
		"0 problems",
		`Good "git" signature for quinn@example.com with ED25519 key`,
		"Model-Version: 0.2.0+data.2",
		"the stored bytes do not match the digest",
		"opened pull request #1",
		"canaryTrafficPercent: 10",
		// The demo's store is inside the clone: its clusters read it from
		// the volume its modelgit.yaml declares, and it says what a team
		// does instead.
		"storageUri: pvc://modelgit-store/quickstart/blobs/sha256/",
		"a real team sets a shared store instead: modelgit init --store oci://",
		"Roll back fraud-detector in production to 0.1.1+data.2",
		"rendered/ and clusters/ are in sync with the releases",
		"0 of 1 required approvals",
		"approved by rita",
		"Approved-by: rita <", // the ID+login noreply address the fake gives rita
		"+rita@users.noreply.github.com>",
		"0.2.0+data.2  10% — canary",
		// Monitoring: 0.81 live where 0.1.1+data.2 registered 0.962, and
		// 0.2.0+data.2 0.971.
		"production at ",
		"fraud-detector\t0.1.1+data.2\taccuracy\tregistered\t0.81\t0.962\t>= 0.9139\t60/30\tfail\t",
		"fraud-detector\t0.2.0+data.2\taccuracy\tregistered\t0.81\t0.971\t>= 0.92245\t60/30\tfail\t",
		"fraud-detector: failing",
		// Staging returns to the version before; production runs the
		// version the story rolled back to, and must not return to the
		// one it rolled back from: nothing earlier ran there.
		"✓ rollback to 0.1.1+data.2: opened pull request #",
		"✓ rollback to 0.1.1+data.2: updated pull request #",
		"! rollback not opened: no earlier version of fraud-detector ran in production to roll back to",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("quickstart output lacks %q", want)
		}
	}
	for _, bad := range []string{"rollback to 0.2.0+data.2", "(skipped:"} {
		if strings.Contains(out, bad) {
			t.Errorf("quickstart output has %q", bad)
		}
	}
	if t.Failed() {
		t.Logf("stdout:\n%s\nstderr:\n%s", out, stderr)
	}
	versions, err := os.ReadDir(filepath.Join(dir, "registry", "models", "fraud-detector", "versions"))
	if err != nil || len(versions) != 4 {
		t.Errorf("versions on disk = %v, %v; want 4", versions, err)
	}
	testReportOnQuickstart(t, filepath.Join(dir, "registry"))
}

// testReportOnQuickstart reads `modelgit report` of the repository the
// quickstart leaves: every promotion there was requested through modelgit
// and approved by rita, so production's report has no exception and ends
// with the version the story rolled back to.
func testReportOnQuickstart(t *testing.T, repo string) {
	t.Helper()
	ios, _, stdout, stderr := cmdutil.Test()
	f := cmdutil.NewFactory("test")
	f.IOStreams = ios
	if code := run(context.Background(), f, NewRootCmd(f), []string{"-C", repo, "report", "--env", "production"}); code != ExitOK {
		t.Fatalf("report: exit %d\n%s\n%s", code, stdout, stderr)
	}
	out := stdout.String()
	for _, want := range []string{
		"# Model deployment report: environment production",
		"- Branch followed: `main` at ",
		"## Summary",
		// Three promotions (0.1.1, the 10% canary, its completion) and
		// the rollback; none is an exception.
		"| 4 | 3 | 1 | 0 | 0 | 0 | 0 |",
		"## Exceptions\n\nNone.",
		"### production",
		"| fraud-detector | 0.1.1+data.2 | 100% |",
		"rita",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

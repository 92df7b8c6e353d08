package app

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/gitops/forge/githubfake"
	"github.com/modelgit/modelgit/gitops/forge/githubfake/githubfaketest"
	"github.com/modelgit/modelgit/manifests"
)

func TestDoctorFlags(t *testing.T) {
	for _, tc := range []struct {
		cli, wantErr string
		want         DoctorOptions
	}{
		{cli: "doctor --github", want: DoctorOptions{GitHub: true, Branch: "main", Output: "text"}},
		{cli: "doctor --branch release -o json", want: DoctorOptions{Branch: "release", Output: "json"}},
		{cli: "doctor --branch ''", wantErr: "--branch must name a branch"},
		{cli: "doctor -o yaml", wantErr: `valid values are "text", "json"`},
		{cli: "doctor extra", wantErr: "unknown command"},
	} {
		t.Run(tc.cli, func(t *testing.T) {
			ios, _, _, _ := cmdutil.Test()
			var got *DoctorOptions
			cmd := NewCmdDoctor(&cmdutil.Factory{IOStreams: ios}, func(o *DoctorOptions) error { got = o; return nil })
			args := strings.Fields(strings.TrimPrefix(tc.cli, "doctor"))
			for i, a := range args {
				if a == "''" {
					args[i] = ""
				}
			}
			cmd.SetArgs(args)
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
			if got.GitHub != tc.want.GitHub || got.Branch != tc.want.Branch || got.Output != tc.want.Output {
				t.Fatalf("options = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestDoctorGitHub runs `modelgit doctor --github` against the GitHub
// fake, through go-github, for each way a branch can be set up.
func TestDoctorGitHub(t *testing.T) {
	full := &githubfake.Protection{RequiredStatusChecks: []string{forge.StatusContext}, Strict: true, RequiredApprovals: 2, DismissStaleReviews: true, RequiredSignatures: true}
	for _, tc := range []struct {
		name       string
		setup      func(s *githubfake.Server)
		output     string
		wantOK     bool
		wantStates map[string]string
		wantStdout []string
	}{
		{
			name: "unprotected", output: "json",
			wantStates: map[string]string{"requiredStatusCheck": "missing", "strictStatusChecks": "missing", "dismissStaleReviews": "missing", "requiredSignatures": "missing", "mergeCommitsAllowed": "ok"},
		},
		{
			name: "classic protection with everything", output: "json", wantOK: true,
			setup:      func(s *githubfake.Server) { s.SetBranchProtection("main", full) },
			wantStates: map[string]string{"requiredStatusCheck": "ok", "strictStatusChecks": "ok", "dismissStaleReviews": "ok", "requiredSignatures": "ok", "mergeCommitsAllowed": "ok"},
		},
		{
			name: "status without up-to-date branches, text", output: "text",
			setup: func(s *githubfake.Server) {
				s.SetBranchProtection("main", &githubfake.Protection{RequiredStatusChecks: []string{"ci", forge.StatusContext}, DismissStaleReviews: true, RequiredSignatures: true})
			},
			wantStdout: []string{
				"branch main of acme/models ([branch protection]):",
				`✓ Require status checks to pass before merging: "modelgit/promotion": ok (required: ci, modelgit/promotion)`,
				"X Require branches to be up to date before merging: missing (up to date before merging: off)",
				"    why: the check judged the head against the base it saw",
				"✓ Require signed commits: ok",
				"see docs/governance.md",
			},
		},
		{
			name: "rulesets only, token without admin rights", output: "json",
			setup: func(s *githubfake.Server) {
				s.SetBranchProtection("main", full)
				s.DenyProtectionRead(true)
				s.AddRuleset(githubfake.Ruleset{Branches: []string{"main"}, RequiredStatusChecks: []string{forge.StatusContext}, Strict: true,
					PullRequest: &githubfake.PullRequestRule{RequiredApprovals: 1, AllowedMergeMethods: []string{"squash"}}})
			},
			wantStates: map[string]string{"requiredStatusCheck": "ok", "strictStatusChecks": "ok", "dismissStaleReviews": "unknown", "requiredSignatures": "unknown", "mergeCommitsAllowed": "missing"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := githubfaketest.New(t, githubfake.Options{Owner: "acme", Repo: "models", Token: "tok"})
			if tc.setup != nil {
				tc.setup(fake)
			}
			ios, _, stdout, _ := cmdutil.Test()
			opts := &DoctorOptions{
				IO: ios, GitHub: true, Branch: "main", Output: tc.output,
				Config: func() (*manifests.Config, error) {
					return &manifests.Config{Forge: &manifests.Forge{Type: "github", Repository: fake.Repository(), URL: fake.URL()}}, nil
				},
				Forge: func(cfg *manifests.Config) (forge.Forge, error) {
					return forge.NewGitHub(forge.GitHubOptions{Repository: cfg.Forge.Repository, BaseURL: cfg.Forge.URL, Token: "tok", RetryBackoff: time.Millisecond})
				},
			}
			err := doctorRun(t.Context(), opts)
			if tc.wantOK != (err == nil) || (err != nil && !errors.Is(err, cmdutil.SilentError)) {
				t.Fatalf("err = %v, want ok=%v (SilentError when not)", err, tc.wantOK)
			}
			if tc.output == "json" {
				var rep struct {
					Repository, Branch string
					OK                 bool
					Requirements       []struct{ Setting, State, Want, Have, Why string }
				}
				if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
					t.Fatalf("-o json printed %q: %v", stdout, err)
				}
				if !strings.Contains(stdout.String(), `"requirements": [`) || !strings.Contains(stdout.String(), `"setting": "requiredStatusCheck"`) {
					t.Errorf("JSON keys are not camelCase: %s", stdout)
				}
				got := map[string]string{}
				for _, r := range rep.Requirements {
					got[r.Setting] = r.State
					if r.Why == "" || r.Want == "" {
						t.Errorf("%s says neither what nor why: %+v", r.Setting, r)
					}
				}
				if rep.OK != tc.wantOK || rep.Repository != "acme/models" || rep.Branch != "main" || len(got) != len(tc.wantStates) {
					t.Fatalf("report = %+v", rep)
				}
				for k, v := range tc.wantStates {
					if got[k] != v {
						t.Errorf("%s = %q, want %q", k, got[k], v)
					}
				}
			}
			for _, want := range tc.wantStdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
		})
	}
}

func TestDoctorWithoutForge(t *testing.T) {
	ios, _, _, _ := cmdutil.Test()
	opts := &DoctorOptions{IO: ios, Branch: "main",
		Config: func() (*manifests.Config, error) { return &manifests.Config{}, nil },
		Forge:  func(*manifests.Config) (forge.Forge, error) { return nil, nil },
	}
	if err := doctorRun(t.Context(), opts); err == nil || !strings.Contains(err.Error(), "modelgit.yaml names no forge") {
		t.Fatalf("err = %v, want to be told modelgit.yaml names no forge", err)
	}
}

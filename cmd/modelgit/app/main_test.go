package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
)

// testRoot is the real root plus commands that fail in each way Main maps.
func testRoot(f *cmdutil.Factory) *cobra.Command {
	root := NewRootCmd(f)
	fail := func(use string, err func(*cobra.Command) error) *cobra.Command {
		return &cobra.Command{Use: use, Hidden: true, RunE: func(c *cobra.Command, _ []string) error { return err(c) }}
	}
	root.AddCommand(
		fail("fail", func(*cobra.Command) error {
			return fmt.Errorf("pushing to %q: %w", "https://x-access-token:ghs_0123456789abcdef@github.com/o/r.git?x=1",
				errors.New("authentication failed for Bearer abc.def"))
		}),
		fail("silent", func(c *cobra.Command) error {
			fmt.Fprintln(c.ErrOrStderr(), "X gate accuracy failed")
			return cmdutil.SilentError
		}),
		fail("cancel", func(*cobra.Command) error { return cmdutil.CancelError }),
		fail("flagerr", func(*cobra.Command) error { return cmdutil.FlagErrorf("--to is required") }),
		fail("workdir", func(c *cobra.Command) error {
			wd, err := f.WorkDir()
			if err != nil {
				return err
			}
			fmt.Fprintln(c.OutOrStdout(), filepath.Base(wd))
			return nil
		}),
	)
	return root
}

func TestMainRun(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "gitops-repo"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		wantExit   ExitCode
		wantStdout string // exact, unless it ends in "…", then a prefix
		wantStderr string // exact, unless it ends in "…", then a prefix
	}{
		{
			name:       "version",
			args:       []string{"version"},
			wantStdout: "modelgit version 1.2.3\ncommit: abc1234\ngo: " + goLine() + "\n",
		},
		{
			name:       "version json",
			args:       []string{"version", "-o", "json"},
			wantStdout: "{\n  \"version\": \"1.2.3\",\n  \"commit\": \"abc1234\",\n…",
		},
		{
			name:       "root --version",
			args:       []string{"--version"},
			wantStdout: "modelgit version 1.2.3\n",
		},
		{
			name:       "no command prints help",
			args:       nil,
			wantStdout: "modelgit makes Git the machine-learning model registry.\n…",
		},
		{
			name:       "unknown flag",
			args:       []string{"version", "--bogus"},
			wantExit:   ExitFlagError,
			wantStderr: "modelgit: unknown flag: --bogus\n\nUsage:\n  modelgit version [flags]\n…",
		},
		{
			name:       "bad output format",
			args:       []string{"version", "-o", "xml"},
			wantExit:   ExitFlagError,
			wantStderr: "modelgit: invalid argument \"xml\" for \"-o, --output\" flag: valid values are \"text\", \"json\", \"yaml\"\n\nUsage:\n…",
		},
		{
			name:       "unexpected argument",
			args:       []string{"version", "now"},
			wantExit:   ExitFlagError,
			wantStderr: "modelgit: unknown argument \"now\" for \"modelgit version\"\n\nUsage:\n…",
		},
		{
			name:       "unknown command",
			args:       []string{"frobnicate"},
			wantExit:   ExitFlagError,
			wantStderr: "modelgit: unknown command \"frobnicate\" for \"modelgit\"\n\nUsage:\n  modelgit [command]\n…",
		},
		{
			name:       "flag error from RunE",
			args:       []string{"flagerr"},
			wantExit:   ExitFlagError,
			wantStderr: "modelgit: --to is required\n\nUsage:\n  modelgit flagerr [flags]\n…",
		},
		{
			name:       "redacted error",
			args:       []string{"fail"},
			wantExit:   ExitError,
			wantStderr: "modelgit: pushing to \"https://github.com/o/r.git\": authentication failed for Bearer ***\n",
		},
		{
			name:       "silent error",
			args:       []string{"silent"},
			wantExit:   ExitError,
			wantStderr: "X gate accuracy failed\n",
		},
		{
			name:     "cancel",
			args:     []string{"cancel"},
			wantExit: ExitCancel,
		},
		{
			name:       "-C directory",
			args:       []string{"-C", filepath.Join(dir, "gitops-repo"), "workdir"},
			wantStdout: "gitops-repo\n",
		},
		{
			name:       "--repo=directory",
			args:       []string{"--repo=" + filepath.Join(dir, "gitops-repo"), "workdir"},
			wantStdout: "gitops-repo\n",
		},
		{
			name:       "-C missing directory",
			args:       []string{"-C", filepath.Join(dir, "nope"), "workdir"},
			wantExit:   ExitError,
			wantStderr: fmt.Sprintf("modelgit: changing to directory %q: no such file or directory\n", filepath.Join(dir, "nope")),
		},
		{
			name:       "-C file",
			args:       []string{"-C", filepath.Join(dir, "file"), "workdir"},
			wantExit:   ExitError,
			wantStderr: fmt.Sprintf("modelgit: changing to directory %q: not a directory\n", filepath.Join(dir, "file")),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, stdout, stderr := cmdutil.Test()
			f := cmdutil.NewFactory("1.2.3")
			f.IOStreams = ios
			f.Commit = "abc1234"
			got := run(context.Background(), f, testRoot(f), tt.args)
			if got != tt.wantExit {
				t.Errorf("exit code = %d, want %d\nstderr:\n%s", got, tt.wantExit, stderr)
			}
			checkOutput(t, "stdout", stdout.String(), tt.wantStdout)
			checkOutput(t, "stderr", stderr.String(), tt.wantStderr)
		})
	}
}

func TestMainRunInterrupted(t *testing.T) {
	ios, _, stdout, stderr := cmdutil.Test()
	f := cmdutil.NewFactory("dev")
	f.IOStreams = ios
	ctx, cancel := context.WithCancel(context.Background())
	root := NewRootCmd(f)
	root.AddCommand(&cobra.Command{Use: "wait", RunE: func(c *cobra.Command, _ []string) error {
		cancel() // as Ctrl-C would, through signal.NotifyContext
		<-c.Context().Done()
		return fmt.Errorf("hashing %q: %w", "weights.bin", c.Context().Err())
	}})
	if got := run(ctx, f, root, []string{"wait"}); got != ExitCancel {
		t.Errorf("exit code = %d, want %d", got, ExitCancel)
	}
	checkOutput(t, "stdout", stdout.String(), "")
	checkOutput(t, "stderr", stderr.String(), "\n")
}

func TestNewCmdVersion(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantOutput string
		wantErr    string
	}{
		{name: "default", args: nil, wantOutput: "text"},
		{name: "json", args: []string{"-o", "json"}, wantOutput: "json"},
		{name: "yaml long", args: []string{"--output=yaml"}, wantOutput: "yaml"},
		{name: "bad format", args: []string{"-o", "csv"}, wantErr: `invalid argument "csv" for "-o, --output" flag: valid values are "text", "json", "yaml"`},
		{name: "argument", args: []string{"x"}, wantErr: `unknown argument "x" for "version"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, stdout, stderr := cmdutil.Test()
			f := cmdutil.NewFactory("9.9.9")
			f.IOStreams = ios
			f.Commit = "deadbeef"
			var gotOpts *VersionOptions
			cmd := NewCmdVersion(f, func(o *VersionOptions) error { gotOpts = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(stdout)
			cmd.SetErr(stderr)
			cmd.SilenceUsage = true
			cmd.SilenceErrors = true
			cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return cmdutil.FlagErrorWrap(err) })
			_, err := cmd.ExecuteC()
			if tt.wantErr != "" {
				var fe *cmdutil.FlagError
				if err == nil || err.Error() != tt.wantErr || !errors.As(err, &fe) {
					t.Fatalf("error = %v, want FlagError %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if gotOpts.Output != tt.wantOutput {
				t.Errorf("Output = %q, want %q", gotOpts.Output, tt.wantOutput)
			}
			if gotOpts.Version != "9.9.9" || gotOpts.Commit != "deadbeef" {
				t.Errorf("Version, Commit = %q, %q; want 9.9.9, deadbeef", gotOpts.Version, gotOpts.Commit)
			}
			if stdout.Len() != 0 {
				t.Errorf("runF was given but something printed: %q", stdout)
			}
		})
	}
}

func TestVersionRun(t *testing.T) {
	tests := []struct {
		name       string
		opts       VersionOptions
		wantStdout string
	}{
		{
			name:       "text",
			opts:       VersionOptions{Output: "text", Version: "v1.0.0", Commit: "abc", GoVersion: "go1.26.8", Platform: "linux/amd64"},
			wantStdout: "modelgit version v1.0.0\ncommit: abc\ngo: go1.26.8 linux/amd64\n",
		},
		{
			name:       "text no commit",
			opts:       VersionOptions{Output: "text", Version: "dev", GoVersion: "go1.26.8", Platform: "linux/arm64"},
			wantStdout: "modelgit version dev\ncommit: unknown\ngo: go1.26.8 linux/arm64\n",
		},
		{
			name:       "json",
			opts:       VersionOptions{Output: "json", Version: "v1.0.0", Commit: "abc", GoVersion: "go1.26.8", Platform: "linux/amd64"},
			wantStdout: "{\n  \"version\": \"v1.0.0\",\n  \"commit\": \"abc\",\n  \"goVersion\": \"go1.26.8\",\n  \"platform\": \"linux/amd64\"\n}\n",
		},
		{
			name:       "yaml",
			opts:       VersionOptions{Output: "yaml", Version: "v1.0.0", Commit: "abc", GoVersion: "go1.26.8", Platform: "linux/amd64"},
			wantStdout: "version: v1.0.0\ncommit: abc\ngoVersion: go1.26.8\nplatform: linux/amd64\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, stdout, _ := cmdutil.Test()
			tt.opts.IO = ios
			if err := versionRun(&tt.opts); err != nil {
				t.Fatal(err)
			}
			checkOutput(t, "stdout", stdout.String(), tt.wantStdout)
		})
	}
}

func TestBuildVersion(t *testing.T) {
	// A test binary is built from the main module without a version.
	v, _ := buildVersion()
	if v != "dev" {
		t.Errorf("buildVersion() version = %q, want %q", v, "dev")
	}
}

// checkOutput compares got with want: exactly, or as a prefix when want
// ends in "…".
func checkOutput(t *testing.T, name, got, want string) {
	t.Helper()
	if prefix, ok := strings.CutSuffix(want, "…"); ok {
		if !strings.HasPrefix(got, prefix) {
			t.Errorf("%s does not start as expected\n got: %q\nwant: %q…", name, got, prefix)
		}
		return
	}
	if got != want {
		t.Errorf("%s\n got: %q\nwant: %q", name, got, want)
	}
}

func goLine() string { return runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH }

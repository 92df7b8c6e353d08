package app

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
)

func TestGovernanceCommandFlags(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    string
		wantErr string
		check   func(t *testing.T, c *CheckOptions, m *MergeOptions, p *PolicyShowOptions)
	}{
		{name: "check pr json", args: "check --pr 42 -o json", check: func(t *testing.T, c *CheckOptions, _ *MergeOptions, _ *PolicyShowOptions) {
			if c.PR != 42 || c.Output != "json" {
				t.Errorf("opts = %+v", c)
			}
		}},
		{name: "check local", args: "check --base main --head HEAD", check: func(t *testing.T, c *CheckOptions, _ *MergeOptions, _ *PolicyShowOptions) {
			if c.Base != "main" || c.Head != "HEAD" || c.PR != 0 {
				t.Errorf("opts = %+v", c)
			}
		}},
		{name: "check nothing", args: "check", wantErr: "give --pr N, or both --base and --head"},
		{name: "check half", args: "check --base main", wantErr: "give --pr N, or both --base and --head"},
		{name: "check pr and head", args: "check --pr 1 --head x", wantErr: "--head is the pull request's head"},
		{name: "check bad output", args: "check --pr 1 -o yaml", wantErr: "yaml"},
		{name: "merge", args: "merge --pr 7 --remote origin", check: func(t *testing.T, _ *CheckOptions, m *MergeOptions, _ *PolicyShowOptions) {
			if m.PR != 7 || m.Remote != "origin" {
				t.Errorf("opts = %+v", m)
			}
		}},
		{name: "merge without pr", args: "merge", wantErr: "--pr N is required"},
		{name: "policy show", args: "policy show production --rev origin/main", check: func(t *testing.T, _ *CheckOptions, _ *MergeOptions, p *PolicyShowOptions) {
			if p.Env != "production" || p.Rev != "origin/main" {
				t.Errorf("opts = %+v", p)
			}
		}},
		{name: "policy show without env", args: "policy show", wantErr: "accepts 1 arg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ios, _, _, _ := cmdutil.Test()
			f := &cmdutil.Factory{IOStreams: ios}
			var c *CheckOptions
			var m *MergeOptions
			var p *PolicyShowOptions
			root := NewRootCmd(f)
			for _, sub := range root.Commands() {
				root.RemoveCommand(sub)
			}
			root.AddCommand(
				NewCmdCheck(f, func(o *CheckOptions) error { c = o; return nil }),
				NewCmdMerge(f, func(o *MergeOptions) error { m = o; return nil }),
				NewCmdPolicy(f, func(o *PolicyShowOptions) error { p = o; return nil }),
			)
			root.SetArgs(strings.Fields(tc.args))
			root.SetOut(io.Discard)
			root.SetErr(io.Discard)
			_, err := root.ExecuteC()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c, m, p)
		})
	}
}

func TestCheckReportNeedsPublisher(t *testing.T) {
	ios, _, _, _ := cmdutil.Test()
	err := checkRun(t.Context(), &CheckOptions{IO: ios, Report: true, PR: 1})
	var fe *cmdutil.FlagError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "Action runtime") {
		t.Errorf("err = %v, want a flag error naming the Action runtime", err)
	}
}

func TestSafeLine(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                  "plain",
		"a\nb\r\nc":              "a b c",
		"\x1b[31mred\x1b[0m":     "[31mred [0m",
		"${{ x }} `id` $(rm -r)": "${{ x }} `id` $(rm -r)",
	} {
		if got := safeLine(in); got != want {
			t.Errorf("safeLine(%q) = %q, want %q", in, got, want)
		}
	}
}

package app

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/manifests"
)

// DoctorOptions are the inputs of `modelgit doctor`.
type DoctorOptions struct {
	IO *cmdutil.IOStreams
	// Config reads modelgit.yaml, which names the forge.
	Config func() (*manifests.Config, error)
	Forge  func(cfg *manifests.Config) (forge.Forge, error)
	// GitHub selects the check of the forge's branch protection (the only
	// check there is; it also runs when nothing is selected).
	GitHub bool
	Branch string
	Output string
}

// DoctorReport is what `modelgit doctor --github` found, as -o json
// prints it.
type DoctorReport struct {
	Repository string `json:"repository"`
	Branch     string `json:"branch"`
	// OK is true when every requirement is met.
	OK bool `json:"ok"`
	// Sources say where the branch's rules come from ("branch
	// protection", "ruleset 42"); empty when the branch is unprotected.
	Sources []string `json:"sources"`
	// ClassicProtectionUnreadable is why the classic branch protection
	// could not be read (the token lacks administration rights), or "".
	ClassicProtectionUnreadable string              `json:"classicProtectionUnreadable,omitempty"`
	Requirements                []forge.Requirement `json:"requirements"`
}

// NewCmdDoctor returns `modelgit doctor`.
func NewCmdDoctor(f *cmdutil.Factory, runF func(*DoctorOptions) error) *cobra.Command {
	opts := &DoctorOptions{IO: f.IOStreams, Forge: f.Forge, Config: func() (*manifests.Config, error) {
		reg, err := f.Repository()
		if err != nil {
			return nil, err
		}
		return reg.Config(), nil
	}}
	cmd := &cobra.Command{
		Use:   "doctor [--github] [flags]",
		Short: "Say what the forge lacks for modelgit's governance to hold",
		Long: `Check the repository's setup outside git. With --github (the only check so
far, also run when none is named) read the branch protection and the active
rulesets of --branch through the GitHub API of modelgit.yaml's forge and say
which of the settings modelgit needs are missing:

  - Require status checks to pass before merging: "modelgit/promotion"
  - Require branches to be up to date before merging
  - Dismiss stale pull request approvals when new commits are pushed
  - Require signed commits
  - merge commits allowed (modelgit merge makes one)

Classic branch protection is readable only with administration rights (the
Actions GITHUB_TOKEN has none); rulesets are readable by anyone who can read
the repository. A setting found in neither, while the classic protection
could not be read, is reported as unknown. docs/governance.md says why each
setting matters. Exits 1 when anything is missing or unknown.`,
		Example: "  modelgit doctor --github\n  modelgit doctor --github --branch release -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Branch == "" {
				return cmdutil.FlagErrorf("--branch must name a branch")
			}
			if runF != nil {
				return runF(opts)
			}
			return doctorRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.GitHub, "github", false, "check the branch protection and rulesets on GitHub")
	cmd.Flags().StringVar(&opts.Branch, "branch", "main", "the `BRANCH` promotions merge into")
	cmdutil.AddOutputFlag(cmd, &opts.Output, cmdutil.OutputText, cmdutil.OutputJSON)
	return cmd
}

func doctorRun(ctx context.Context, opts *DoctorOptions) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	fg, err := opts.Forge(cfg)
	if err != nil {
		return err
	}
	if fg == nil {
		return fmt.Errorf("checking branch protection: modelgit.yaml names no forge; add forge: {type: github, repository: OWNER/NAME}")
	}
	bp, err := fg.BranchProtection(ctx, opts.Branch)
	if err != nil {
		return err
	}
	repository := "the forge's repository"
	if cfg != nil && cfg.Forge != nil {
		repository = cfg.Forge.Repository
	}
	rep := DoctorReport{Repository: repository, Branch: opts.Branch, OK: true, Sources: bp.Sources,
		ClassicProtectionUnreadable: bp.ClassicUnreadable, Requirements: forge.Requirements(bp)}
	if rep.Sources == nil {
		rep.Sources = []string{}
	}
	for _, r := range rep.Requirements {
		rep.OK = rep.OK && r.State == forge.RequirementMet
	}
	if ok, err := cmdutil.PrintData(opts.IO.Out, opts.Output, rep); ok {
		if err == nil && !rep.OK {
			err = cmdutil.SilentError
		}
		return err
	}
	out, cs := opts.IO.Out, opts.IO.ColorScheme()
	from := "no branch protection and no ruleset"
	if len(rep.Sources) > 0 {
		from = fmt.Sprint(rep.Sources)
	}
	fmt.Fprintf(out, "branch %s of %s (%s):\n", safeLine(rep.Branch), safeLine(rep.Repository), from)
	if rep.ClassicProtectionUnreadable != "" {
		fmt.Fprintf(out, "%s the classic branch protection could not be read (%s): use a token with administration rights to see it\n", cs.WarningIcon(), safeLine(rep.ClassicProtectionUnreadable))
	}
	for _, r := range rep.Requirements {
		icon := cs.SuccessIcon()
		switch r.State {
		case forge.RequirementMissing:
			icon = cs.FailureIcon()
		case forge.RequirementUnknown:
			icon = cs.WarningIcon()
		}
		fmt.Fprintf(out, "%s %s: %s (%s)\n", icon, r.Want, r.State, safeLine(r.Have))
		if r.State != forge.RequirementMet {
			fmt.Fprintf(out, "    why: %s\n", r.Why)
		}
	}
	if !rep.OK {
		fmt.Fprintf(out, "\nsee docs/governance.md for the settings and where to make them\n")
		return cmdutil.SilentError
	}
	return nil
}

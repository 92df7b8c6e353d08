package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops"
)

// MergeOptions are the inputs of `modelgit merge`.
type MergeOptions struct {
	IO      *cmdutil.IOStreams
	Factory *cmdutil.Factory
	PR      int
	Base    string
	Remote  string
	Output  string
}

// NewCmdMerge returns `modelgit merge`.
func NewCmdMerge(f *cmdutil.Factory, runF func(*MergeOptions) error) *cobra.Command {
	opts := &MergeOptions{IO: f.IOStreams, Factory: f}
	cmd := &cobra.Command{
		Use:   "merge --pr N [flags]",
		Short: "Merge an approved promotion pull request with an audit-complete message",
		Long: `Check a pull request (as modelgit check does) and, when it passes, merge it
through the forge's API:

  - pinned to the head SHA that passed the check: when the head moved in
    between, nothing is merged and the command says to check again;
  - as a merge commit (never squash or rebase), whose message carries the
    trailers Approved-by (one per counted approver), Policy (environment and
    policy digest), Pull-Request and Checked-Head.

This is what makes git log a complete audit. docs/governance.md lists the
branch-protection settings that keep anyone from merging around it.`,
		Example: "  modelgit merge --pr 42",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.PR <= 0 {
				return cmdutil.FlagErrorf("--pr N is required")
			}
			if runF != nil {
				return runF(opts)
			}
			return mergeRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&opts.PR, "pr", 0, "pull request `NUMBER` to merge")
	fl.StringVar(&opts.Base, "base", "", "base revision to check against (default: the pull request's base branch)")
	fl.StringVar(&opts.Remote, "remote", "", "fetch the pull request's branches from this git remote first")
	cmdutil.AddOutputFlag(cmd, &opts.Output, cmdutil.OutputText, cmdutil.OutputJSON)
	return cmd
}

func mergeRun(ctx context.Context, opts *MergeOptions) error {
	reg, err := opts.Factory.Registry()
	if err != nil {
		return err
	}
	lo, err := checkLibOptions(reg, opts.Factory, opts.PR, opts.Base, "", opts.Remote)
	if err != nil {
		return err
	}
	res, err := reg.Merge(ctx, gitops.MergeOptions{CheckOptions: lo})
	if errors.Is(err, gitops.ErrCheckFailed) && res != nil {
		if opts.Output == cmdutil.OutputJSON {
			_ = cmdutil.PrintJSON(opts.IO.Out, res)
		} else {
			printCheck(opts.IO, res.Report)
		}
		return err
	}
	if err != nil {
		return err
	}
	if opts.Output == cmdutil.OutputJSON {
		return cmdutil.PrintJSON(opts.IO.Out, res)
	}
	fmt.Fprintf(opts.IO.Out, "%s merged pull request #%d at %s: merge commit %s\n", opts.IO.ColorScheme().SuccessIcon(), opts.PR, abbrev(res.Report.Head), res.Commit)
	for _, a := range res.Report.Approvals {
		if a.Counted {
			fmt.Fprintf(opts.IO.Out, "  approved by %s\n", safeLine(a.User))
		}
	}
	return nil
}

package app

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops/check"
)

// MergeOptions are the inputs of `modelgit merge`.
type MergeOptions struct {
	IO *cmdutil.IOStreams
	remoteDeps
	PR     int
	Base   string
	Remote string
	Output string
	// Report asks for the re-check to be published as check --publish
	// does (commit status, sticky comment, job summary, annotations, step
	// outputs) through Publish.
	Report bool
	// Publish posts a report (nil: --publish is refused with a message).
	Publish func(ctx context.Context, rep *check.CheckReport) error
	// Getenv reads the environment (os.Getenv; nil reads nothing): it
	// says whether the command runs in a GitHub Actions job.
	Getenv func(string) string
}

// NewCmdMerge returns `modelgit merge`.
func NewCmdMerge(f *cmdutil.Factory, runF func(*MergeOptions) error) *cobra.Command {
	opts := &MergeOptions{IO: f.IOStreams, remoteDeps: remoteDepsOf(f), Getenv: os.Getenv}
	opts.Publish = func(ctx context.Context, rep *check.CheckReport) error {
		return publish(ctx, opts.IO, opts.remoteDeps, opts.Output, opts.Getenv, rep)
	}
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
branch-protection settings that keep anyone from merging around it.

The policies and allowed signers are those of the base the forge merges
the pull request into (the base branch's tip on the forge, not the pull
request's base.sha, which GitHub moves only when the head is pushed to):
a local base behind it is fetched first (from --remote, else origin), and when that does not bring
it, nothing is merged and the command says so.

With --publish the re-check is published as check --publish does (commit
status modelgit/promotion on the checked head, the sticky comment, and in
GitHub Actions the job summary, step outputs and annotations), whether it
passed and was merged or failed and was not. Nothing is published when the
head moved: the check of the new head reports it.`,
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
	fl.BoolVar(&opts.Report, "publish", false, "publish the re-check as check --publish does (commit status, sticky comment; in GitHub Actions also job summary, step outputs, annotations)")
	cmdutil.AddOutputFlag(cmd, &opts.Output, cmdutil.OutputText, cmdutil.OutputJSON)
	return cmd
}

func mergeRun(ctx context.Context, opts *MergeOptions) error {
	if opts.Report && opts.Publish == nil {
		return cmdutil.FlagErrorf("--publish needs the Action runtime, which this build does not include")
	}
	reg, err := opts.Repository()
	if err != nil {
		return err
	}
	lo, err := checkLibOptions(reg, opts.remoteDeps, opts.PR, opts.Base, "", opts.Remote)
	if err != nil {
		return err
	}
	res, err := check.Merge(ctx, reg, check.MergeOptions{CheckOptions: lo})
	failed := errors.Is(err, check.ErrCheckFailed)
	// The re-check is published when it decided: merged, or refused by
	// the check. A moved head (or any other error) leaves the verdict to
	// the check of the new head.
	if opts.Report && res != nil && res.Report != nil && (err == nil || failed) {
		if perr := opts.Publish(ctx, res.Report); perr != nil {
			perr = fmt.Errorf("publishing the check: %w", perr)
			if err == nil {
				// Merged: that is what counts; what could not be
				// published is a warning after the merge is reported.
				defer func() {
					fmt.Fprintf(opts.IO.ErrOut, "%s %v\n", opts.IO.ColorScheme().WarningIcon(), cmdutil.Redact(perr.Error()))
				}()
			} else {
				err = errors.Join(err, perr)
			}
		}
	}
	actions := inActions(opts.Getenv)
	if failed && res != nil {
		if perr := printVerdict(opts.IO, opts.Output, actions, res, func() { printCheck(opts.IO, res.Report) }); perr != nil {
			return errors.Join(err, perr)
		}
		return err
	}
	if err != nil {
		return err
	}
	return printVerdict(opts.IO, opts.Output, actions, res, func() {
		fmt.Fprintf(opts.IO.Out, "%s merged pull request #%d at %s: merge commit %s\n", opts.IO.ColorScheme().SuccessIcon(), opts.PR, abbrev(res.Report.Head), res.Commit)
		for _, a := range res.Report.Approvals {
			if a.Counted {
				fmt.Fprintf(opts.IO.Out, "  approved by %s\n", safeLine(a.User))
			}
		}
	})
}

package app

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops"
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

	// Local merges Head into Base in this clone, without a forge, with
	// the approvers ApprovedBy asserts, signed by the key Identity
	// resolves (SigningKey overrides git config).
	Local      bool
	Head       string
	ApprovedBy []string
	SigningKey string
	Identity   func(explicitKey string) (gitops.Identity, error)
}

// NewCmdMerge returns `modelgit merge`.
func NewCmdMerge(f *cmdutil.Factory, runF func(*MergeOptions) error) *cobra.Command {
	opts := &MergeOptions{IO: f.IOStreams, remoteDeps: remoteDepsOf(f), Getenv: os.Getenv, Identity: f.Identity}
	opts.Publish = func(ctx context.Context, rep *check.CheckReport) error {
		return publish(ctx, opts.IO, opts.remoteDeps, opts.Output, opts.Getenv, rep)
	}
	cmd := &cobra.Command{
		Use:   "merge (--pr N | --local --head BRANCH --approved-by 'NAME <EMAIL>'...) [flags]",
		Short: "Merge an approved promotion pull request with an audit-complete message",
		Long:  mergeLong,
		Example: `  modelgit merge --pr 42
  modelgit merge --local --head modelgit/promote/staging/fraud-1.4.0 \
      --approved-by 'Bob Builder <bob@example.com>'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Local {
				if err := validateLocalMerge(opts); err != nil {
					return err
				}
				if runF != nil {
					return runF(opts)
				}
				return mergeLocalRun(cmd.Context(), opts)
			}
			switch {
			case opts.PR <= 0:
				return cmdutil.FlagErrorf("--pr N is required (or --local --head BRANCH without a forge)")
			case opts.Head != "" || len(opts.ApprovedBy) > 0:
				return cmdutil.FlagErrorf("--head and --approved-by go with --local; with --pr the forge knows the head and the approvals")
			}
			if runF != nil {
				return runF(opts)
			}
			return mergeRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&opts.PR, "pr", 0, "pull request `NUMBER` to merge")
	fl.StringVar(&opts.Base, "base", "", "base revision to check against (default: the pull request's base branch; with --local the branch checked out)")
	fl.StringVar(&opts.Remote, "remote", "", "fetch the pull request's branches from this git remote first")
	fl.BoolVar(&opts.Local, "local", false, "merge --head into --base in this clone, without a forge, with the approvers --approved-by asserts")
	fl.StringVar(&opts.Head, "head", "", "with --local: the promotion `BRANCH` to merge")
	fl.StringArrayVar(&opts.ApprovedBy, "approved-by", nil, "with --local: an approver, `'NAME <EMAIL>'`, whom the merger asserts approved (repeatable)")
	fl.StringVar(&opts.SigningKey, "signing-key", "", "with --local: key to sign the merge commit with (default: git config user.signingkey)")
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

// validateLocalMerge refuses flags that do not go with --local, and
// approvers not written "Name <email>".
func validateLocalMerge(opts *MergeOptions) error {
	switch {
	case opts.PR != 0:
		return cmdutil.FlagErrorf("--local merges without a forge; --pr names a pull request on one: give one or the other")
	case opts.Report:
		return cmdutil.FlagErrorf("--publish posts to a forge; --local merges without one")
	case opts.Remote != "":
		return cmdutil.FlagErrorf("--remote goes with --pr; with --local, fetch first (git fetch) and push the base after")
	case opts.Head == "":
		return cmdutil.FlagErrorf("--local needs --head BRANCH, the promotion branch (promote --no-push prints it)")
	}
	for _, a := range opts.ApprovedBy {
		addr, err := mail.ParseAddress(a)
		if err != nil || addr.Name == "" || strings.ContainsAny(a, "\n\r") {
			return cmdutil.FlagErrorf("--approved-by %q: want 'Name <email>', e.g. --approved-by 'Bob Builder <bob@example.com>'", a)
		}
	}
	return nil
}

func mergeLocalRun(ctx context.Context, opts *MergeOptions) error {
	reg, err := opts.Repository()
	if err != nil {
		return err
	}
	id, err := opts.Identity(opts.SigningKey)
	if err != nil && id.Signature.Email == "" {
		return err
	}
	base := opts.Base
	if base == "" {
		_, branch, err := reg.Repo().Head()
		if err != nil {
			return err
		}
		if branch == "" {
			return cmdutil.FlagErrorf("HEAD is detached: name the branch to merge into with --base")
		}
		base = branch
	}
	res, err := check.MergeLocal(ctx, reg, check.LocalMergeOptions{Base: base, Head: opts.Head, ApprovedBy: opts.ApprovedBy, Identity: id})
	actions := inActions(opts.Getenv)
	if errors.Is(err, check.ErrCheckFailed) && res != nil {
		if perr := printVerdict(opts.IO, opts.Output, actions, res, func() { printCheck(opts.IO, res.Report) }); perr != nil {
			return errors.Join(err, perr)
		}
		return err
	}
	if err != nil {
		return err
	}
	cs := opts.IO.ColorScheme()
	return printVerdict(opts.IO, opts.Output, actions, res, func() {
		if res.AlreadyMerged {
			fmt.Fprintf(opts.IO.Out, "%s %s is already merged into %s: nothing to do\n", cs.SuccessIcon(), safeLine(opts.Head), safeLine(base))
			return
		}
		fmt.Fprintf(opts.IO.Out, "%s merged %s into %s at %s: merge commit %s\n", cs.SuccessIcon(), safeLine(opts.Head), safeLine(base), abbrev(res.Report.Head), res.Commit)
		for _, a := range res.Report.Approvals {
			if a.Counted {
				fmt.Fprintf(opts.IO.Out, "  approved by %s (asserted by you)\n", safeLine(a.Identity))
			}
		}
		fmt.Fprintf(opts.IO.Out, "push it: git push origin %s\n", safeLine(base))
	})
}

const mergeLong = `Check a pull request (as modelgit check does) and, when it passes, merge it
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
head moved: the check of the new head reports it.

Without a forge (a bare origin, GitLab or Gitea for now), --local merges a
promotion branch made by promote --no-push into the base branch (--base,
default the branch checked out) in this clone:

  - the branch is checked as check --base BASE --head BRANCH does, and the
    approvals are those given with --approved-by 'Name <email>'
    (repeatable), counted by the policy's approvals.count; the merger, the
    requester, the registrant and the branch's committers, authors and
    signers may not approve (matched by email or name). A policy that asks
    team membership or more than write access cannot be judged without
    the forge, and fails;
  - the merge commit is signed like every modelgit commit, by the merger,
    whose key must be an allowed signer at the base, and records
    Approved-by (one per counted approver), Merged-by (the merger),
    Policy, Merge-Method: local and Checked-Head. audit and report count
    it as a reviewed promotion (via "modelgit merge --local").

The approvers are asserted by the merger, not proven by a forge: the trust
in them is the trust in the merger's signature (docs/governance.md says
what is weaker). It never forces: the branch must contain the base's tip,
the work tree must be clean, and the base moves only from the tip that was
checked. Push the base afterwards (git push origin BASE).`

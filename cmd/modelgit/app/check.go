package app

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/spf13/cobra"

	"github.com/modelgit/modelgit/action"
	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/check"
	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/manifests"
)

// CheckOptions are the inputs of `modelgit check`.
type CheckOptions struct {
	IO *cmdutil.IOStreams
	remoteDeps
	PR     int
	Base   string
	Head   string
	Remote string
	Output string
	// Report asks for the verdict to be published on the forge (commit
	// status, sticky comment, job summary, annotations) through Publish.
	Report bool
	// Publish posts a report; the Action runtime provides it (nil: --report
	// is refused with a message).
	Publish func(ctx context.Context, rep *check.CheckReport) error
	// Getenv reads the environment (os.Getenv; nil reads nothing): it
	// says whether the command runs in a GitHub Actions job.
	Getenv func(string) string
}

// NewCmdCheck returns `modelgit check`.
func NewCmdCheck(f *cmdutil.Factory, runF func(*CheckOptions) error) *cobra.Command {
	opts := &CheckOptions{IO: f.IOStreams, remoteDeps: remoteDepsOf(f), Getenv: os.Getenv}
	opts.Publish = func(ctx context.Context, rep *check.CheckReport) error {
		return publish(ctx, opts.IO, opts.remoteDeps, opts.Output, opts.Getenv, rep)
	}
	cmd := &cobra.Command{
		Use:   "check (--pr N | --base REV --head REV) [flags]",
		Short: "Judge a promotion pull request: what passed, what failed, who may still approve",
		Long:  checkLong,
		Example: `  modelgit check --pr 42
  modelgit check --pr 42 -o json
  modelgit check --base main --head HEAD`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case opts.PR < 0:
				return cmdutil.FlagErrorf("--pr must be a pull request number")
			case opts.PR == 0 && (opts.Base == "" || opts.Head == ""):
				return cmdutil.FlagErrorf("give --pr N, or both --base and --head")
			case opts.PR != 0 && opts.Head != "":
				return cmdutil.FlagErrorf("--head is the pull request's head with --pr; give one or the other")
			}
			if runF != nil {
				return runF(opts)
			}
			return checkRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&opts.PR, "pr", 0, "pull request `NUMBER` to judge through the forge")
	fl.StringVar(&opts.Base, "base", "", "base revision (default with --pr: the pull request's base branch)")
	fl.StringVar(&opts.Head, "head", "", "head revision, for a local check")
	fl.StringVar(&opts.Remote, "remote", "", "with --pr: fetch the pull request's branches from this git remote first")
	fl.BoolVar(&opts.Report, "publish", false, "publish the verdict: commit status and sticky comment on the forge; in GitHub Actions also the job summary, step outputs and annotations (on stderr with -o json)")
	cmdutil.AddOutputFlag(cmd, &opts.Output, cmdutil.OutputText, cmdutil.OutputJSON)
	return cmd
}

// publish is what check --publish and merge --publish do with a report:
// the verdict goes to the forge modelgit.yaml names and, read from the
// environment, to the Actions job (action.Publish). Workflow commands
// (annotations) go to stderr when stdout carries JSON (output), so stdout
// stays one JSON value; the runner reads commands from both streams.
func publish(ctx context.Context, ios *cmdutil.IOStreams, d remoteDeps, output string, getenv func(string) string, rep *check.CheckReport) error {
	reg, err := d.Repository()
	if err != nil {
		return err
	}
	fg, err := d.Forge(reg.Config())
	if err != nil {
		return err
	}
	w := ios.Out
	if output == cmdutil.OutputJSON {
		w = ios.ErrOut
	}
	return action.Publish(ctx, fg, action.FromEnv(envOrEmpty(getenv)), rep, w)
}

// envOrEmpty is getenv, or a function that finds nothing when it is nil.
func envOrEmpty(getenv func(string) string) func(string) string {
	if getenv == nil {
		return func(string) string { return "" }
	}
	return getenv
}

// inActions reports whether getenv says this is a GitHub Actions job.
func inActions(getenv func(string) string) bool {
	return action.FromEnv(envOrEmpty(getenv)).Actions
}

// printVerdict prints v as JSON, or for humans with text. Inside a GitHub
// Actions job the runner reads every line for workflow commands, and v
// holds untrusted text (titles, branch names, logins): text is fenced
// with stop-commands, and JSON has its "#" escaped (action.InertJSON),
// which keeps stdout one valid JSON value. Outside Actions it prints no
// workflow command at all.
func printVerdict(ios *cmdutil.IOStreams, format string, actions bool, v any, text func()) error {
	if format == cmdutil.OutputJSON {
		if !actions {
			return cmdutil.PrintJSON(ios.Out, v)
		}
		var b bytes.Buffer
		if err := cmdutil.PrintJSON(&b, v); err != nil {
			return err
		}
		if _, err := ios.Out.Write(action.InertJSON(b.Bytes())); err != nil {
			return fmt.Errorf("writing JSON: %w", err)
		}
		return nil
	}
	if actions {
		resume := action.StopCommands(ios.Out)
		defer resume()
	}
	text()
	return nil
}

// checkOptions builds the library options: the forge for a pull request,
// the remote to fetch.
func checkLibOptions(reg *gitops.Repository, d remoteDeps, pr int, base, head, remote string) (check.CheckOptions, error) {
	o := check.CheckOptions{PR: pr, Base: base, Head: head}
	if pr == 0 {
		return o, nil
	}
	fg, err := d.Forge(reg.Config())
	if err != nil {
		return o, err
	}
	o.Forge = fg
	if remote != "" {
		o.Remote, o.Auth = remote, d.RemoteAuth(reg.Config(), remote)
	} else {
		// A base behind the forge's is fetched from origin.
		o.Auth = d.RemoteAuth(reg.Config(), "origin")
	}
	return o, nil
}

func checkRun(ctx context.Context, opts *CheckOptions) error {
	if opts.Report && opts.Publish == nil {
		return cmdutil.FlagErrorf("--publish needs the Action runtime, which this build does not include")
	}
	reg, err := opts.Repository()
	if err != nil {
		return err
	}
	lo, err := checkLibOptions(reg, opts.remoteDeps, opts.PR, opts.Base, opts.Head, opts.Remote)
	if err != nil {
		return err
	}
	rep, err := check.Check(ctx, reg, lo)
	if err != nil {
		return err
	}
	if opts.Report {
		if err := opts.Publish(ctx, rep); err != nil {
			return fmt.Errorf("publishing the check: %w", err)
		}
	}
	if err := printVerdict(opts.IO, opts.Output, inActions(opts.Getenv), rep, func() { printCheck(opts.IO, rep) }); err != nil {
		return err
	}
	if !rep.Passed {
		return cmdutil.SilentError
	}
	return nil
}

// printCheck writes a report for humans. Every value from the forge or
// the pull request is printed on one line of its own.
func printCheck(io *cmdutil.IOStreams, rep *check.CheckReport) {
	cs := io.ColorScheme()
	out := io.Out
	if pr := rep.PullRequest; pr != nil {
		fmt.Fprintf(out, "pull request #%d: %s\n", pr.Number, safeLine(pr.Title))
	}
	fmt.Fprintf(out, "base %s, head %s\n", abbrev(rep.Base), abbrev(rep.Head))
	for _, p := range rep.Promotions {
		from := p.From
		if from == "" {
			from = "none"
		}
		fmt.Fprintf(out, "  %s: %s → %s in %s (%s)\n", p.Model, from, orDash(p.To), p.Environment, p.Strategy)
	}
	for _, it := range rep.Items {
		icon := cs.SuccessIcon()
		switch it.Status {
		case check.CheckFail:
			icon = cs.FailureIcon()
		case check.CheckSkip:
			icon = cs.Gray("-")
		}
		fmt.Fprintf(out, "%s %-13s %s\n", icon, it.Name, safeLine(it.Summary))
		if it.Status == check.CheckFail || it.Name == check.CheckApprovals || it.Name == check.CheckGates {
			for _, d := range it.Details {
				fmt.Fprintf(out, "    %s\n", safeLine(d))
			}
		}
	}
	for _, a := range rep.Annotations {
		loc := a.File
		if a.Line > 0 {
			loc = fmt.Sprintf("%s:%d", loc, a.Line)
		}
		fmt.Fprintf(out, "%s %s: %s\n", a.Level, loc, safeLine(a.Message))
	}
	if rep.PullRequest != nil && rep.Missing > 0 {
		fmt.Fprintf(out, "may still approve: %s\n", safeLine(rep.Eligible))
	}
	verdict := cs.Green("passed")
	if !rep.Passed {
		verdict = cs.Red("failed")
	}
	fmt.Fprintf(out, "check %s\n", verdict)
}

func abbrev(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

func orDash(s string) string {
	if s == "" {
		return "(removed)"
	}
	return s
}

// safeLine keeps text from the forge on one line, without control
// characters (a terminal escape in a title is data, not a command).
func safeLine(s string) string {
	return strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)), " ")
}

// remoteDeps are the lazy getters of a command that opens the repository
// and talks to its forge and git remote, copied from the Factory in
// NewCmdXxx (cli/cli's pattern): the command holds only what it uses, and
// a test replaces just that.
type remoteDeps struct {
	// Repository opens the GitOps repository.
	Repository func() (*gitops.Repository, error)
	// Forge returns the pull-request host the configuration names (nil,
	// nil when none).
	Forge func(cfg *manifests.Config) (forge.Forge, error)
	// RemoteAuth returns the credentials for a git remote (nil: go-git's
	// defaults).
	RemoteAuth func(cfg *manifests.Config, remote string) transport.AuthMethod
}

// remoteDepsOf copies f's getters.
func remoteDepsOf(f *cmdutil.Factory) remoteDeps {
	return remoteDeps{Repository: f.Repository, Forge: f.Forge, RemoteAuth: f.RemoteAuth}
}

const checkLong = `Judge a pull request from its base to its head:

  manifests      the changed manifests parse and validate (errors name file and line)
  signatures     every commit touching governed paths (and modelgit.yaml) is
                 signed by a signer allowed on the BASE branch
  immutability   no registered version is modified or deleted
  artifacts      every artifact of a new version is in the store; a store
                 that cannot be read at all (a file:// directory absent, as
                 in CI on a fresh clone; a registry unreachable, 401, 403)
                 fails "cannot reach the store" with what to configure
                 (store:, MODELGIT_REGISTRY_HOST/_USERNAME/_PASSWORD)
  rendered       rendered/ and clusters/ are in sync with the releases (with
                 an oci:// store: each release pins the OCI manifest
                 computed from Git); no storageUri names a store inside a
                 clone (file://.modelgit/store), which no cluster can read
  up-to-date     no release the pull request changes was changed on the
                 base since it branched
  gates          each changed environment's policy, read from the BASE branch
  order, soak    the version ran in the environment before for the policy's soak
                 time, according to the base's history
  approvals      enough distinct eligible people approved the current head: the
                 latest review per person, on the head SHA, with write access
                 (or the policy's approvals.role), a member of each of the
                 policy's teams; never the requester, the registrant, a
                 committer, author or signer, or a bot (matched by the logins
                 the forge links to their commits); a change request from
                 anyone with write access blocks; an API error counts as not
                 approved

Policies, allowed signers and modelgit.yaml (environments, order, clusters)
come from the base, never from the pull request being judged; the changes
are those since the merge base, as on the forge. With --base and --head the check runs locally, without a forge:
approvals are skipped, and the report says so (merge --local judges the
approvers named to it, then merges). The exit code is 1 when the
check fails.

With --pr, the base judged is the one the forge merges the pull request
into (the base branch's tip on the forge, not the pull request's lagging
base.sha) or newer: a local base behind it is fetched first
(from --remote, else origin), and when that does not bring it the check
refuses, saying so.

With --publish (and --pr) the verdict is also published: the commit status
modelgit/promotion on the head SHA and one sticky comment on the pull
request; inside a GitHub Actions job (GITHUB_ACTIONS=true) also the job
summary, the step outputs and annotations, which go to stderr with -o json
so that stdout stays valid JSON. Outside Actions no workflow command is
printed.`

package app

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/audit"
	"github.com/modelgit/modelgit/gitops/ledger"
)

// WhichOptions are the inputs of `modelgit which`.
type WhichOptions struct {
	IO         *cmdutil.IOStreams
	Repository func() (*gitops.Repository, error)
	Now        func() time.Time
	Env        string
	At         string
	Model      string
	Output     string
}

// NewCmdWhich returns `modelgit which`.
func NewCmdWhich(f *cmdutil.Factory, runF func(*WhichOptions) error) *cobra.Command {
	opts := &WhichOptions{IO: f.IOStreams, Repository: f.Repository, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "which --env ENV [--at TIME]",
		Short: "Show the versions that ran in an environment at a moment, and their chain",
		Long: `Show the version(s) serving in an environment at a moment (both sides of a
canary, with weights; the standby of a blue-green), as the release files
were on the first-parent history of the branch Flux follows, and for each
the chain: version digest → artifact digests → training-data hash →
registered by / signed by → requested by → approved by → merge commit.

The moment is compared with the committer time of the commits on that
branch (for a pull request, its merge), never before a commit's parent's:
a commit made on a clock that was behind takes its parent's time, and is
marked "clock skew". A release file that does not parse changes nothing:
the versions Flux last applied are shown, serving since they started. --at takes RFC 3339, a date, or a
relative time ("2h ago"); the default is now.

It reads the audit cache when an audit wrote one, and keeps the commits
that registered the manifests it looked up in .git/modelgit/registrations;
deleting either changes no answer, only how long it takes.`,
		Example: `  modelgit which --env production --at 2026-03-03T14:02:00Z
  modelgit which --env production --at "3 days ago" --model fraud-detector -o json`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Env == "" {
				return cmdutil.FlagErrorf("--env is required: modelgit which --env ENV --at TIME")
			}
			if runF != nil {
				return runF(opts)
			}
			return whichRun(cmd, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Env, "env", "", "the `environment` (required)")
	cmd.Flags().StringVar(&opts.At, "at", "now", "the moment: RFC 3339, a date, or relative (2h, 3 days ago)")
	cmd.Flags().StringVar(&opts.Model, "model", "", "only this `model`")
	cmdutil.AddOutputFlag(cmd, &opts.Output, cmdutil.OutputTable, cmdutil.OutputJSON)
	return cmd
}

func whichRun(cmd *cobra.Command, opts *WhichOptions) error {
	at, err := ParseWhen(opts.At, opts.Now())
	if err != nil {
		return cmdutil.FlagErrorf("--at: %v", err)
	}
	reg, err := opts.Repository()
	if err != nil {
		return err
	}
	res, err := audit.Which(cmd.Context(), reg, audit.WhichOptions{Env: opts.Env, At: at, Model: opts.Model})
	if err != nil {
		return err
	}
	warnRewrites(opts.IO, res.Rewrites)
	if opts.Output == cmdutil.OutputJSON {
		return cmdutil.PrintJSON(opts.IO.Out, res)
	}
	out := opts.IO.Out
	cs := opts.IO.ColorScheme()
	if res.Commit == "" {
		fmt.Fprintf(out, "Nothing ran in %s at %s: branch %s had no commit yet.\n", res.Environment, res.At.Format(time.RFC3339), res.Branch)
		return nil
	}
	committed := res.CommitTime.Format(time.RFC3339)
	if res.CommitterTime != nil {
		committed += cs.Yellow(", clock skew: its own committer time is " + res.CommitterTime.Format(time.RFC3339) + ", before its parent's")
	}
	fmt.Fprintf(out, "%s at %s: branch %s at %s (committed %s)\n", cs.Bold(res.Environment), res.At.Format(time.RFC3339), res.Branch, res.Commit[:12], committed)
	fmt.Fprintf(out, "Time basis: %s.\n", res.TimeBasis)
	if len(res.Models) == 0 {
		fmt.Fprintf(out, "\nNo model ran in %s then.\n", res.Environment)
	}
	for _, m := range res.Models {
		fmt.Fprintf(out, "\n%s (%s%s)\n", cs.Bold(m.Model), m.Strategy, ifNotEmpty(", match ", m.Match))
		if m.Error != "" {
			fmt.Fprintf(out, "  %s %s does not parse: %s\n", cs.FailureIcon(), m.ReleaseFile, m.Error)
			if len(m.Versions) > 0 {
				fmt.Fprintf(out, "  Flux cannot apply it: the last release file that parsed still runs, as below\n")
			} else {
				fmt.Fprintf(out, "  Flux cannot apply it, and no earlier release file parsed\n")
			}
		}
		for _, v := range m.Versions {
			fmt.Fprintf(out, "  %s %s%s\n", v.Version, servingWord(v), ifNotEmpty(" — ", v.Role))
			fmt.Fprintf(out, "    version digest  %s\n", v.Digest)
			if mc := v.Manifest; mc != nil {
				if mc.Error != "" {
					fmt.Fprintf(out, "    manifest        %s %s\n", cs.FailureIcon(), mc.Error)
				} else if !mc.DigestMatches {
					fmt.Fprintf(out, "    manifest        %s %s hashes to %s, not the pinned digest\n", cs.FailureIcon(), mc.Path, mc.Digest)
				}
				for _, a := range mc.Artifacts {
					fmt.Fprintf(out, "    %-15s %s (%s)\n", a.Kind, a.Digest, a.Path)
				}
				if mc.DataHash != "" {
					fmt.Fprintf(out, "    training data   %s\n", mc.DataHash)
				}
				if mc.RegisteredBy != "" {
					fmt.Fprintf(out, "    registered by   %s at %s\n", mc.RegisteredBy, mc.RegisteredAt.Format(time.RFC3339))
				}
				if mc.RegistrationCommit != "" {
					fmt.Fprintf(out, "    registered in   %s, %s\n", mc.RegistrationCommit[:12], sigText(cs, *mc.Signature))
				}
			}
			if e := v.IntroducedBy; e != nil {
				fmt.Fprintf(out, "    serving since   %s (%s)\n", eventTime(*e, time.RFC3339), eventLine(e))
				writeEventChain(out, cs, e, "    ")
			} else {
				fmt.Fprintf(out, "    serving since   %s\n", cs.Yellow("unknown: no change found in the history"))
			}
		}
		if e := m.LastChange; e != nil && !introducedAny(m, e) {
			fmt.Fprintf(out, "  last change       %s (%s)\n", eventTime(*e, time.RFC3339), eventLine(e))
			writeEventChain(out, cs, e, "  ")
		}
	}
	return nil
}

func introducedAny(m audit.WhichModel, e *ledger.AuditEvent) bool {
	for _, v := range m.Versions {
		if v.IntroducedBy != nil && v.IntroducedBy.Commit == e.Commit {
			return true
		}
	}
	return false
}

func eventLine(e *ledger.AuditEvent) string {
	s := e.Action + " " + fromTo(*e)
	if e.Strategy != "" {
		s += ", " + e.Strategy
	}
	return s
}

func writeEventChain(out interface{ Write([]byte) (int, error) }, cs *cmdutil.ColorScheme, e *ledger.AuditEvent, indent string) {
	if e.Forced != "" {
		fmt.Fprintf(out, "%s  %s forced: %s\n", indent, cs.WarningIcon(), e.Forced)
	}
	if e.RequestedBy != "" {
		fmt.Fprintf(out, "%s  requested by    %s\n", indent, e.RequestedBy)
	}
	if len(e.ApprovedBy) > 0 {
		fmt.Fprintf(out, "%s  approved by     %s\n", indent, strings.Join(e.ApprovedBy, ", "))
	} else {
		fmt.Fprintf(out, "%s  approved by     %s\n", indent, cs.Yellow("none recorded"))
	}
	merge := e.Via
	if e.PullRequest > 0 {
		merge = fmt.Sprintf("pull request #%d, %s", e.PullRequest, e.Via)
	}
	if e.MergedBy != "" {
		merge += " by " + e.MergedBy
	}
	fmt.Fprintf(out, "%s  merge           %s\n", indent, merge)
	fmt.Fprintf(out, "%s  commit          %s, %s\n", indent, e.Commit[:12], sigText(cs, e.Signature))
	if e.ChangeCommit != "" && e.ChangeCommit != e.Commit && e.ChangeSignature != nil {
		fmt.Fprintf(out, "%s  change commit   %s, %s\n", indent, e.ChangeCommit[:12], sigText(cs, *e.ChangeSignature))
	}
	if e.Reverts != "" {
		fmt.Fprintf(out, "%s  reverts         %s\n", indent, e.Reverts[:12])
	}
	for _, n := range e.Notes {
		fmt.Fprintf(out, "%s  %s %s\n", indent, cs.WarningIcon(), n)
	}
}

func sigText(cs *cmdutil.ColorScheme, s gitops.SignatureInfo) string {
	switch {
	case s.Trusted:
		return cs.Green("signed by " + s.Signer)
	case s.Signed:
		return cs.Red("signature does not verify: " + s.Reason)
	}
	return cs.Red("unsigned")
}

func servingWord(v audit.ServingVersion) string {
	switch {
	case !v.Serving:
		return " (no traffic)"
	case v.Weight != nil:
		return fmt.Sprintf(" %d%%", *v.Weight)
	}
	return ""
}

func ifNotEmpty(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

var relativeRE = regexp.MustCompile(`^(\d+)\s*(s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hour|hours|d|day|days|w|week|weeks)(\s+ago)?$`)

// ParseWhen reads a time given on the command line: RFC 3339
// ("2026-03-03T14:02:00Z"), a date ("2026-03-03", midnight UTC), a date
// and time ("2026-03-03 14:02", UTC), "now", "yesterday", or a relative
// time before now ("2h", "90m ago", "3 days ago", "1w").
func ParseWhen(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "now":
		return now.UTC(), nil
	case "yesterday":
		return now.UTC().Add(-24 * time.Hour), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	if m := relativeRE.FindStringSubmatch(strings.ToLower(s)); m != nil {
		n, _ := strconv.Atoi(m[1])
		unit := time.Second
		switch m[2][0] {
		case 'm':
			unit = time.Minute
		case 'h':
			unit = time.Hour
		case 'd':
			unit = 24 * time.Hour
		case 'w':
			unit = 7 * 24 * time.Hour
		}
		return now.UTC().Add(-time.Duration(n) * unit), nil
	}
	return time.Time{}, fmt.Errorf("time %q is not valid: want RFC 3339 (2026-03-03T14:02:00Z), a date (2026-03-03), or a relative time (2h, 3 days ago)", s)
}

package app

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/audit"
	"github.com/modelgit/modelgit/gitops/ledger"
)

// ReportOptions are the inputs of `modelgit report`.
type ReportOptions struct {
	IO           *cmdutil.IOStreams
	Repository   func() (*gitops.Repository, error)
	Now          func() time.Time
	Env, Model   string
	Since, Until string
}

// NewCmdReport returns `modelgit report`.
func NewCmdReport(f *cmdutil.Factory, runF func(*ReportOptions) error) *cobra.Command {
	opts := &ReportOptions{IO: f.IOStreams, Repository: f.Repository, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "report [--env ENV] [--since TIME] [--until TIME]",
		Short: "Write a compliance report in Markdown: changes, exceptions, what ran",
		Long: `Write, in Markdown on stdout, a compliance report a person can read: the
period and the repository position it covers, history rewrites, a summary,
the exceptions (forced promotions, merges outside modelgit, changes without
recorded approval, commits whose signatures do not verify by the signers
in force before them), every change
in order, and what ran in each environment at the end of the period.`,
		Example: "  modelgit report --env production --since 2026-01-01 > report.md",
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return reportRun(cmd, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Env, "env", "", "only this `environment`")
	cmd.Flags().StringVar(&opts.Model, "model", "", "only this `model`")
	cmd.Flags().StringVar(&opts.Since, "since", "", "start of the period: `TIME` (RFC 3339, a date, or relative)")
	cmd.Flags().StringVar(&opts.Until, "until", "", "end of the period (default: now)")
	return cmd
}

func reportRun(cmd *cobra.Command, opts *ReportOptions) error {
	ao, err := auditOptions(&AuditOptions{Now: opts.Now, Env: opts.Env, Model: opts.Model, Since: opts.Since, Until: opts.Until})
	if err != nil {
		return err
	}
	reg, err := opts.Repository()
	if err != nil {
		return err
	}
	rep, err := audit.Audit(cmd.Context(), reg, ao)
	if err != nil {
		return err
	}
	warnRewrites(opts.IO, rep.Rewrites)
	end := ao.Until
	if end.IsZero() {
		end = opts.Now().UTC()
	}
	var b strings.Builder
	reportHeader(&b, opts, ao, rep, end)
	reportSummary(&b, rep)
	b.WriteString("## Changes\n\n")
	if len(rep.Events) == 0 {
		b.WriteString("No change in the period.\n\n")
	} else {
		if err := writeAuditMarkdown(&b, eventsOf(rep.Events)); err != nil {
			return err
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "## Running at the end of the period (%s)\n\n", end.Format(time.RFC3339))
	for _, env := range reg.Config().Environments {
		if opts.Env != "" && env.Name != opts.Env {
			continue
		}
		res, err := audit.Which(cmd.Context(), reg, audit.WhichOptions{Env: env.Name, At: end, Model: opts.Model})
		if err != nil {
			return err
		}
		reportRunning(&b, env.Name, res)
	}
	_, err = fmt.Fprint(opts.IO.Out, b.String())
	return err
}

// reportHeader writes the report's scope, period, followed branches and
// any history rewrite.
func reportHeader(b *strings.Builder, opts *ReportOptions, ao audit.AuditOptions, rep *audit.AuditReport, end time.Time) {
	w := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	scope := "all environments"
	if opts.Env != "" {
		scope = "environment " + opts.Env
	}
	if opts.Model != "" {
		scope += ", model " + opts.Model
	}
	since := "the beginning of the history"
	if !ao.Since.IsZero() {
		since = ao.Since.Format(time.RFC3339)
	}
	w("# Model deployment report: %s\n\n", scope)
	w("- Period: %s to %s\n", since, end.Format(time.RFC3339))
	for _, bt := range rep.Branches {
		w("- Branch followed: `%s` at `%s` (environments: %s)\n", bt.Branch, bt.Tip, strings.Join(bt.Environments, ", "))
	}
	w("- Generated: %s by `modelgit report`, from the git repository alone\n", opts.Now().UTC().Format(time.RFC3339))
	w("- Times: %s, UTC\n\n", rep.TimeBasis)
	if len(rep.Rewrites) > 0 {
		w("## ⚠ History rewritten\n\n")
		for _, rw := range rep.Rewrites {
			w("- **Branch `%s` was rewritten** (detected %s): it was at `%s`, which is no longer in its history; now `%s`. Changes recorded only in the old history are not in this report.\n", rw.Branch, rw.DetectedAt.Format(time.RFC3339), rw.Previous, rw.Current)
		}
		w("\n")
	}
}

// reportSummary writes the count of each kind of change and the
// exceptions: changes forced, made by hand, unapproved or not signed by
// a trusted key.
func reportSummary(b *strings.Builder, rep *audit.AuditReport) {
	w := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	counts := map[string]int{}
	var exceptions []string
	for _, e := range rep.Events {
		counts[e.Action]++
		exceptions = append(exceptions, eventExceptions(e)...)
	}
	w("## Summary\n\n| changes | promotions | rollbacks | reverts | edits | removals | exceptions |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	w("| %d | %d | %d | %d | %d | %d | %d |\n\n", len(rep.Events), counts[ledger.ActionPromote], counts[ledger.ActionRollback], counts[ledger.ActionRevert], counts[ledger.ActionEdit], counts[ledger.ActionRemove], len(exceptions))
	w("## Exceptions\n\n")
	if len(exceptions) == 0 {
		w("None.\n\n")
	}
	for _, x := range exceptions {
		w("- %s\n", mdCell(x))
	}
	if len(exceptions) > 0 {
		w("\n")
	}
}

// eventExceptions says what about e an auditor must look at.
func eventExceptions(e ledger.AuditEvent) []string {
	var exceptions []string
	where := fmt.Sprintf("%s %s %s in %s (`%s`)", e.Time.Format("2006-01-02 15:04"), e.Model, fromTo(e), e.Environment, e.Commit[:12])
	if e.Forced != "" {
		exceptions = append(exceptions, fmt.Sprintf("Forced past the promotion order: %s — %s", where, e.Forced))
	}
	if !ledger.Reviewed(e.Via) {
		exceptions = append(exceptions, fmt.Sprintf("%s: %s", upperFirst(e.Via), where))
	}
	if len(e.ApprovedBy) == 0 {
		exceptions = append(exceptions, "No approval recorded: "+where)
	}
	if word, ok := eventSig(e); !ok {
		exceptions = append(exceptions, fmt.Sprintf("Signature %s: %s", word, where))
	}
	if e.ChangeSignature != nil && !e.ChangeSignature.Trusted {
		exceptions = append(exceptions, fmt.Sprintf("Change commit `%s` signature %s: %s", e.ChangeCommit[:12], sigWord(*e.ChangeSignature), where))
	}
	return exceptions
}

// reportRunning writes what ran in env at the end of the period.
func reportRunning(b *strings.Builder, env string, res *audit.WhichResult) {
	w := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	w("### %s\n\n", env)
	if len(res.Models) == 0 {
		w("Nothing.\n\n")
		return
	}
	w("| Model | Version | Traffic | Since | Requested by | Approved by | Data | Registered by |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, m := range res.Models {
		for _, v := range m.Versions {
			traffic := strings.TrimSpace(servingWord(v))
			if traffic == "" {
				traffic = "100%"
			}
			if v.Role != "" {
				traffic += " " + v.Role
			}
			since, req, appr, data, regBy := "unknown", "", "", "", ""
			if e := v.IntroducedBy; e != nil {
				since, req, appr = e.Time.Format("2006-01-02 15:04"), personName(e.RequestedBy), namesOf(e.ApprovedBy)
			}
			if mc := v.Manifest; mc != nil {
				data, regBy = shortDigest(mc.DataHash), personName(mc.RegisteredBy)
			}
			w("| %s |\n", strings.Join([]string{mdCell(m.Model), v.Version.String(), traffic, since, mdCell(req), mdCell(appr), data, mdCell(regBy)}, " | "))
		}
	}
	w("\n")
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func shortDigest(s string) string {
	if len(s) > 19 {
		return "`" + s[:19] + "…`"
	}
	return s
}

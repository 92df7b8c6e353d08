package app

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/audit"
	"github.com/modelgit/modelgit/gitops/ledger"
)

// HistoryOptions are the inputs of `modelgit history`.
type HistoryOptions struct {
	IO         *cmdutil.IOStreams
	Repository func() (*gitops.Repository, error)
	Model      string
	Output     string
}

// NewCmdHistory returns `modelgit history`.
func NewCmdHistory(f *cmdutil.Factory, runF func(*HistoryOptions) error) *cobra.Command {
	opts := &HistoryOptions{IO: f.IOStreams, Repository: f.Repository}
	cmd := &cobra.Command{
		Use:   "history MODEL",
		Short: "List the registered versions of a model, who signed each and where each ran",
		Long: `List the registered versions of a model, oldest first: when and by whom
each was registered, its digest, the commit that added it, whether that
commit's signature is by an allowed signer, and where each has run, from
when to when, with the strategy and weight ("now" while it still runs; a
change of weight starts a new interval). Read from git alone.`,
		Example: "  modelgit history fraud-detector\n  modelgit history fraud-detector -o json",
		Args:    cmdutil.ExactArgs(1, "a model name is required: modelgit history MODEL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model = args[0]
			if runF != nil {
				return runF(opts)
			}
			return historyRun(opts)
		},
	}
	cmdutil.AddOutputFlag(cmd, &opts.Output, cmdutil.OutputTable, cmdutil.OutputJSON)
	return cmd
}

func historyRun(opts *HistoryOptions) error {
	reg, err := opts.Repository()
	if err != nil {
		return err
	}
	if _, err := reg.Resolve(opts.Model); err != nil {
		return err
	}
	entries, err := audit.History(reg, opts.Model)
	if err != nil {
		return err
	}
	if opts.Output == cmdutil.OutputJSON {
		if entries == nil {
			entries = []audit.HistoryEntry{}
		}
		return cmdutil.PrintJSON(opts.IO.Out, entries)
	}
	cs := opts.IO.ColorScheme()
	t := cmdutil.NewTablePrinter(opts.IO, "VERSION", "REGISTERED", "BY", "DIGEST", "COMMIT", "SIGNATURE", "RAN", "WHY")
	for _, e := range entries {
		commit := e.Commit
		if len(commit) > 12 {
			commit = commit[:12]
		}
		sig := cs.Red("unsigned")
		switch {
		case e.Signature.Trusted:
			sig = cs.Green(e.Signature.Signer)
		case e.Signature.Signed:
			sig = cs.Red("untrusted")
		}
		t.AddRow(e.Version.String(), e.RegisteredAt.Format("2006-01-02 15:04"), e.RegisteredBy, e.Digest.Short(), commit, sig, ranText(e.Ran), e.Reason)
	}
	return t.Render()
}

// ranText is where and when a version ran, one interval after the other:
// "production 2026-03-03 10:00→12:00 (canary 10%)".
func ranText(ivs []ledger.RanInterval) string {
	if len(ivs) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(ivs))
	for _, iv := range ivs {
		to := "now"
		if iv.To != nil {
			to = iv.To.Format("2006-01-02 15:04")
			if iv.To.Format("2006-01-02") == iv.From.Format("2006-01-02") {
				to = iv.To.Format("15:04")
			}
		}
		how := iv.Strategy
		if iv.Weight != nil {
			how += fmt.Sprintf(" %d%%", *iv.Weight)
		}
		if iv.ClockSkew {
			how += ", clock skew"
		}
		parts = append(parts, fmt.Sprintf("%s %s→%s (%s)", iv.Environment, iv.From.Format("2006-01-02 15:04"), to, how))
	}
	return strings.Join(parts, ", ")
}

package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops/audit"
	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/manifests"
)

// StatusOptions are the inputs of `modelgit status`.
type StatusOptions struct {
	IO      *cmdutil.IOStreams
	Factory *cmdutil.Factory
	Output  string
}

// NewCmdStatus returns `modelgit status`.
func NewCmdStatus(f *cmdutil.Factory, runF func(*StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{IO: f.IOStreams, Factory: f}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the matrix of models × environments, with pending promotions",
		Long: `Show, for every model, its latest registered version and what runs in each
environment (strategy and weights), from HEAD; with a forge configured in
modelgit.yaml, also the open promotion and rollback pull requests, each
under the models it changes with the environment it targets (PENDING
"#12→staging"). A bulk promotion is listed under every model its head
commit (or, when this clone lacks the commit, its description) names.

When the forge cannot be reached, status still prints the matrix and warns
on stderr; with -o json, each model's "pending" is then null (not []) and
"pendingError" says why.`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return statusRun(cmd.Context(), opts)
		},
	}
	cmdutil.AddOutputFlag(cmd, &opts.Output, cmdutil.OutputTable, cmdutil.OutputJSON)
	return cmd
}

type statusOutput struct {
	audit.StatusRow
	// Pending is null, not [], when the forge could not be asked:
	// PendingError then says why.
	Pending      []audit.PendingPromotion `json:"pending"`
	PendingError string                   `json:"pendingError,omitempty"`
}

func statusRun(ctx context.Context, opts *StatusOptions) error {
	reg, err := opts.Factory.Registry()
	if err != nil {
		return err
	}
	rows, err := audit.Status(reg)
	if err != nil {
		return err
	}
	var prs []*forge.PullRequest
	// unknown says why the open pull requests are unknown ("" when known,
	// or when no forge is configured and there are none).
	var unknown string
	if fg, err := opts.Factory.Forge(reg.Config()); err != nil {
		unknown = err.Error()
	} else if fg != nil {
		if prs, err = fg.ListPullRequests(ctx, "open", "modelgit/"); err != nil {
			unknown = err.Error()
		}
	}
	if unknown != "" {
		fmt.Fprintf(opts.IO.ErrOut, "%s pending pull requests unknown: %s\n", opts.IO.ColorScheme().WarningIcon(), unknown)
	}
	pending, err := audit.PendingByModel(reg, prs)
	if err != nil {
		return err
	}
	out := make([]statusOutput, 0, len(rows))
	for _, row := range rows {
		o := statusOutput{StatusRow: row, Pending: pending[row.Model], PendingError: unknown}
		if o.Pending == nil && unknown == "" {
			o.Pending = []audit.PendingPromotion{}
		}
		out = append(out, o)
	}
	if opts.Output == cmdutil.OutputJSON {
		return cmdutil.PrintJSON(opts.IO.Out, out)
	}
	header := []string{"MODEL", "LATEST"}
	for _, e := range reg.Config().Environments {
		header = append(header, strings.ToUpper(e.Name))
	}
	header = append(header, "PENDING")
	t := cmdutil.NewTablePrinter(opts.IO, header...)
	for _, o := range out {
		t.AddField(o.Model)
		t.AddField(o.Latest)
		for _, c := range o.Envs {
			t.AddField(cellText(c))
		}
		var pend []string
		for _, p := range o.Pending {
			pend = append(pend, fmt.Sprintf("#%d→%s", p.Number, p.Environment))
		}
		if o.PendingError != "" {
			pend = append(pend, "?") // unknown: the warning above says why
		}
		t.AddField(strings.Join(pend, " "))
		t.EndRow()
	}
	return t.Render()
}

// cellText is "1.4.0", "1.3.2 90% · 1.4.0 10%" or "–".
func cellText(c audit.StatusCell) string {
	if len(c.Versions) == 0 {
		return "–"
	}
	var parts []string
	for _, v := range c.Versions {
		s := v.Version.String()
		switch {
		case c.Strategy == manifests.StrategyAB:
			s += " (" + v.Role + ")"
		case v.Weight != nil && len(c.Versions) > 1:
			s += fmt.Sprintf(" %d%%", *v.Weight)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " · ")
}

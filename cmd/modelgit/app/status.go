package app

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/audit"
	"github.com/modelgit/modelgit/gitops/fluxstatus"
	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/manifests"
)

// StatusOptions are the inputs of `modelgit status`.
type StatusOptions struct {
	IO *cmdutil.IOStreams
	remoteDeps
	Output string
	// Kubeconfig and KubeContext say how to reach the clusters; with
	// neither set nor KUBECONFIG in the environment, no cluster is asked.
	Kubeconfig  string
	KubeContext string
	// Cluster limits what is read from the clusters to one cluster.
	Cluster string
}

// NewCmdStatus returns `modelgit status`.
func NewCmdStatus(f *cmdutil.Factory, runF func(*StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{IO: f.IOStreams, remoteDeps: remoteDepsOf(f)}
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
"pendingError" says why.

With --kubeconfig (or KUBECONFIG set), status also asks each cluster's Flux
what it applied: for every release, on each cluster of its environment, the
Kustomization flux-system/flux-system's lastAppliedRevision against the
commit that made the release (the promotion's merge commit), and its Ready
condition with Flux's message. A release is "applied", "merged, not yet
applied" or "failed to apply: <Flux's message>" ("unknown: <why>" when the
cluster cannot be read); "applied; a later revision <commit> fails to
apply: <Flux's message>" when the release is applied but Flux is stuck on a
later commit (a hand edit the API server rejects); "applied; later commits
are not applied: GitRepository: <message>" when its source fails after it
(a head whose signature is refused). A cluster is reached through the kubeconfig
context of its name, else --context, else the kubeconfig's only context.
With -o json each model gets "applied": one entry per environment and
cluster (null when no cluster was asked).`,
		Example: "  modelgit status\n  modelgit status --kubeconfig ~/.kube/config\n  KUBECONFIG=kind.yaml modelgit status --cluster gpu-staging -o json",
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return statusRun(cmd.Context(), opts)
		},
	}
	cmdutil.AddOutputFlag(cmd, &opts.Output, cmdutil.OutputTable, cmdutil.OutputJSON)
	cmd.Flags().StringVar(&opts.Kubeconfig, "kubeconfig", "", "ask the clusters' Flux what it applied, through this kubeconfig (default: $KUBECONFIG when set)")
	cmd.Flags().StringVar(&opts.KubeContext, "context", "", "kubeconfig context for clusters without a context of their own name")
	cmd.Flags().StringVar(&opts.Cluster, "cluster", "", "ask only this cluster")
	return cmd
}

type statusOutput struct {
	audit.StatusRow
	// Pending is null, not [], when the forge could not be asked:
	// PendingError then says why.
	Pending      []audit.PendingPromotion `json:"pending"`
	PendingError string                   `json:"pendingError,omitempty"`
	// Applied is what each cluster's Flux applied of the model's
	// releases; null when no cluster was asked.
	Applied []fluxstatus.Applied `json:"applied"`
}

func statusRun(ctx context.Context, opts *StatusOptions) error {
	reg, err := opts.Repository()
	if err != nil {
		return err
	}
	rows, err := audit.Status(reg)
	if err != nil {
		return err
	}
	prs, unknown := openPromotions(ctx, opts, reg)
	pending, err := audit.PendingByModel(reg, prs)
	if err != nil {
		return err
	}
	applied, err := clusterStatus(ctx, opts, reg, rows)
	if err != nil {
		return err
	}
	out := make([]statusOutput, 0, len(rows))
	for _, row := range rows {
		o := statusOutput{StatusRow: row, Pending: pending[row.Model], PendingError: unknown}
		if o.Pending == nil && unknown == "" {
			o.Pending = []audit.PendingPromotion{}
		}
		if applied != nil {
			o.Applied = []fluxstatus.Applied{}
			for _, a := range applied {
				if a.Model == row.Model {
					o.Applied = append(o.Applied, a)
				}
			}
		}
		out = append(out, o)
	}
	if opts.Output == cmdutil.OutputJSON {
		return cmdutil.PrintJSON(opts.IO.Out, out)
	}
	if err := printStatusMatrix(opts.IO, reg.Config(), out); err != nil {
		return err
	}
	if applied == nil {
		return nil
	}
	fmt.Fprintln(opts.IO.Out)
	return printApplied(opts.IO, applied)
}

// openPromotions lists the open modelgit pull requests on the forge;
// unknown says why they are unknown ("" when known, or when no forge is
// configured and there are none), also warned on stderr.
func openPromotions(ctx context.Context, opts *StatusOptions, reg *gitops.Repository) (prs []*forge.PullRequest, unknown string) {
	if fg, err := opts.Forge(reg.Config()); err != nil {
		unknown = err.Error()
	} else if fg != nil {
		if prs, err = fg.ListPullRequests(ctx, "open", "modelgit/"); err != nil {
			unknown = err.Error()
		}
	}
	if unknown != "" {
		fmt.Fprintf(opts.IO.ErrOut, "%s pending pull requests unknown: %s\n", opts.IO.ColorScheme().WarningIcon(), unknown)
	}
	return prs, unknown
}

// printStatusMatrix prints models × environments with the pending pull
// requests.
func printStatusMatrix(ios *cmdutil.IOStreams, cfg *manifests.Config, out []statusOutput) error {
	header := []string{"MODEL", "LATEST"}
	for _, e := range cfg.Environments {
		header = append(header, strings.ToUpper(e.Name))
	}
	header = append(header, "PENDING")
	t := cmdutil.NewTablePrinter(ios, header...)
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

// printApplied prints what each cluster's Flux applied of each release.
func printApplied(ios *cmdutil.IOStreams, applied []fluxstatus.Applied) error {
	ft := cmdutil.NewTablePrinter(ios, "ENVIRONMENT", "CLUSTER", "MODEL", "RELEASE", "APPLIED", "READY", "STATE")
	for _, a := range applied {
		ft.AddField(a.Environment)
		ft.AddField(a.Cluster)
		ft.AddField(a.Model)
		ft.AddField(shortHash(a.ReleaseCommit))
		rev, ready := "–", "–"
		if a.Flux != nil {
			if c := fluxstatus.Commit(a.Flux.LastAppliedRevision); c != "" {
				rev = shortHash(c)
			}
			switch a.Flux.Ready.Status {
			case "True":
				ready = "Ready"
			case "":
			default:
				ready = "not Ready: " + strings.Join(strings.Fields(a.Flux.Ready.Message), " ")
			}
		}
		ft.AddField(rev)
		ft.AddField(ready)
		ft.AddField(a.Verdict.String())
		ft.EndRow()
	}
	return ft.Render()
}

// clusterStatus asks each cluster's Flux what it applied of the releases
// in rows; nil when no kubeconfig is given.
func clusterStatus(ctx context.Context, opts *StatusOptions, reg *gitops.Repository, rows []audit.StatusRow) ([]fluxstatus.Applied, error) {
	if opts.Kubeconfig == "" && os.Getenv("KUBECONFIG") == "" {
		if opts.Cluster != "" || opts.KubeContext != "" {
			return nil, cmdutil.FlagErrorf("--cluster and --context need a kubeconfig: pass --kubeconfig FILE or set KUBECONFIG")
		}
		return nil, nil
	}
	kube, err := fluxstatus.NewKube(opts.Kubeconfig, opts.KubeContext)
	if err != nil && opts.Kubeconfig == "" && opts.Cluster == "" && opts.KubeContext == "" {
		// Only KUBECONFIG asked for it, perhaps for another tool: say why
		// no cluster is shown, and show the rest.
		fmt.Fprintf(opts.IO.ErrOut, "%s clusters not asked: %v\n", opts.IO.ColorScheme().WarningIcon(), err)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	head, _, err := reg.Repo().Head()
	if err != nil {
		return nil, err
	}
	releases := map[string][]string{}
	for _, row := range rows {
		for _, c := range row.Envs {
			if len(c.Versions) > 0 {
				releases[c.Environment] = append(releases[c.Environment], row.Model)
			}
		}
	}
	applied, err := fluxstatus.Report(ctx, fluxstatus.Options{
		Repo: reg.Repo(), Head: head, Config: reg.Config(), Releases: releases, Reader: kube, Cluster: opts.Cluster,
	})
	if applied == nil && err == nil {
		applied = []fluxstatus.Applied{}
	}
	return applied, err
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	if h == "" {
		return "–"
	}
	return h
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

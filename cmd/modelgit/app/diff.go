package app

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/manifests"
)

// DiffOptions are the inputs of `modelgit diff`.
type DiffOptions struct {
	IO         *cmdutil.IOStreams
	Repository func() (*gitops.Repository, error)
	From, To   string
	Output     string
}

// NewCmdDiff returns `modelgit diff`.
func NewCmdDiff(f *cmdutil.Factory, runF func(*DiffOptions) error) *cobra.Command {
	opts := &DiffOptions{IO: f.IOStreams, Repository: f.Repository}
	cmd := &cobra.Command{
		Use:   "diff MODEL@VERSION MODEL@VERSION",
		Short: "Compare two model versions: artifacts, data, schema, params, metrics",
		Long: `Compare two registered model versions field by field: artifact digests,
training data, feature schema, inference API, hyperparameters, metrics (with
the change and its direction), framework and libraries, and the version bump
the difference calls for.

` + versionForms + "\n",
		Example: "  modelgit diff fraud-detector@1.3.2 fraud-detector@1.4.0+data.7\n  modelgit diff fraud-detector@production fraud-detector@latest",
		Args:    cmdutil.ExactArgs(2, "two model versions are required: modelgit diff MODEL@A MODEL@B"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.From, opts.To = args[0], args[1]
			if runF != nil {
				return runF(opts)
			}
			return diffRun(opts)
		},
	}
	cmdutil.AddOutputFlag(cmd, &opts.Output, cmdutil.OutputTable, cmdutil.OutputJSON)
	return cmd
}

type diffOutput struct {
	From    string             `json:"from"`
	To      string             `json:"to"`
	Bump    string             `json:"bump"`
	Reasons []string           `json:"reasons"`
	Changes []manifests.Change `json:"changes"`
}

func diffRun(opts *DiffOptions) error {
	reg, err := opts.Repository()
	if err != nil {
		return err
	}
	a, err := resolveRef(opts.IO, reg, opts.From)
	if err != nil {
		return err
	}
	b, err := resolveRef(opts.IO, reg, opts.To)
	if err != nil {
		return err
	}
	changes := manifests.Diff(a.Manifest, b.Manifest)
	p := manifests.Propose(a.Manifest, b.Manifest)
	out := diffOutput{From: a.Name(), To: b.Name(), Bump: string(p.Bump), Reasons: p.Reasons, Changes: changes}
	if out.Changes == nil {
		out.Changes = []manifests.Change{}
	}
	if out.Reasons == nil {
		out.Reasons = []string{}
	}
	if opts.Output == cmdutil.OutputJSON {
		return cmdutil.PrintJSON(opts.IO.Out, out)
	}
	fmt.Fprintf(opts.IO.Out, "%s → %s: %s\n", out.From, out.To, p.Bump)
	for _, r := range p.Reasons {
		fmt.Fprintf(opts.IO.Out, "  %s\n", r)
	}
	if len(changes) == 0 {
		return nil
	}
	fmt.Fprintln(opts.IO.Out)
	t := cmdutil.NewTablePrinter(opts.IO, "FIELD", "CHANGE", "FROM", "TO")
	for _, c := range changes {
		t.AddRow(c.Field, c.Kind, c.Old, c.New)
	}
	return t.Render()
}

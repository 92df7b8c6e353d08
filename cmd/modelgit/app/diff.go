package app

import (
	"fmt"
	"math"
	"strconv"
	"strings"

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
	From    string       `json:"from"`
	To      string       `json:"to"`
	Bump    string       `json:"bump"`
	Reasons []string     `json:"reasons"`
	Changes []diffChange `json:"changes"`
}

// diffChange is one manifests.Change as JSON: camelCase keys, and the
// values in their own type (docs/json.md) — a metric, a size or a numeric
// hyperparameter is a number, not the text the table shows; a side that
// is absent (added, removed) is null.
type diffChange struct {
	Field string `json:"field"`
	Kind  string `json:"kind"`
	Old   any    `json:"old"`
	New   any    `json:"new"`
	// Delta is new - old for a metric that changed, to 12 significant
	// digits.
	Delta *float64 `json:"delta,omitempty"`
}

// jsonChange types c's values from the manifests a and b it compares.
func jsonChange(a, b *manifests.ModelVersion, c manifests.Change) diffChange {
	out := diffChange{Field: c.Field, Kind: c.Kind}
	text := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	out.Old, out.New = text(c.Old), text(c.New)
	side := func(absent bool, v any) any {
		if absent {
			return nil
		}
		return v
	}
	oldGone, newGone := c.Kind == manifests.ChangeAdded, c.Kind == manifests.ChangeRemoved
	switch section, key, _ := strings.Cut(c.Field, "."); {
	case section == "metrics":
		o, n := a.Metrics[key], b.Metrics[key]
		out.Old, out.New = side(oldGone, jsonNumber(o)), side(newGone, jsonNumber(n))
		if c.Kind == manifests.ChangeChanged {
			if d := n - o; !math.IsNaN(d) && !math.IsInf(d, 0) {
				// 12 significant digits: 0.971 - 0.962 is 0.009, not
				// 0.009000000000000008.
				d, _ = strconv.ParseFloat(strconv.FormatFloat(d, 'g', 12, 64), 64)
				out.Delta = &d
			}
		}
	case section == "params":
		out.Old, out.New = side(oldGone, a.Params[key]), side(newGone, b.Params[key])
	case section == "artifacts" && strings.HasSuffix(key, ".size"):
		kind := strings.TrimSuffix(key, ".size")
		out.Old, out.New = artifactSize(a, kind), artifactSize(b, kind)
	}
	return out
}

// jsonNumber is f, or its text when JSON has no number for it (NaN, ±Inf).
func jsonNumber(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return f
}

// artifactSize is the size of mv's artifact of kind, nil without one.
func artifactSize(mv *manifests.ModelVersion, kind string) any {
	var size any
	mv.Artifacts.Each(func(k string, a *manifests.Artifact) {
		if k == kind {
			size = a.Size
		}
	})
	return size
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
	out := diffOutput{From: a.Name(), To: b.Name(), Bump: string(p.Bump), Reasons: p.Reasons, Changes: make([]diffChange, 0, len(changes))}
	for _, c := range changes {
		out.Changes = append(out.Changes, jsonChange(a.Manifest, b.Manifest, c))
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

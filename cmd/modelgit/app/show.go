package app

import (
	"fmt"
	"maps"
	"slices"

	"github.com/spf13/cobra"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/audit"
	"github.com/modelgit/modelgit/manifests"
)

// ShowOptions are the inputs of `modelgit show`.
type ShowOptions struct {
	IO         *cmdutil.IOStreams
	Repository func() (*gitops.Repository, error)
	Ref        string
	Output     string
}

// NewCmdShow returns `modelgit show`.
func NewCmdShow(f *cmdutil.Factory, runF func(*ShowOptions) error) *cobra.Command {
	opts := &ShowOptions{IO: f.IOStreams, Repository: f.Repository}
	cmd := &cobra.Command{
		Use:   "show MODEL[@VERSION]",
		Short: "Show a registered model version",
		Long: `Show a registered model version: its artifacts, training data, metrics and
parameters, its digest, and the commit that registered it with that
commit's signature.

` + versionForms + `

-o yaml prints the manifest exactly as committed; -o json adds the digest
and provenance.`,
		Example: "  modelgit show fraud-detector@1.4.0+data.7\n  modelgit show fraud-detector@production\n  modelgit show fraud-detector -o yaml",
		Args:    cmdutil.ExactArgs(1, "a model version is required: modelgit show MODEL[@VERSION]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ref = args[0]
			if runF != nil {
				return runF(opts)
			}
			return showRun(opts)
		},
	}
	cmdutil.AddOutputFlag(cmd, &opts.Output, cmdutil.OutputText, cmdutil.OutputYAML, cmdutil.OutputJSON)
	return cmd
}

type showOutput struct {
	Name       string                  `json:"name"`
	Digest     manifests.Digest        `json:"digest"`
	Path       string                  `json:"path"`
	Provenance audit.Provenance        `json:"provenance"`
	Manifest   *manifests.ModelVersion `json:"manifest"`
}

func showRun(opts *ShowOptions) error {
	reg, err := opts.Repository()
	if err != nil {
		return err
	}
	v, err := resolveRef(opts.IO, reg, opts.Ref)
	if err != nil {
		return err
	}
	if opts.Output == cmdutil.OutputYAML {
		_, err := opts.IO.Out.Write(v.Raw)
		return err
	}
	prov, err := audit.ProvenanceOf(reg, v)
	if err != nil {
		return err
	}
	if opts.Output == cmdutil.OutputJSON {
		return cmdutil.PrintJSON(opts.IO.Out, showOutput{Name: v.Name(), Digest: v.Digest, Path: v.Path, Provenance: prov, Manifest: v.Manifest})
	}
	m := v.Manifest
	w := opts.IO.Out
	fmt.Fprintf(w, "%s\n", v.Name())
	fmt.Fprintf(w, "  digest:        %s\n", v.Digest)
	fmt.Fprintf(w, "  manifest:      %s\n", v.Path)
	if m.Reason != "" {
		fmt.Fprintf(w, "  why:           %s\n", m.Reason)
	}
	fmt.Fprintf(w, "  registered:    %s by %s\n", m.RegisteredAt.Format("2006-01-02 15:04:05Z07:00"), m.RegisteredBy)
	if prov.Commit != "" {
		fmt.Fprintf(w, "  commit:        %s (%s)\n", prov.Commit[:12], signatureSummary(prov.Signature))
	}
	fmt.Fprintln(w, "  artifacts:")
	m.Artifacts.Each(func(kind string, a *manifests.Artifact) {
		fmt.Fprintf(w, "    %-9s %s  %s  %s\n", kind, a.Digest, humanBytes(a.Size), a.Path)
	})
	if m.Data != nil {
		fmt.Fprintf(w, "  training data: %s  %d files, %s", m.Data.Digest, m.Data.Files, humanBytes(m.Data.Size))
		if m.Data.Source != "" {
			fmt.Fprintf(w, "  from %s", m.Data.Source)
		}
		fmt.Fprintln(w)
	}
	if m.Framework != nil {
		fmt.Fprintf(w, "  framework:     %s %s\n", m.Framework.Name, m.Framework.Version)
	}
	printMap(w, "metrics", m.Metrics)
	printMap(w, "params", m.Params)
	printMap(w, "features", m.Features)
	printMap(w, "libraries", m.Libraries)
	return nil
}

func printMap[V any](w interface{ Write([]byte) (int, error) }, title string, m map[string]V) {
	if len(m) == 0 {
		return
	}
	fmt.Fprintf(w, "  %s:\n", title)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(w, "    %-24s %v\n", k, m[k])
	}
}

func signatureSummary(s gitops.SignatureInfo) string {
	switch {
	case !s.Signed:
		return "unsigned"
	case s.Trusted:
		return fmt.Sprintf("signed by %s, %s %s", s.Signer, s.Format, s.Key)
	default:
		return "signature not trusted: " + s.Reason
	}
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops"
)

// RenderOptions are the inputs of `modelgit render`.
type RenderOptions struct {
	IO       *cmdutil.IOStreams
	Registry func() (*gitops.Registry, error)
	Cluster  string
	Check    bool
	Output   string
}

// NewCmdRender returns `modelgit render`.
func NewCmdRender(f *cmdutil.Factory, runF func(*RenderOptions) error) *cobra.Command {
	opts := &RenderOptions{IO: f.IOStreams, Registry: f.Registry}
	cmd := &cobra.Command{
		Use:   "render [--cluster CLUSTER] [--check]",
		Short: "Write, check or show the Kubernetes objects the releases render to",
		Long: `Render the committed releases (environments/) into rendered/ENV/ and
clusters/CLUSTER/ (a kustomization with the cluster's GPU defaults, and
flux-system/ with the GitRepository and Kustomization Flux follows).

Without flags, changed files are written into the work tree.
--check writes nothing and fails when rendered/ or clusters/ is stale.
--cluster prints the objects Flux applies on that cluster, exactly what
` + "`kustomize build clusters/CLUSTER`" + ` produces over the rendered tree (with
-o json, the same objects as a JSON array).

Rendering clusters/ needs the URL Flux clones the repository from: the
forge.repository of modelgit.yaml, else the git remote origin.`,
		Example: "  modelgit render\n  modelgit render --check\n  modelgit render --cluster gpu-prod\n  modelgit render --cluster gpu-prod -o json",
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.MutuallyExclusive("--cluster and --check cannot be used together", opts.Cluster != "", opts.Check); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return renderRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Cluster, "cluster", "", "print the objects Flux applies on this cluster")
	cmd.Flags().BoolVar(&opts.Check, "check", false, "fail when rendered/ or clusters/ is out of date; write nothing")
	cmdutil.AddOutputFlag(cmd, &opts.Output, cmdutil.OutputText, cmdutil.OutputJSON)
	return cmd
}

// yamlDocsToJSON converts a multi-document YAML stream (what kustomize
// build prints) to the list of its objects, each converted by
// sigs.k8s.io/yaml, so numbers and strings keep their YAML meaning.
func yamlDocsToJSON(stream []byte) ([]json.RawMessage, error) {
	list := []json.RawMessage{}
	dec := k8syaml.NewDocumentDecoder(io.NopCloser(bytes.NewReader(stream)))
	defer dec.Close()
	buf := make([]byte, len(stream)+1)
	for {
		n, err := dec.Read(buf)
		if err == io.EOF {
			return list, nil
		}
		if err != nil {
			return nil, err
		}
		doc := bytes.TrimSpace(buf[:n])
		if len(doc) == 0 {
			continue
		}
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("object %d: %w", len(list)+1, err)
		}
		if string(j) == "null" {
			continue
		}
		list = append(list, j)
	}
}

func renderRun(opts *RenderOptions) error {
	reg, err := opts.Registry()
	if err != nil {
		return err
	}
	w := opts.IO.Out
	switch {
	case opts.Cluster != "":
		objs, err := reg.BuildCluster(opts.Cluster)
		if err != nil {
			return err
		}
		if opts.Output == cmdutil.OutputJSON {
			list, err := yamlDocsToJSON(objs)
			if err != nil {
				return fmt.Errorf("converting the objects of cluster %q to JSON: %w", opts.Cluster, err)
			}
			return cmdutil.PrintJSON(w, list)
		}
		_, err = w.Write(objs)
		return err
	case opts.Check:
		stale, err := reg.StaleRendered()
		if err != nil {
			return err
		}
		if opts.Output == cmdutil.OutputJSON {
			if stale == nil {
				stale = []gitops.StaleFile{}
			}
			if err := cmdutil.PrintJSON(w, stale); err != nil {
				return err
			}
		} else {
			cs := opts.IO.ColorScheme()
			for _, s := range stale {
				what := "differs from what the releases render to"
				if s.Missing {
					what = "is missing"
				}
				fmt.Fprintf(w, "%s %s %s\n", cs.FailureIcon(), s.Path, what)
			}
			if len(stale) == 0 {
				fmt.Fprintf(w, "%s rendered/ and clusters/ are in sync with the releases\n", cs.SuccessIcon())
			} else {
				fmt.Fprintf(w, "run `modelgit render` and commit the result\n")
			}
		}
		if len(stale) > 0 {
			return cmdutil.SilentError
		}
		return nil
	}
	paths, err := reg.WriteRendered()
	if err != nil {
		return err
	}
	if opts.Output == cmdutil.OutputJSON {
		if paths == nil {
			paths = []string{}
		}
		return cmdutil.PrintJSON(w, paths)
	}
	for _, p := range paths {
		fmt.Fprintf(w, "wrote %s\n", p)
	}
	if len(paths) == 0 {
		fmt.Fprintln(w, "rendered/ and clusters/ are up to date")
	}
	return nil
}

package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/render"
	"github.com/modelgit/modelgit/manifests"
)

// RenderOptions are the inputs of `modelgit render`.
type RenderOptions struct {
	IO         *cmdutil.IOStreams
	Repository func() (*gitops.Repository, error)
	Cluster    string
	Check      bool
	Output     string
	// VerifySecret prints the Secret Flux verifies commit signatures
	// with; ForgeKeys ("NAME=FILE" or "NAME=URL") are added to it.
	VerifySecret bool
	ForgeKeys    []string
	// HTTPClient fetches a forge key given by URL.
	HTTPClient func() (*http.Client, error)
}

// NewCmdRender returns `modelgit render`.
func NewCmdRender(f *cmdutil.Factory, runF func(*RenderOptions) error) *cobra.Command {
	opts := &RenderOptions{IO: f.IOStreams, Repository: f.Repository, HTTPClient: func() (*http.Client, error) { return http.DefaultClient, nil }}
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

Rendering clusters/ needs the URL Flux clones the repository from:
flux.url of modelgit.yaml, else the forge's repository, else the git
remote origin (http(s):// or ssh://; Flux clones nothing else).

--verify-secret prints the Secret (flux-system/modelgit-allowed-signers)
that the GitRepository verifies commit signatures against: one
NAME.sshpub key per ssh signer of policies/allowed_signers, the OpenPGP
keys of policies/allowed_signers.asc as allowed_signers.asc, as committed
at HEAD, plus each --forge-key NAME=FILE|URL: the key the forge signs its
merge commits with (GitHub's: web-flow=https://github.com/web-flow.gpg).
Apply it with kubectl before the cluster follows the repository; see
docs/flux.md.`,
		Example: "  modelgit render\n  modelgit render --check\n  modelgit render --cluster gpu-prod\n  modelgit render --cluster gpu-prod -o json\n  modelgit render --verify-secret --forge-key web-flow=https://github.com/web-flow.gpg | kubectl apply -f -",
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.MutuallyExclusive("--cluster, --check and --verify-secret cannot be used together", opts.Cluster != "", opts.Check, opts.VerifySecret); err != nil {
				return err
			}
			if len(opts.ForgeKeys) > 0 && !opts.VerifySecret {
				return cmdutil.FlagErrorf("--forge-key needs --verify-secret")
			}
			for _, k := range opts.ForgeKeys {
				if name, src, ok := strings.Cut(k, "="); !ok || name == "" || src == "" {
					return cmdutil.FlagErrorf("--forge-key %q: want NAME=FILE or NAME=URL, e.g. web-flow=https://github.com/web-flow.gpg", k)
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return renderRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Cluster, "cluster", "", "print the objects Flux applies on this cluster")
	cmd.Flags().BoolVar(&opts.Check, "check", false, "fail when rendered/ or clusters/ is out of date; write nothing")
	cmd.Flags().BoolVar(&opts.VerifySecret, "verify-secret", false, "print the Secret Flux verifies commit signatures with")
	cmd.Flags().StringArrayVar(&opts.ForgeKeys, "forge-key", nil, "with --verify-secret, add the forge's merge key `NAME=FILE|URL` (repeatable)")
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
	reg, err := opts.Repository()
	if err != nil {
		return err
	}
	w := opts.IO.Out
	switch {
	case opts.VerifySecret:
		return verifySecretRun(opts, reg)
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
				fmt.Fprintf(w, "%s %s %s\n", cs.FailureIcon(), s.Path, s.Problem())
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
	changed, err := reg.WriteRendered()
	if err != nil {
		return err
	}
	if opts.Output == cmdutil.OutputJSON {
		paths := []string{}
		for _, s := range changed {
			paths = append(paths, s.Path)
		}
		return cmdutil.PrintJSON(w, paths)
	}
	for _, s := range changed {
		verb := "wrote"
		if s.Extra {
			verb = "removed"
		}
		fmt.Fprintf(w, "%s %s\n", verb, s.Path)
	}
	if len(changed) == 0 {
		fmt.Fprintln(w, "rendered/ and clusters/ are up to date")
	}
	return nil
}

// verifySecretRun prints render.VerifySecret over the allowed signers
// committed at HEAD and the forge keys.
func verifySecretRun(opts *RenderOptions, reg *gitops.Repository) error {
	head, _, err := reg.Repo().Head()
	if err != nil {
		return err
	}
	if head.IsZero() {
		return fmt.Errorf("printing the verify Secret: the branch has no commit yet; commit %s first", manifests.AllowedSignersFile)
	}
	read := func(p string) ([]byte, error) {
		b, err := reg.Repo().ReadFile(head, p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return b, err
	}
	keys := render.VerifyKeys{File: manifests.AllowedSignersFile}
	if keys.AllowedSigners, err = read(manifests.AllowedSignersFile); err != nil {
		return err
	}
	if keys.OpenPGP, err = read(manifests.AllowedKeysFile); err != nil {
		return err
	}
	for _, k := range opts.ForgeKeys {
		name, src, _ := strings.Cut(k, "=")
		b, err := readKeySource(opts, src)
		if err != nil {
			return fmt.Errorf("reading forge key %q from %q: %w", name, src, err)
		}
		keys.Forge = append(keys.Forge, render.NamedKey{Name: name, Key: b})
	}
	out, err := render.VerifySecret(keys)
	if err != nil {
		return err
	}
	_, err = opts.IO.Out.Write(out)
	return err
}

// readKeySource reads a public key from a file or an http(s) URL.
func readKeySource(opts *RenderOptions, src string) ([]byte, error) {
	if !strings.HasPrefix(src, "https://") && !strings.HasPrefix(src, "http://") {
		return os.ReadFile(src)
	}
	c, err := opts.HTTPClient()
	if err != nil {
		return nil, err
	}
	resp, err := c.Get(src)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
}

package app

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/register"
	"github.com/modelgit/modelgit/manifests"
)

// RegisterOptions are the inputs of `modelgit register`.
type RegisterOptions struct {
	IO         *cmdutil.IOStreams
	Repository func() (*gitops.Repository, error)
	Signer     func(explicitKey string) (gitops.Identity, error)
	Output     string
	SigningKey string
	NoSign     bool
	TrainedAt  string
	Libraries  []string
	Labels     []string

	register.RegisterOptions
}

// NewCmdRegister returns `modelgit register`.
func NewCmdRegister(f *cmdutil.Factory, runF func(*RegisterOptions) error) *cobra.Command {
	opts := &RegisterOptions{IO: f.IOStreams, Repository: f.Repository, Signer: f.Identity}
	cmd := &cobra.Command{
		Use:   "register MODEL [--weights PATH] [flags]",
		Short: "Register a model version: hash and store its artifacts, make a signed commit",
		Long: `Register a model version.

The artifacts are hashed (sha256) and stored in the artifact store named in
modelgit.yaml; the next version is proposed from the difference to the
latest one (and the reason printed); models/MODEL/versions/VERSION.yaml is
written and committed, signed, with trailers Model, Model-Version,
Model-Digest, Data-Hash and Registered-by. When nothing changed since the
latest version, nothing is committed.

Weights and pipeline may be directories (a sharded checkpoint); the schema,
inference config, metrics and params must be files (JSON or YAML). Metrics
and params files hold one mapping of at most 1 MiB and 10,000 values;
names are printable and numbers finite (JSON has no NaN or infinity). The
training data (--data) is hashed, not stored. docs/formats.md shows each
file (modelgit schema KIND prints its JSON Schema).

The inputs are remembered under register: in models/MODEL/model.yaml
(paths relative to the repository root), so the next time
"modelgit register MODEL" alone registers again; a flag given wins and
updates what is remembered. Leaving out an artifact kind the latest version
has (--pipeline, --schema, --config) would make a major version: it is
refused unless --allow-removal is given (on a terminal, register asks).`,
		Example: `  modelgit register fraud-detector \
    --weights model.safetensors --pipeline preprocess.pkl --schema features.json \
    --config inference.yaml --metrics metrics.json --params params.yaml --data ./train/
  modelgit register fraud-detector     # again, with the inputs remembered in model.yaml`,
		Args: cmdutil.ExactArgs(1, "the model name is required: modelgit register MODEL --weights PATH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model = args[0]
			if runF != nil {
				return runF(opts)
			}
			return registerRun(cmd, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Weights, "weights", "", "model weights: a file or a directory (sharded checkpoint)")
	fl.StringVar(&opts.Pipeline, "pipeline", "", "preprocessing pipeline: a file or a directory")
	fl.StringVar(&opts.Schema, "schema", "", "feature schema (JSON or YAML)")
	fl.StringVar(&opts.Config, "config", "", "inference config (JSON or YAML; inputs/outputs declare the API)")
	fl.StringVar(&opts.Metrics, "metrics", "", "validation metrics: a JSON or YAML mapping of name to number")
	fl.StringVar(&opts.Params, "params", "", "hyperparameters: a JSON or YAML mapping")
	fl.StringVar(&opts.RegisterOptions.Data, "data", "", "training data (directory or file): hashed, not stored")
	fl.StringVar(&opts.DataSource, "data-source", "", "where the training data came from (URL, dataset name)")
	fl.StringVar(&opts.Version, "version", "", "use this version instead of the proposed one")
	fl.StringVar(&opts.Framework, "framework", "", "training framework as NAME=VERSION, e.g. pytorch=2.4.1")
	fl.StringArrayVar(&opts.Libraries, "library", nil, "library as NAME=VERSION (repeatable)")
	fl.StringArrayVar(&opts.Targets, "target", nil, "deployment target cluster or environment (repeatable)")
	fl.StringVar(&opts.TrainedAt, "trained-at", "", "when training finished (RFC 3339)")
	fl.StringVar(&opts.Owner, "owner", "", "owning team, for a model registered for the first time")
	fl.StringArrayVar(&opts.Labels, "label", nil, "label KEY=VALUE for a model registered for the first time (repeatable)")
	fl.StringVar(&opts.SigningKey, "signing-key", "", "key to sign with (default: git config user.signingkey)")
	fl.BoolVar(&opts.NoSign, "no-sign", false, "make an unsigned commit (modelgit verify will flag it)")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "hash and propose the version; store and commit nothing")
	fl.BoolVar(&opts.AllowRemoval, "allow-removal", false, "register without an artifact kind the latest version has (a major version)")
	cmdutil.AddOutputFlag(cmd, &opts.Output, cmdutil.OutputText, cmdutil.OutputJSON)
	return cmd
}

func registerRun(cmd *cobra.Command, opts *RegisterOptions) error {
	var err error
	if opts.RegisterOptions.Libraries, err = keyValues("--library", opts.Libraries); err != nil {
		return err
	}
	if opts.RegisterOptions.Labels, err = keyValues("--label", opts.Labels); err != nil {
		return err
	}
	if opts.TrainedAt != "" {
		t, err := time.Parse(time.RFC3339, opts.TrainedAt)
		if err != nil {
			return cmdutil.FlagErrorf("--trained-at %q: want RFC 3339, e.g. 2026-03-03T14:02:00Z", opts.TrainedAt)
		}
		t = t.UTC()
		opts.RegisterOptions.TrainedAt = &t
	}
	reg, err := opts.Repository()
	if err != nil {
		return err
	}
	id, err := opts.Signer(opts.SigningKey)
	if err != nil && !(opts.NoSign || opts.DryRun) {
		return err
	}
	opts.Identity = id.Signature
	if !opts.NoSign {
		opts.RegisterOptions.Signer = id.Signer
	}
	res, err := register.Register(cmd.Context(), reg, opts.RegisterOptions)
	if errors.Is(err, register.ErrArtifactRemoved) && opts.IO.IsStdinTTY() && opts.IO.IsStderrTTY() && opts.Output != cmdutil.OutputJSON {
		fmt.Fprintf(opts.IO.ErrOut, "%v\nRegister without it, as a major version? [y/N] ", err)
		if answer, _ := bufio.NewReader(opts.IO.In).ReadString('\n'); strings.EqualFold(strings.TrimSpace(answer), "y") || strings.EqualFold(strings.TrimSpace(answer), "yes") {
			opts.AllowRemoval = true
			res, err = register.Register(cmd.Context(), reg, opts.RegisterOptions)
		}
	}
	if errors.Is(err, register.ErrNoWeights) {
		return cmdutil.FlagErrorf("%v", err)
	}
	if err != nil {
		return err
	}
	for _, r := range res.Remembered {
		fmt.Fprintf(opts.IO.ErrOut, "using %s (remembered in %s)\n", r, manifests.ModelFile(opts.Model))
	}
	if opts.Output == cmdutil.OutputJSON {
		return cmdutil.PrintJSON(opts.IO.Out, registerJSON(res))
	}
	out := opts.IO.Out
	if res.Unchanged {
		fmt.Fprintf(out, "nothing changed since %s: no new version\n", res.Version.Name())
		return nil
	}
	verb := "registered"
	if opts.DryRun {
		verb = "would register"
	}
	bump := string(res.Proposal.Bump) + " bump"
	if res.Previous == nil {
		bump = "first version"
	}
	fmt.Fprintf(out, "%s %s (%s)\n", verb, res.Version.Name(), bump)
	for _, r := range res.Proposal.Reasons {
		fmt.Fprintf(out, "  why: %s\n", r)
	}
	fmt.Fprintf(out, "  manifest: %s\n  digest:   %s\n", res.Version.Path, res.Version.Digest)
	if res.RememberedUpdated {
		fmt.Fprintf(out, "  inputs remembered in %s (register:)\n", manifests.ModelFile(opts.Model))
	}
	if !res.Commit.IsZero() {
		signed := "unsigned"
		if opts.RegisterOptions.Signer != nil {
			signed = "signed, " + opts.RegisterOptions.Signer.Format() + " " + opts.RegisterOptions.Signer.KeyID()
		}
		fmt.Fprintf(out, "  commit:   %s (%s)\n", res.Commit.String()[:12], signed)
	}
	return nil
}

type registerOutput struct {
	Model     string                    `json:"model"`
	Version   string                    `json:"version"`
	Digest    string                    `json:"digest"`
	Path      string                    `json:"path"`
	Bump      string                    `json:"bump"`
	Reasons   []string                  `json:"reasons"`
	Unchanged bool                      `json:"unchanged"`
	Previous  string                    `json:"previous,omitempty"`
	Commit    string                    `json:"commit,omitempty"`
	Artifacts []register.StoredArtifact `json:"artifacts"`
}

func registerJSON(res *register.RegisterResult) registerOutput {
	o := registerOutput{
		Model:     res.Version.Manifest.Model,
		Version:   res.Version.Manifest.Version.String(),
		Digest:    res.Version.Digest.String(),
		Path:      res.Version.Path,
		Bump:      string(res.Proposal.Bump),
		Reasons:   res.Proposal.Reasons,
		Unchanged: res.Unchanged,
		Artifacts: res.Artifacts,
	}
	if o.Reasons == nil {
		o.Reasons = []string{}
	}
	if res.Previous != nil {
		o.Previous = res.Previous.Manifest.Version.String()
	}
	if !res.Commit.IsZero() {
		o.Commit = res.Commit.String()
	}
	return o
}

// keyValues parses repeated NAME=VALUE flags.
func keyValues(flag string, in []string) (map[string]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(in))
	for _, kv := range in {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, cmdutil.FlagErrorf("%s %q: want NAME=VALUE", flag, kv)
		}
		out[k] = v
	}
	return out, nil
}

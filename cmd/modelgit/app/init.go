package app

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/register"
	"github.com/modelgit/modelgit/manifests"
)

// InitOptions are the inputs of `modelgit init`.
type InitOptions struct {
	IO         *cmdutil.IOStreams
	WorkDir    func() (string, error)
	Identity   func(explicitKey string) (gitops.Identity, error)
	Dir        string
	SigningKey string
	NoCommit   bool
	ForgeRepo  string
	ForgeURL   string
	Store      string
	// ClusterStore is --cluster-store.
	ClusterStore string
	// FluxURL is --flux-url.
	FluxURL string
}

// NewCmdInit returns `modelgit init`.
func NewCmdInit(f *cmdutil.Factory, runF func(*InitOptions) error) *cobra.Command {
	opts := &InitOptions{IO: f.IOStreams, WorkDir: f.WorkDir, Identity: f.Identity}
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Lay out a modelgit GitOps repository",
		Long: `Lay out a modelgit GitOps repository in DIR (default: the current directory,
or the root of the Git repository it is in), creating the Git repository
when there is none. A registry is the root of a Git repository: a DIR
inside another repository, below its root, is refused (use that root, or
git init DIR first).

  modelgit.yaml                     store, environments (dev, staging, production), clusters
  models/  environments/            model versions and releases
  policies/allowed_signers          who may sign (your signing key is added)
  .github/workflows/modelgit.yml    check on promotion PRs, merge on approval, scheduled monitoring
  .gitignore                        the embedded store and caches

Configure your signing key first (git config user.signingkey, or
--signing-key): the files are then committed, signed, and your key is the
first in policies/allowed_signers. Existing files are never overwritten;
running init again completes what is missing: after setting a key, it adds
you to an allowed_signers that trusts nobody yet and commits what an
earlier run only wrote.

--store chooses where artifacts live, for the whole team: an OCI registry
(oci://REGISTRY/REPO) or a shared directory (file:///DIR). Without it the
store is file://.modelgit/store, inside this clone: teammates, CI and
clusters cannot read it until you set store: in modelgit.yaml and
modelgit store copy its blobs there. Promotion refuses to render a storage
URI inside the clone: with a file:// store, --cluster-store says where the
clusters read its directory (a volume holding its blobs/sha256/, e.g.
pvc://models/modelgit), written as clusterStore: under every environment.

clusters/ (what Flux applies) is laid out when Flux has a URL to clone this
repository from: --flux-url (written as flux.url), else the GitHub
repository of --github, else an origin remote Flux can clone (https://,
http:// or ssh://). With none of them (no origin yet, or an origin that is
a local path), init lays out the rest, says so, and render and promote
wait until flux.url is set.`,
		Example: "  modelgit init --store oci://ghcr.io/acme/models --github acme/models\n  modelgit init ./registry --signing-key ~/.ssh/id_ed25519",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Dir = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return initRun(cmd, opts)
		},
	}
	cmd.Flags().StringVar(&opts.SigningKey, "signing-key", "", "key to sign the first commit with (default: git config user.signingkey)")
	cmd.Flags().BoolVar(&opts.NoCommit, "no-commit", false, "write the files but do not commit them")
	cmd.Flags().StringVar(&opts.ForgeRepo, "github", "", "GitHub repository OWNER/NAME that promotion pull requests go to")
	cmd.Flags().StringVar(&opts.ForgeURL, "github-url", "", "GitHub Enterprise API URL, e.g. https://github.example.com/api/v3/")
	cmd.Flags().StringVar(&opts.ClusterStore, "cluster-store", "", "with a file:// store: where every environment's clusters read it (environments[].clusterStore), e.g. pvc://CLAIM/PATH or s3://BUCKET/PATH")
	cmd.Flags().StringVar(&opts.FluxURL, "flux-url", "", "URL the clusters' Flux clones this repository from (flux.url), e.g. https://git.example.com/acme/models.git; default: the --github repository or the origin remote")
	cmd.Flags().StringVar(&opts.Store, "store", "", "artifact store shared by the team: oci://REGISTRY/REPO or file:///SHARED/DIR (default: file://.modelgit/store, local to this clone)")
	return cmd
}

func initRun(cmd *cobra.Command, opts *InitOptions) error {
	wd, err := opts.WorkDir()
	if err != nil {
		return err
	}
	dir := wd
	in := register.InitOptions{Store: opts.Store, ClusterStore: opts.ClusterStore, FluxURL: opts.FluxURL, UseEnclosingRoot: opts.Dir == ""}
	if opts.Dir != "" {
		dir = opts.Dir
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(wd, dir)
		}
	}
	if opts.ForgeRepo != "" {
		in.Forge = &manifests.Forge{Type: "github", Repository: opts.ForgeRepo, URL: opts.ForgeURL}
	} else if opts.ForgeURL != "" {
		return cmdutil.FlagErrorf("--github-url needs --github OWNER/NAME")
	}
	id, idErr := opts.Identity(opts.SigningKey)
	if id.Signer != nil {
		line, key, err := gitops.AllowedSignerEntry(id)
		if err != nil {
			return err
		}
		in.AllowedSigner, in.AllowedKey = line, key
		if !opts.NoCommit {
			in.Identity, in.Signer = id.Signature, id.Signer
		}
	}
	res, err := register.Init(cmd.Context(), dir, in)
	if err != nil {
		return err
	}
	w := opts.IO.Out
	if res.Created {
		fmt.Fprintf(w, "created a Git repository in %s\n", res.Root)
	}
	fmt.Fprintf(w, "modelgit repository at %s:\n", res.Root)
	for _, p := range res.Written {
		fmt.Fprintf(w, "  wrote %s\n", p)
	}
	for _, p := range res.Skipped {
		fmt.Fprintf(w, "  kept  %s (exists)\n", p)
	}
	cs := opts.IO.ColorScheme()
	if res.SignerAdded {
		fmt.Fprintf(w, "  added your key to %s\n", manifests.AllowedSignersFile)
	}
	if res.NoClusters != "" {
		fmt.Fprintf(opts.IO.ErrOut, "%s %s\n", cs.WarningIcon(), res.NoClusters)
	}
	if res.LocalStore {
		fmt.Fprintf(opts.IO.ErrOut, "%s %s\n", cs.WarningIcon(), register.LocalStoreNote(res.Store))
	}
	if res.SignerNotAllowed != "" {
		fmt.Fprintf(opts.IO.ErrOut, "%s your signing key is not in %s, which trusts other signers: one of them must add this line (in a signed commit, through a pull request) before you register:\n  %s\n", cs.WarningIcon(), manifests.AllowedSignersFile, res.SignerNotAllowed)
	}
	switch {
	case !res.Commit.IsZero():
		fmt.Fprintf(w, "committed %s, signed with %s %s\n", res.Commit.String()[:12], id.Signer.Format(), id.Signer.KeyID())
	case len(res.Uncommitted) == 0:
		fmt.Fprintln(w, "already initialized: nothing to do")
	case opts.NoCommit:
		fmt.Fprintf(w, "not committed (--no-commit): %s\n", strings.Join(res.Uncommitted, ", "))
	default:
		fmt.Fprintf(opts.IO.ErrOut, "%s not committed: %v\n", cs.WarningIcon(), idErr)
		fmt.Fprintln(opts.IO.ErrOut, "  with a key configured, run modelgit init again: it adds your key to policies/allowed_signers and commits, signed")
	}
	return nil
}

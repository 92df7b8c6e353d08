package app

import (
	"fmt"
	"path/filepath"

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
}

// NewCmdInit returns `modelgit init`.
func NewCmdInit(f *cmdutil.Factory, runF func(*InitOptions) error) *cobra.Command {
	opts := &InitOptions{IO: f.IOStreams, WorkDir: f.WorkDir, Identity: f.Identity}
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Lay out a modelgit GitOps repository",
		Long: `Lay out a modelgit GitOps repository in DIR (default: the current directory),
creating the Git repository when there is none:

  modelgit.yaml                     store, environments (dev, staging, production), clusters
  models/  environments/            model versions and releases
  policies/allowed_signers          who may sign (your signing key is added)
  .github/workflows/modelgit.yml    check on promotion PRs, merge on approval, scheduled monitoring
  .gitignore                        the embedded store and caches

Existing files are never overwritten; running init again adds what is
missing. With a signing key configured (git config user.signingkey, or
--signing-key), the files are committed, signed.`,
		Example: "  modelgit init\n  modelgit init ./registry --signing-key ~/.ssh/id_ed25519",
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
	return cmd
}

func initRun(cmd *cobra.Command, opts *InitOptions) error {
	wd, err := opts.WorkDir()
	if err != nil {
		return err
	}
	dir := wd
	if opts.Dir != "" {
		dir = opts.Dir
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(wd, dir)
		}
	}
	in := register.InitOptions{}
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
	for _, p := range res.Written {
		fmt.Fprintf(w, "  wrote %s\n", p)
	}
	for _, p := range res.Skipped {
		fmt.Fprintf(w, "  kept  %s (exists)\n", p)
	}
	if res.NoClusters != "" {
		fmt.Fprintf(opts.IO.ErrOut, "%s %s\n", opts.IO.ColorScheme().WarningIcon(), res.NoClusters)
	}
	switch {
	case !res.Commit.IsZero():
		fmt.Fprintf(w, "committed %s, signed with %s %s\n", res.Commit.String()[:12], id.Signer.Format(), id.Signer.KeyID())
	case len(res.Written) == 0:
		fmt.Fprintln(w, "already initialized: nothing to do")
	case opts.NoCommit:
		fmt.Fprintln(w, "not committed (--no-commit)")
	default:
		fmt.Fprintf(opts.IO.ErrOut, "%s not committed: %v\n", opts.IO.ColorScheme().WarningIcon(), idErr)
		fmt.Fprintln(opts.IO.ErrOut, "  add your key to policies/allowed_signers, then commit the files signed: git commit -S")
	}
	return nil
}

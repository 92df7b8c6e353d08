package app

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/check"
)

// VerifyOptions are the inputs of `modelgit verify`.
type VerifyOptions struct {
	IO         *cmdutil.IOStreams
	Repository func() (*gitops.Repository, error)
	Range      string
	Deep       bool
	TrustRoot  string
	Output     string
}

// NewCmdVerify returns `modelgit verify`.
func NewCmdVerify(f *cmdutil.Factory, runF func(*VerifyOptions) error) *cobra.Command {
	opts := &VerifyOptions{IO: f.IOStreams, Repository: f.Repository}
	cmd := &cobra.Command{
		Use:   "verify [REV | BASE..TIP]",
		Short: "Check signatures, immutability and artifacts over history",
		Long: `Check, over the whole history of HEAD (or REV, or the commits in BASE..TIP):

  - every commit that touches models/, environments/, rendered/, policies/
    or modelgit.yaml is signed by a key in policies/allowed_signers
    (OpenPGP keys in policies/allowed_signers.asc) in force at its parent,
    and still allowed at the tip. Signers come into force only through
    commits signed by signers already in force: history is walked from the
    trust root (the first commit, or --trust-root, or git config
    modelgit.trustRoot), so a key that adds itself is reported;
  - no registered version manifest was modified or deleted;
  - no symbolic link is committed in modelgit.yaml, models/, environments/,
    rendered/, clusters/ or policies/;
  - the version manifests and release files at the tip parse and validate
    (as render and status read them), and every artifact digest they name
    resolves in the store (--deep reads and re-hashes every blob and, in an
    oci:// store, checks that each version's tag holds the manifest
    computed from Git, finding "published", and that each release pins
    that manifest, finding "pinned").

Each finding names the commit, the file and what is wrong. The exit code is
1 when anything was found.`,
		Example: "  modelgit verify\n  modelgit verify --deep origin/main..HEAD\n  modelgit verify --trust-root v1.0   # history after a commit you vouch for\n  modelgit verify --trust-root SHA256:…   # the first commit must be signed by this key",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Range = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return verifyRun(cmd, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Deep, "deep", false, "read and re-hash every blob in the store")
	cmd.Flags().StringVar(&opts.TrustRoot, "trust-root", "", "start the chain of trust at this commit (its history is vouched for), or require the first commit to be signed by this key (SHA256:… or openpgp:FINGERPRINT); default: git config modelgit.trustRoot, else the first commit")
	cmdutil.AddOutputFlag(cmd, &opts.Output, cmdutil.OutputText, cmdutil.OutputJSON)
	return cmd
}

func verifyRun(cmd *cobra.Command, opts *VerifyOptions) error {
	reg, err := opts.Repository()
	if err != nil {
		return err
	}
	rep, err := check.Verify(cmd.Context(), reg, check.VerifyOptions{Range: opts.Range, Deep: opts.Deep, TrustRoot: opts.TrustRoot})
	if err != nil {
		return err
	}
	if opts.Output == cmdutil.OutputJSON {
		if err := cmdutil.PrintJSON(opts.IO.Out, rep); err != nil {
			return err
		}
	} else {
		cs := opts.IO.ColorScheme()
		for _, f := range rep.Findings {
			fmt.Fprintf(opts.IO.Out, "%s %s: %s\n", cs.FailureIcon(), f.Check, f)
		}
		how := "checked for presence"
		if rep.Deep {
			how = "re-hashed"
		}
		icon := cs.SuccessIcon()
		if !rep.OK() {
			icon = cs.FailureIcon()
		}
		fmt.Fprintf(opts.IO.Out, "%s %s (%d touching governed paths), %s, %s %s: %s\n", icon,
			count(rep.Commits, "commit"), rep.Governed, count(rep.Versions, "version"),
			count(rep.Artifacts, "artifact"), how, count(len(rep.Findings), "problem"))
	}
	if !rep.OK() {
		return cmdutil.SilentError
	}
	return nil
}

// count returns "1 commit", "2 commits".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

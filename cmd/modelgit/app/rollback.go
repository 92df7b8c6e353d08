package app

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops/promote"
)

// RollbackOptions are the inputs of `modelgit rollback`.
type RollbackOptions struct {
	deps
	Model  string
	Env    string
	To     string
	Force  bool
	Output string
}

// NewCmdRollback returns `modelgit rollback`.
func NewCmdRollback(f *cmdutil.Factory, runF func(*RollbackOptions) error) *cobra.Command {
	opts := &RollbackOptions{deps: depsOf(f)}
	cmd := &cobra.Command{
		Use:   "rollback MODEL --env ENV [--version VERSION]",
		Short: "Open the pull request that returns an environment to an earlier version",
		Long: `Roll back a model in an environment: a promotion (replace) that

  - during a canary, an A/B test or a blue-green whose standby never served,
    returns to the stable version alone;
  - otherwise returns to the version that served before the current one,
    found in history, skipping versions a rollback already took out;
  - or returns to --version (or --to, its older spelling: in rollback --to
    is the version, in promote it is the environment). A version that never
    ran in ENV must have run in the environment before it, as for a
    promotion (or --force, which is recorded in the commit and the pull
    request). It may be written as for any MODEL@VERSION, without the
    MODEL@: in full, a prefix of one version (1.3.2 for 1.3.2+data.4),
    latest, or an environment (the version running there).

The commit carries a Rollback trailer naming the versions taken out, and the
usual promotion trailers; the branch is modelgit/rollback/ENV/MODEL-VERSION.
Like promote, it refuses a store inside the clone (file://.modelgit/store)
when ENV declares no clusterStore: no cluster could load what it renders.`,
		Example: "  modelgit rollback fraud-detector --env production\n  modelgit rollback fraud-detector --env production --version 1.3.2",
		Args:    cmdutil.ExactArgs(1, "a model is required: modelgit rollback MODEL --env ENV"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model = args[0]
			if err := foldTo(cmd, &opts.To, "version", "the version"); err != nil {
				return err
			}
			if opts.Env == "" {
				return cmdutil.FlagErrorf("--env is required")
			}
			if runF != nil {
				return runF(opts)
			}
			return rollbackRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Env, "env", "", "environment to roll back")
	cmd.Flags().StringVar(&opts.To, "version", "", "`version` to return to (default: the stable one, or the one before the current, from history)")
	cmd.Flags().String("to", "", "same as --version (in promote, --to is the environment)")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "return to a --version that never ran in ENV, past the promotion order (recorded in the commit and the pull request)")
	opts.addFlags(cmd)
	cmdutil.AddOutputFlag(cmd, &opts.Output, cmdutil.OutputText, cmdutil.OutputJSON)
	return cmd
}

func rollbackRun(ctx context.Context, opts *RollbackOptions) error {
	reg, po, err := opts.open()
	if err != nil {
		return err
	}
	po.Force = opts.Force
	if opts.To != "" {
		v, err := resolveRef(opts.IO, reg, opts.Model+"@"+opts.To)
		if err != nil {
			return err
		}
		opts.To = v.Manifest.Version.String()
	}
	res, err := promote.Rollback(ctx, reg, promote.RollbackOptions{Model: opts.Model, Env: opts.Env, To: opts.To, PromoteOptions: po})
	if err != nil {
		return err
	}
	return printPromotion(opts.IO, opts.Output, res)
}

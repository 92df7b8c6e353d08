package app

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/check"
)

// PolicyShowOptions are the inputs of `modelgit policy show`.
type PolicyShowOptions struct {
	IO         *cmdutil.IOStreams
	Repository func() (*gitops.Repository, error)
	Env        string
	Rev        string
	Output     string
}

// NewCmdPolicy returns `modelgit policy` and its subcommands.
func NewCmdPolicy(f *cmdutil.Factory, runF func(*PolicyShowOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy <command>",
		Short: "Show the promotion policies that guard environments",
	}
	opts := &PolicyShowOptions{IO: f.IOStreams, Repository: f.Repository}
	show := &cobra.Command{
		Use:   "show ENV",
		Short: "Show the gates, approvals and order that apply to an environment",
		Long: `Show the policy that guards an environment, as committed at HEAD (or --rev):
the gates (CEL expressions and the default regression gate), the approvals
(count and teams), the environment a version must come from and its soak
time, and the policy digest that merge records in the Policy: trailer.
Without policies/ENV.yaml the default policy applies, and this says so.`,
		Example: "  modelgit policy show production\n  modelgit policy show production --rev origin/main -o json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Env = args[0]
			if runF != nil {
				return runF(opts)
			}
			return policyShowRun(opts)
		},
	}
	show.Flags().StringVar(&opts.Rev, "rev", "", "read the policy at this revision (default: HEAD)")
	cmdutil.AddOutputFlag(show, &opts.Output, cmdutil.OutputText, cmdutil.OutputJSON)
	cmd.AddCommand(show)
	return cmd
}

func policyShowRun(opts *PolicyShowOptions) error {
	reg, err := opts.Repository()
	if err != nil {
		return err
	}
	ap, err := reg.Policy(opts.Rev, opts.Env)
	if err != nil {
		return err
	}
	if opts.Output == cmdutil.OutputJSON {
		return cmdutil.PrintJSON(opts.IO.Out, ap)
	}
	out := opts.IO.Out
	src := ap.File
	if ap.Default {
		src = ap.File + " is absent: the default policy applies"
	}
	fmt.Fprintf(out, "environment: %s\npolicy:      %s\ndigest:      %s\n", ap.Environment, src, ap.Digest)
	fmt.Fprintf(out, "order:       %s\n", strings.Join(ap.Order, " → "))
	if ap.From != "" {
		soak := "no soak time"
		if ap.Policy.Soak > 0 {
			soak = "for at least " + ap.Policy.Soak.String()
		}
		fmt.Fprintf(out, "comes from:  %s (%s)\n", ap.From, soak)
	} else {
		fmt.Fprintf(out, "comes from:  nowhere: %s is the first environment\n", ap.Environment)
	}
	teams := check.TeamsText(ap.Policy.Approvals.Teams)
	fmt.Fprintf(out, "approvals:   %d, from %s; not the requester, the registrant, a committer or a bot; on the current head\n", ap.Policy.Approvals.Count, teams)
	// The rules below the header, once each: the header already said the
	// digest, where a version comes from and the approvals.
	for _, line := range strings.SplitAfter(ap.Policy.Rules(), "\n") {
		fmt.Fprint(out, strings.TrimPrefix(line, "  "))
	}
	return nil
}

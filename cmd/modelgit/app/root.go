package app

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
)

// NewRootCmd returns the modelgit command with every subcommand. The
// global -C/--repo flag is stored in f.RepoDir, which f.WorkDir reads.
func NewRootCmd(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "modelgit <command> [flags]",
		Short: "Git as the model registry: signed versions, promotions by pull request",
		Long: `modelgit makes Git the machine-learning model registry.
A model version is an immutable YAML manifest, added by a signed commit, pointing to sha256-addressed artifacts.
Promotions between environments are pull requests gated by policy and approvals, applied by Flux; git log is the audit trail.`,
		Example: `  modelgit -C ./models-repo status
  modelgit version -o json`,
		Version:       f.Version,
		SilenceErrors: true, // run prints errors (redacted) and usage
		SilenceUsage:  true,
		// Without subcommand, cobra prints help (exit 0).
	}
	cmd.SetIn(f.IOStreams.In)
	cmd.SetOut(f.IOStreams.Out)
	cmd.SetErr(f.IOStreams.ErrOut)
	cmd.SetVersionTemplate("{{.Root.Name}} version {{.Version}}\n")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		if err == pflag.ErrHelp {
			return err
		}
		return cmdutil.FlagErrorWrap(err)
	})

	cmd.PersistentFlags().StringVarP(&f.RepoDir, "repo", "C", "", "run as if modelgit was started in `DIR` (like git -C)")
	_ = cmd.MarkPersistentFlagDirname("repo")
	cmd.PersistentFlags().StringVar(&f.RegistryConfig, "registry-config", "", "credentials `FILE` for an oci:// store (docker config.json format; default: docker's and oras's)")
	cmd.PersistentFlags().BoolVar(&f.PlainHTTP, "plain-http", false, "talk plain HTTP to an oci:// store's registry (always for localhost)")

	// Subcommands, grouped in the help as gh groups its commands. Add a
	// command to the group it belongs to.
	groups := []struct {
		id, title string
		cmds      []*cobra.Command
	}{
		{"registry", "Registry commands:", []*cobra.Command{
			NewCmdInit(f, nil),
			NewCmdRegister(f, nil),
			NewCmdShow(f, nil),
			NewCmdHistory(f, nil),
			NewCmdDiff(f, nil),
			NewCmdPull(f, nil),
			NewCmdVerify(f, nil),
			NewCmdStore(f),
			NewCmdSchema(f, nil),
		}},
		{"promotion", "Promotion commands:", []*cobra.Command{
			NewCmdPromote(f, nil),
			NewCmdRollback(f, nil),
			NewCmdRender(f, nil),
			NewCmdStatus(f, nil),
		}},
		{"governance", "Governance commands:", []*cobra.Command{
			NewCmdPolicy(f, nil),
			NewCmdCheck(f, nil),
			NewCmdMerge(f, nil),
			NewCmdMonitor(f, nil),
			NewCmdDoctor(f, nil),
		}},
		{"audit", "Audit commands:", []*cobra.Command{
			NewCmdAudit(f, nil),
			NewCmdWhich(f, nil),
			NewCmdReport(f, nil),
		}},
	}
	for _, g := range groups {
		cmd.AddGroup(&cobra.Group{ID: g.id, Title: g.title})
		for _, sub := range g.cmds {
			sub.GroupID = g.id
			cmd.AddCommand(sub)
		}
	}
	cmd.AddCommand(NewCmdQuickstart(f, nil), NewCmdVersion(f, nil))
	useBashCompletionPatch(cmd)
	registerCompletions(f, cmd)
	return cmd
}

package app

import (
	"github.com/spf13/cobra"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops"
)

// HistoryOptions are the inputs of `modelgit history`.
type HistoryOptions struct {
	IO       *cmdutil.IOStreams
	Registry func() (*gitops.Registry, error)
	Model    string
	Output   string
}

// NewCmdHistory returns `modelgit history`.
func NewCmdHistory(f *cmdutil.Factory, runF func(*HistoryOptions) error) *cobra.Command {
	opts := &HistoryOptions{IO: f.IOStreams, Registry: f.Registry}
	cmd := &cobra.Command{
		Use:   "history MODEL",
		Short: "List the registered versions of a model, with who signed each",
		Long: `List the registered versions of a model, oldest first: when and by whom
each was registered, its digest, the commit that added it and whether that
commit's signature is by an allowed signer. Read from git alone.`,
		Example: "  modelgit history fraud-detector\n  modelgit history fraud-detector -o json",
		Args:    cmdutil.ExactArgs(1, "a model name is required: modelgit history MODEL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model = args[0]
			if runF != nil {
				return runF(opts)
			}
			return historyRun(opts)
		},
	}
	cmdutil.AddOutputFlag(cmd, &opts.Output, cmdutil.OutputTable, cmdutil.OutputJSON)
	return cmd
}

func historyRun(opts *HistoryOptions) error {
	reg, err := opts.Registry()
	if err != nil {
		return err
	}
	if _, err := reg.Resolve(opts.Model); err != nil {
		return err
	}
	entries, err := reg.History(opts.Model)
	if err != nil {
		return err
	}
	if opts.Output == cmdutil.OutputJSON {
		if entries == nil {
			entries = []gitops.HistoryEntry{}
		}
		return cmdutil.PrintJSON(opts.IO.Out, entries)
	}
	cs := opts.IO.ColorScheme()
	t := cmdutil.NewTablePrinter(opts.IO, "VERSION", "REGISTERED", "BY", "DIGEST", "COMMIT", "SIGNATURE", "WHY")
	for _, e := range entries {
		commit := e.Commit
		if len(commit) > 12 {
			commit = commit[:12]
		}
		sig := cs.Red("unsigned")
		switch {
		case e.Signature.Trusted:
			sig = cs.Green(e.Signature.Signer)
		case e.Signature.Signed:
			sig = cs.Red("untrusted")
		}
		t.AddRow(e.Version.String(), e.RegisteredAt.Format("2006-01-02 15:04"), e.RegisteredBy, e.Digest.Short(), commit, sig, e.Reason)
	}
	return t.Render()
}

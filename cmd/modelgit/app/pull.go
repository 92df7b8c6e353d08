package app

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/register"
)

// PullOptions are the inputs of `modelgit pull`.
type PullOptions struct {
	IO         *cmdutil.IOStreams
	Repository func() (*gitops.Repository, error)
	Ref, Dir   string
	Output     string
	Force      bool
}

// NewCmdPull returns `modelgit pull`.
func NewCmdPull(f *cmdutil.Factory, runF func(*PullOptions) error) *cobra.Command {
	opts := &PullOptions{IO: f.IOStreams, Repository: f.Repository}
	cmd := &cobra.Command{
		Use:   "pull MODEL[@VERSION] DIR",
		Short: "Fetch a version's artifacts from the store, verified",
		Long: `Write the artifacts of a model version into DIR under their registered
names. Every byte is checked against its digest as it is read; a file that
does not match is never left under its final name.

DIR must be empty or new. Artifacts are written into a temp directory
inside DIR and moved to their names only once all are verified, so a
failure or Ctrl-C leaves DIR as it was (the temp directory of a pull that
was killed is removed by the next one). DIR/` + register.PullRecord + ` names the
version and the files pulled; with --force, pull replaces exactly those
files (and any with a new artifact's name) and keeps other files, so no
file of another version is left beside the new ones. A version whose two
artifacts have one file name is refused (register refuses to make one).
On a terminal, progress is drawn on stderr.

` + versionForms + "\n",
		Example: "  modelgit pull fraud-detector@1.4.0+data.7 ./out\n  modelgit pull fraud-detector@staging ./out\n  modelgit pull fraud-detector@1.5.0+data.7 ./out --force   # replace the 1.4.0 files",
		Args:    cmdutil.ExactArgs(2, "a model version and a directory are required: modelgit pull MODEL[@VERSION] DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ref, opts.Dir = args[0], args[1]
			if runF != nil {
				return runF(opts)
			}
			return pullRun(cmd, opts)
		},
	}
	cmdutil.AddOutputFlag(cmd, &opts.Output, cmdutil.OutputText, cmdutil.OutputJSON)
	cmd.Flags().BoolVar(&opts.Force, "force", false, "write into a non-empty DIR, replacing the files a previous pull wrote there")
	return cmd
}

func pullRun(cmd *cobra.Command, opts *PullOptions) error {
	reg, err := opts.Repository()
	if err != nil {
		return err
	}
	v, err := resolveRef(opts.IO, reg, opts.Ref)
	if err != nil {
		return err
	}
	pulled, err := register.Pull(cmd.Context(), reg, v, opts.Dir, register.PullOptions{Force: opts.Force})
	if err != nil {
		return err
	}
	if opts.Output == cmdutil.OutputJSON {
		return cmdutil.PrintJSON(opts.IO.Out, pulled)
	}
	for _, p := range pulled {
		fmt.Fprintf(opts.IO.Out, "%-9s %s  %s\n", p.Kind, p.Digest, p.Dest)
	}
	noun := "artifacts"
	if len(pulled) == 1 {
		noun = "artifact"
	}
	fmt.Fprintf(opts.IO.Out, "pulled %s: %d %s verified\n", v.Name(), len(pulled), noun)
	return nil
}

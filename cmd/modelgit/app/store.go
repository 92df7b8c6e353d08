package app

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/register"
	"github.com/modelgit/modelgit/gitops/store"
)

// NewCmdStore returns `modelgit store`, the artifact-store commands.
func NewCmdStore(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store <command>",
		Short: "Work with artifact stores (file://, oci://)",
	}
	cmd.AddCommand(NewCmdStoreCopy(f, nil))
	return cmd
}

// StoreCopyOptions are the inputs of `modelgit store copy`.
type StoreCopyOptions struct {
	IO         *cmdutil.IOStreams
	Repository func() (*gitops.Repository, error)
	Src, Dst   string
	Output     string
}

// NewCmdStoreCopy returns `modelgit store copy`.
func NewCmdStoreCopy(f *cmdutil.Factory, runF func(*StoreCopyOptions) error) *cobra.Command {
	opts := &StoreCopyOptions{IO: f.IOStreams, Repository: f.Repository}
	cmd := &cobra.Command{
		Use:   "copy SRC DST",
		Short: "Mirror every registered version from one store to another",
		Long: `Copy every blob the versions registered at HEAD need from SRC to DST,
verified as read and as written, skipping what DST already has; to an OCI
registry, also each version's OCI manifest (tag MODEL-VERSION, + written _).
It prints how many blobs and manifests were copied and how many DST had
already: running it again copies nothing. file:// paths are relative to
the repository root.

Copying an OCI store onto itself republishes every version's manifest
from the blobs it holds, copying no blob.`,
		Example: "  modelgit store copy file://.modelgit/store oci://registry.example.com/ml/models",
		Args:    cmdutil.ExactArgs(2, "a source and a destination store are required: modelgit store copy SRC DST"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Src, opts.Dst = args[0], args[1]
			if runF != nil {
				return runF(opts)
			}
			reg, err := opts.Repository()
			if err != nil {
				return err
			}
			src, err := reg.OpenStore(opts.Src)
			if err != nil {
				return err
			}
			dst, err := reg.OpenStore(opts.Dst)
			if err != nil {
				return err
			}
			var prog store.Progress
			if opts.IO.IsStderrTTY() {
				prog = store.NewBar(opts.IO.ErrOut)
			}
			res, err := register.CopyStore(cmd.Context(), reg, src, dst, prog)
			if err != nil {
				return err
			}
			if opts.Output == cmdutil.OutputJSON {
				return cmdutil.PrintJSON(opts.IO.Out, res)
			}
			fmt.Fprintf(opts.IO.Out, "%s %s, %s in %s: %d copied, %d already there", opts.IO.ColorScheme().SuccessIcon(),
				count(res.Versions, "version"), count(res.Blobs, "blob"), res.Destination, res.BlobsCopied, res.BlobsSkipped)
			if res.Published > 0 || res.AlreadyPublished > 0 {
				fmt.Fprintf(opts.IO.Out, "; %s published, %d already there", count(res.Published, "version manifest"), res.AlreadyPublished)
			}
			fmt.Fprintln(opts.IO.Out)
			return nil
		},
	}
	cmdutil.AddOutputFlag(cmd, &opts.Output, cmdutil.OutputText, cmdutil.OutputJSON)
	return cmd
}

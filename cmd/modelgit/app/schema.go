package app

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/manifests"
)

// SchemaOptions are the inputs of `modelgit schema`.
type SchemaOptions struct {
	IO   *cmdutil.IOStreams
	Name string
}

// NewCmdSchema returns `modelgit schema`.
func NewCmdSchema(f *cmdutil.Factory, runF func(*SchemaOptions) error) *cobra.Command {
	opts := &SchemaOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "schema KIND",
		Short: "Print the JSON Schema of a manifest or of a file register reads",
		Long: `Print the JSON Schema (draft 2020-12) of KIND, for editors and CI:

  config, model, modelversion, release   the manifests modelgit.yaml, models/M/model.yaml,
                                         models/M/versions/V.yaml, environments/E/M.yaml
  features                               register --schema (the feature schema)
  inference                              register --config (inputs and outputs)
  metrics, params                        register --metrics, --params

Unknown fields are refused, by the schema and by modelgit. docs/formats.md
has a complete example of each file.`,
		Example:   "  modelgit schema features > features.schema.json\n  modelgit schema modelversion",
		Args:      cmdutil.ExactArgs(1, "which schema? one of "+strings.Join(manifests.SchemaNames(), ", ")),
		ValidArgs: manifests.SchemaNames(),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			return schemaRun(opts)
		},
	}
	return cmd
}

func schemaRun(opts *SchemaOptions) error {
	b, err := manifests.SchemaFile(opts.Name)
	if err != nil {
		return cmdutil.FlagErrorf("%v", err)
	}
	_, err = opts.IO.Out.Write(b)
	return err
}

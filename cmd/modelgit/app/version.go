package app

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
)

// VersionOptions holds what `modelgit version` needs.
type VersionOptions struct {
	IO *cmdutil.IOStreams
	// Output is "text", "json" or "yaml".
	Output string

	Version   string
	Commit    string
	GoVersion string
	Platform  string
}

// VersionInfo is what `modelgit version -o json|yaml` prints.
type VersionInfo struct {
	Version   string `json:"version" yaml:"version"`
	Commit    string `json:"commit" yaml:"commit"`
	GoVersion string `json:"goVersion" yaml:"goVersion"`
	Platform  string `json:"platform" yaml:"platform"`
}

// NewCmdVersion returns `modelgit version`. runF, when not nil, replaces
// versionRun (tests use it to check flag parsing).
func NewCmdVersion(f *cmdutil.Factory, runF func(*VersionOptions) error) *cobra.Command {
	opts := &VersionOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print modelgit's version, commit and Go version",
		Args:  cmdutil.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			opts.Version = f.Version
			opts.Commit = f.Commit
			opts.GoVersion = runtime.Version()
			opts.Platform = runtime.GOOS + "/" + runtime.GOARCH
			if runF != nil {
				return runF(opts)
			}
			return versionRun(opts)
		},
	}
	cmdutil.AddOutputFlag(cmd, &opts.Output, cmdutil.OutputText, cmdutil.OutputJSON, cmdutil.OutputYAML)
	return cmd
}

func versionRun(opts *VersionOptions) error {
	info := VersionInfo{
		Version:   opts.Version,
		Commit:    opts.Commit,
		GoVersion: opts.GoVersion,
		Platform:  opts.Platform,
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	if ok, err := cmdutil.PrintData(opts.IO.Out, opts.Output, info); ok {
		return err
	}
	_, err := fmt.Fprintf(opts.IO.Out, "modelgit version %s\ncommit: %s\ngo: %s %s\n",
		info.Version, info.Commit, info.GoVersion, info.Platform)
	return err
}

// buildVersion reads the version and commit from the build information:
// the main module's version when built with `go install …@vX`, else "dev";
// vcs.revision (with "-dirty" when modified) when built in a checkout.
func buildVersion() (version, commit string) {
	version = "dev"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return version, ""
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		version = v
	}
	var dirty bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if commit != "" && dirty {
		commit += "-dirty"
	}
	return version, commit
}

package cmdutil

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// Output formats commands commonly accept with AddOutputFlag.
const (
	OutputText  = "text"
	OutputTable = "table"
	OutputJSON  = "json"
	OutputYAML  = "yaml"
	OutputCSV   = "csv"
)

// AddOutputFlag registers -o/--output on cmd, storing into target. Only
// the allowed values are accepted (anything else is a FlagError listing
// them) and they are offered by shell completion. The first allowed value
// is the default.
func AddOutputFlag(cmd *cobra.Command, target *string, allowed ...string) {
	if len(allowed) == 0 {
		panic("cmdutil.AddOutputFlag: no allowed formats")
	}
	*target = allowed[0]
	v := &enumValue{target: target, allowed: allowed}
	cmd.Flags().VarP(v, "output", "o", fmt.Sprintf("output `format`: %s", strings.Join(allowed, ", ")))
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return allowed, cobra.ShellCompDirectiveNoFileComp
	})
}

// enumValue is a string flag restricted to a set of values.
type enumValue struct {
	target  *string
	allowed []string
}

var _ pflag.Value = (*enumValue)(nil)

func (e *enumValue) String() string { return *e.target }

func (e *enumValue) Type() string { return "string" }

func (e *enumValue) Set(s string) error {
	if !slices.Contains(e.allowed, s) {
		// pflag prefixes: invalid argument "xml" for "-o, --output" flag:
		return fmt.Errorf("valid values are %s", strings.Join(quoteEach(e.allowed), ", "))
	}
	*e.target = s
	return nil
}

// PrintJSON writes v as indented JSON with a trailing newline. HTML
// characters are not escaped. Map keys are sorted and struct fields keep
// their order, so the same value always prints the same bytes.
func PrintJSON(w io.Writer, v any) error {
	// Encoded compact, then indented by IndentJSON: what an Encoder with
	// SetIndent writes, in a third of json.Indent's time (a which answer
	// is 1.4 MB over a long history).
	compact, err := CompactJSON(v)
	if err != nil {
		return err
	}
	out := append(IndentJSON(make([]byte, 0, len(compact)*2), compact, 0), '\n')
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	return nil
}

// PrintYAML writes v as YAML (two-space indent, yaml struct tags). Give
// output types both json and yaml tags so both formats name fields alike.
func PrintYAML(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encoding YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("encoding YAML: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("writing YAML: %w", err)
	}
	return nil
}

// PrintData writes v in a machine format: "json" or "yaml". It returns
// handled=false for any other format, which the caller prints itself:
//
//	if ok, err := cmdutil.PrintData(out, opts.Output, v); ok {
//		return err
//	}
func PrintData(w io.Writer, format string, v any) (handled bool, err error) {
	switch format {
	case OutputJSON:
		return true, PrintJSON(w, v)
	case OutputYAML:
		return true, PrintYAML(w, v)
	}
	return false, nil
}

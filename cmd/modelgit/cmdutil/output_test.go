package cmdutil

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestPrintJSON(t *testing.T) {
	var buf bytes.Buffer
	v := map[string]any{"b": "<a&b>", "a": []int{1, 2}}
	if err := PrintJSON(&buf, v); err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": \"<a&b>\"\n}\n"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
	if err := PrintJSON(&buf, func() {}); err == nil || !strings.HasPrefix(err.Error(), "encoding JSON: ") {
		t.Errorf("unencodable value: err = %v", err)
	}
}

func TestPrintYAML(t *testing.T) {
	type inner struct {
		Name string   `yaml:"name"`
		Tags []string `yaml:"tags,omitempty"`
	}
	var buf bytes.Buffer
	if err := PrintYAML(&buf, struct {
		Z     int     `yaml:"z"`
		Items []inner `yaml:"items"`
	}{Z: 1, Items: []inner{{Name: "a", Tags: []string{"x"}}}}); err != nil {
		t.Fatal(err)
	}
	want := "z: 1\nitems:\n  - name: a\n    tags:\n      - x\n"
	if buf.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestPrintData(t *testing.T) {
	var buf bytes.Buffer
	if ok, err := PrintData(&buf, "table", 1); ok || err != nil || buf.Len() != 0 {
		t.Errorf("table: handled=%v err=%v out=%q; want not handled", ok, err, buf.String())
	}
	if ok, err := PrintData(&buf, "json", 1); !ok || err != nil || buf.String() != "1\n" {
		t.Errorf("json: handled=%v err=%v out=%q", ok, err, buf.String())
	}
}

func TestAddOutputFlag(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    string
		wantErr string
	}{
		{name: "default is the first", want: "table"},
		{name: "short", args: []string{"-o", "json"}, want: "json"},
		{name: "long", args: []string{"--output=csv"}, want: "csv"},
		{name: "invalid", args: []string{"-o", "xml"}, wantErr: `invalid argument "xml" for "-o, --output" flag: valid values are "table", "json", "csv"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }, SilenceErrors: true, SilenceUsage: true}
			cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return FlagErrorWrap(err) })
			AddOutputFlag(cmd, &got, "table", "json", "csv")
			cmd.SetArgs(tt.args)
			err := cmd.Execute()
			if tt.wantErr != "" {
				var fe *FlagError
				if err == nil || err.Error() != tt.wantErr || !errors.As(err, &fe) {
					t.Fatalf("err = %v, want FlagError %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("output = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAddOutputFlagCompletion(t *testing.T) {
	var out string
	root := &cobra.Command{Use: "root"}
	sub := &cobra.Command{Use: "sub", RunE: func(*cobra.Command, []string) error { return nil }}
	AddOutputFlag(sub, &out, "text", "json")
	root.AddCommand(sub)
	var buf bytes.Buffer
	root.SetOut(&buf)
	root.SetErr(io.Discard)
	root.SetArgs([]string{cobra.ShellCompNoDescRequestCmd, "sub", "-o", ""})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "text\njson\n:4\n") {
		t.Errorf("completion = %q, want text, json and NoFileComp (:4)", buf.String())
	}
}

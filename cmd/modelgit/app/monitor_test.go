package app

import (
	"strings"
	"testing"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
)

func TestMonitorFlags(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
		check   func(t *testing.T, o *MonitorOptions)
	}{
		{name: "env required", args: nil, wantErr: "--env is required"},
		{name: "defaults", args: []string{"--env", "production"}, check: func(t *testing.T, o *MonitorOptions) {
			if o.Env != "production" || o.Act || o.Output != cmdutil.OutputTable || o.Prometheus == "" {
				t.Errorf("options = %+v", o)
			}
		}},
		{name: "act json", args: []string{"--env", "production", "--act", "-o", "json", "--prometheus", "http://p:9090", "--at", "2026-03-01T12:00:00Z", "--model", "fraud"}, check: func(t *testing.T, o *MonitorOptions) {
			if !o.Act || o.Output != cmdutil.OutputJSON || o.Prometheus != "http://p:9090" || o.At != "2026-03-01T12:00:00Z" || o.Model != "fraud" {
				t.Errorf("options = %+v", o)
			}
		}},
		{name: "bad time", args: []string{"--env", "production", "--at", "yesterday"}, wantErr: "not an RFC 3339 time"},
		{name: "bad output", args: []string{"--env", "production", "-o", "csv"}, wantErr: "csv"},
		{name: "no args", args: []string{"production"}, wantErr: "production"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ios, _, _, _ := cmdutil.Test()
			f := &cmdutil.Factory{IOStreams: ios}
			var got *MonitorOptions
			cmd := NewCmdMonitor(f, func(o *MonitorOptions) error { got = o; return nil })
			cmd.SetArgs(tc.args)
			cmd.SetOut(ios.Out)
			cmd.SetErr(ios.ErrOut)
			err := cmd.Execute()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, got)
		})
	}
}

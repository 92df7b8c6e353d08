package app

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops/prom/promtest"
)

// TestEveryJSONOutput runs every command that has -o json (found by
// walking the command tree for an output flag offering json) against a
// registry with promotions, a canary, an open pull request and monitored
// metrics, and checks what docs/json.md promises: keys are camelCase and
// numbers are JSON numbers, never numeric text. A command with -o json
// and no case here fails the test: add one.
func TestEveryJSONOutput(t *testing.T) {
	promtest.Need(t)
	m := newMonitorCLI(t)
	srv := promtest.Start(t, []promtest.Series{
		accuracy("dev", "0.1.1+data.1", 0.80),
		accuracy("staging", "0.1.0+data.1", 0.90),
		accuracy("staging", "0.1.1+data.1", 0.89),
	})
	weights := filepath.Join(t.TempDir(), "w.bin")
	if err := os.WriteFile(weights, []byte("weights 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	storeCopy := "file://" + filepath.Join(t.TempDir(), "copy")

	// In this order: promote opens the pull request merge and check judge;
	// rollback, which leaves its branch checked out, comes last.
	cases := []struct {
		path string
		args []string
	}{
		{"version", nil},
		{"doctor", nil},
		{"show", []string{"fraud@staging"}},
		{"history", []string{"fraud"}},
		{"diff", []string{"fraud@0.1.0+data.1", "fraud@latest"}},
		{"pull", []string{"fraud@latest", filepath.Join(t.TempDir(), "out")}},
		{"register", []string{"fraud", "--weights", weights, "--dry-run"}},
		{"verify", nil},
		{"store copy", []string{"file://.modelgit/store", storeCopy}},
		{"status", nil},
		{"render", []string{"--cluster", "gpu-staging"}},
		{"policy show", []string{"staging"}},
		{"audit", nil},
		{"which", []string{"--env", "staging"}},
		{"monitor", []string{"--env", "staging", "--prometheus", srv.URL, "--at", monitorAt.Format(time.RFC3339)}},
		{"promote", []string{"fraud@0.1.1", "--env", "staging"}},
		{"check", []string{"--pr", "{pr}"}},
		{"merge", []string{"--pr", "{pr}"}},
		{"rollback", []string{"fraud", "--env", "dev", "--no-push"}},
	}

	f := &cmdutil.Factory{IOStreams: &cmdutil.IOStreams{}}
	root := NewRootCmd(f)
	var withJSON []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if fl := c.Flags().Lookup("output"); fl != nil && strings.Contains(fl.Usage, cmdutil.OutputJSON) {
			withJSON = append(withJSON, strings.TrimPrefix(c.CommandPath(), root.Name()+" "))
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for _, p := range withJSON {
		if !slices.ContainsFunc(cases, func(c struct {
			path string
			args []string
		}) bool {
			return c.path == p
		}) {
			t.Errorf("modelgit %s has -o json but no case in TestEveryJSONOutput: add one", p)
		}
	}

	pr := "" // the pull request promote opened
	for _, c := range cases {
		args := append(append(strings.Fields(c.path), c.args...), "-o", "json")
		for i := range args {
			args[i] = strings.ReplaceAll(args[i], "{pr}", pr)
		}
		stdout, stderr, code := m.modelgit(args...)
		var v any
		if err := json.Unmarshal([]byte(stdout), &v); err != nil {
			t.Errorf("modelgit %s (exit %d): stdout is not JSON: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, err, stdout, stderr)
			continue
		}
		t.Logf("modelgit %s: exit %d, %d bytes of JSON", strings.Join(args, " "), code, len(stdout))
		if c.path == "promote" {
			var res struct {
				PullRequest struct{ Number int } `json:"pullRequest"`
			}
			_ = json.Unmarshal([]byte(stdout), &res)
			pr = fmt.Sprint(res.PullRequest.Number)
		}
		for _, p := range jsonProblems(v, c.path) {
			t.Errorf("modelgit %s: %s", strings.Join(args, " "), p)
		}
	}
}

// camelCase is what a key of modelgit's own JSON looks like.
var camelCase = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)

// numericText is a string that should have been a JSON number.
var numericText = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$`)

// dataKeys are the fields whose keys are names someone chose (a metric,
// a hyperparameter, a label, a feature, a Kubernetes annotation), not
// modelgit's: their keys are kept as written (docs/json.md).
var dataKeys = map[string]bool{
	"metrics": true, "params": true, "features": true, "labels": true, "annotations": true,
	"libraries": true, "inputs": true, "outputs": true, "nodeSelector": true, "matchLabels": true,
	"limits": true, "requests": true, "data": true, "stringData": true, "selector": true,
}

// quantities are Kubernetes fields whose values are quantities, strings
// by the Kubernetes API's own convention ("1", "500m").
var quantities = map[string]bool{"limits": true, "requests": true}

// jsonProblems lists the keys of v that are not camelCase and the strings
// that hold a number, each with its path.
func jsonProblems(v any, path string) []string {
	var out []string
	// parent is the key v is under; quantity says v is a value of a
	// quantities map.
	var walk func(v any, path, parent string, quantity bool)
	walk = func(v any, path, parent string, quantity bool) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if !dataKeys[parent] && !camelCase.MatchString(k) {
					out = append(out, fmt.Sprintf("key %q at %s is not camelCase", k, path))
				}
				walk(e, path+"."+k, k, quantities[parent])
			}
		case []any:
			for i, e := range x {
				walk(e, fmt.Sprintf("%s[%d]", path, i), parent, false)
			}
		case string:
			if numericText.MatchString(x) && !quantity {
				out = append(out, fmt.Sprintf("%s is the text %q: a number must be a JSON number", path, x))
			}
		}
	}
	walk(v, path, "", false)
	return out
}

package action_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"gopkg.in/yaml.v3"

	"github.com/modelgit/modelgit/templates"
)

// actionYML is the Action's metadata at the module root.
const actionYML = "../action.yml"

// firstParty is the only action used without a commit SHA: this project's
// own, referenced by release tag (docs/action.md says why).
const firstParty = "modelgit/modelgit@"

// generatedWorkflows returns the workflows `modelgit init` writes.
func generatedWorkflows(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := fs.WalkDir(templates.Init(), ".github/workflows", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templates.Init(), p)
		out[p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("modelgit init writes no workflow")
	}
	return out
}

// lint runs actionlint (no shellcheck, no network) on content, in the
// project rooted at root when root is not "", and fails on any finding.
func lint(t *testing.T, root, path string, content []byte) {
	t.Helper()
	if errs, out := lintErrs(t, root, path, content); len(errs) > 0 {
		t.Errorf("actionlint found %d problems in %s:\n%s", len(errs), path, out)
	}
}

func lintErrs(t *testing.T, root, path string, content []byte) ([]*actionlint.Error, string) {
	t.Helper()
	var out bytes.Buffer
	l, err := actionlint.NewLinter(&out, &actionlint.LinterOptions{Oneline: true, WorkingDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var proj *actionlint.Project
	if root != "" {
		if proj, err = actionlint.NewProject(root); err != nil {
			t.Fatal(err)
		}
	}
	errs, err := l.Lint(path, content, proj)
	if err != nil {
		t.Fatal(err)
	}
	return errs, out.String()
}

// TestActionlintIsLive makes sure the linter configured here does find
// the mistakes it guards against: an untrusted expression in run:, an
// unknown input of the action, a bad cron.
func TestActionlintIsLive(t *testing.T) {
	bad := `on:
  pull_request:
  schedule:
    - cron: "61 * * * *"
jobs:
  j:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ github.event.pull_request.title }}"
      - uses: ./
        with:
          no-such-input: x
`
	root := t.TempDir()
	meta, err := os.ReadFile(actionYML)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(root, ".github", "workflows"), 0o755)
	os.Mkdir(filepath.Join(root, ".git"), 0o755)
	os.WriteFile(filepath.Join(root, "action.yml"), meta, 0o644)
	wf := filepath.Join(root, ".github", "workflows", "bad.yml")
	os.WriteFile(wf, []byte(bad), 0o644)
	errs, out := lintErrs(t, root, wf, []byte(bad))
	for _, kind := range []string{"expression", "action", "events"} {
		found := false
		for _, e := range errs {
			found = found || e.Kind == kind
		}
		if !found {
			t.Errorf("actionlint did not report a %q problem:\n%s", kind, out)
		}
	}
}

func TestGeneratedWorkflowsPassActionlint(t *testing.T) {
	for p, b := range generatedWorkflows(t) {
		t.Run(p, func(t *testing.T) {
			lint(t, "", p, b)
			lintLocal(t, p, b)
		})
	}
}

// lintLocal lints the workflow b (at path p in a repository) with the
// action resolved locally, so actionlint also checks every `with:`
// against action.yml's inputs.
func lintLocal(t *testing.T, p string, b []byte) {
	t.Helper()
	root := t.TempDir()
	meta, err := os.ReadFile(actionYML)
	if err != nil {
		t.Fatal(err)
	}
	wf := filepath.Join(root, filepath.FromSlash(p))
	os.MkdirAll(filepath.Dir(wf), 0o755)
	os.Mkdir(filepath.Join(root, ".git"), 0o755)
	os.WriteFile(filepath.Join(root, "action.yml"), meta, 0o644)
	local := regexp.MustCompile(`modelgit/modelgit@\S+`).ReplaceAll(b, []byte("./"))
	os.WriteFile(wf, local, 0o644)
	lint(t, root, wf, local)
}

// TestActionStepsPassActionlint lints the composite action's steps as the
// steps of a workflow whose workflow_dispatch inputs mirror the action's
// inputs (actionlint v1.7.12 lints workflows, not action metadata).
func TestActionStepsPassActionlint(t *testing.T) {
	var meta struct {
		Inputs map[string]struct {
			Description string `yaml:"description"`
			Default     string `yaml:"default"`
		} `yaml:"inputs"`
		Runs struct {
			Steps []yaml.Node `yaml:"steps"`
		} `yaml:"runs"`
	}
	readYAML(t, actionYML, &meta)
	inputs := map[string]any{}
	for name, in := range meta.Inputs {
		inputs[name] = map[string]any{"description": in.Description, "type": "string", "required": false}
	}
	wf := map[string]any{
		"on":          map[string]any{"workflow_dispatch": map[string]any{"inputs": inputs}},
		"permissions": map[string]any{},
		"jobs": map[string]any{"action": map[string]any{
			"runs-on": "ubuntu-latest",
			"steps":   meta.Runs.Steps,
		}},
	}
	out, err := yaml.Marshal(wf)
	if err != nil {
		t.Fatal(err)
	}
	lint(t, "", "action-as-workflow.yml", out)
}

func readYAML(t *testing.T, path string, v any) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("parsing %s: %v", path, err)
	}
	return b
}

// TestActionMetadata validates action.yml's structure: a composite action
// with the documented inputs and outputs, shells on every run step,
// pinned third-party actions.
func TestActionMetadata(t *testing.T) {
	var meta struct {
		Name    string                       `yaml:"name"`
		Desc    string                       `yaml:"description"`
		Inputs  map[string]map[string]string `yaml:"inputs"`
		Outputs map[string]map[string]string `yaml:"outputs"`
		Runs    struct {
			Using string           `yaml:"using"`
			Steps []map[string]any `yaml:"steps"`
		} `yaml:"runs"`
	}
	readYAML(t, actionYML, &meta)
	if meta.Name == "" || meta.Desc == "" || meta.Runs.Using != "composite" {
		t.Fatalf("action.yml: name %q, description %q, runs.using %q; want a named composite action", meta.Name, meta.Desc, meta.Runs.Using)
	}
	for _, in := range []string{"command", "pr", "environment", "prometheus", "act", "signing-key", "signer-name", "signer-email", "token", "version"} {
		if meta.Inputs[in]["description"] == "" {
			t.Errorf("input %q missing or undocumented", in)
		}
	}
	if meta.Inputs["token"]["default"] != "${{ github.token }}" || meta.Inputs["command"]["default"] != "check" {
		t.Errorf("defaults: token %q, command %q", meta.Inputs["token"]["default"], meta.Inputs["command"]["default"])
	}
	if meta.Outputs["passed"]["value"] != "${{ steps.run.outputs.passed }}" {
		t.Errorf("output passed = %q", meta.Outputs["passed"]["value"])
	}
	ids := map[string]bool{}
	for i, st := range meta.Runs.Steps {
		if id, ok := st["id"].(string); ok {
			ids[id] = true
		}
		if _, ok := st["run"]; ok {
			if st["shell"] == nil {
				t.Errorf("step %d runs a script without shell (composite actions need one)", i)
			}
		}
		if uses, ok := st["uses"].(string); ok {
			checkPinned(t, "action.yml", uses)
		}
	}
	if !ids["run"] {
		t.Error("no step with id run, which output passed reads")
	}
}

var pinnedSHA = regexp.MustCompile(`^[\w.-]+/[\w./-]+@[0-9a-f]{40}$`)

// checkPinned fails unless uses is a third-party action pinned by commit
// SHA, or this project's own action by version tag.
func checkPinned(t *testing.T, file, uses string) {
	t.Helper()
	switch {
	case strings.HasPrefix(uses, firstParty):
		if !regexp.MustCompile(`^modelgit/modelgit@v\d+(\.\d+){0,2}$`).MatchString(uses) {
			t.Errorf("%s: %q: the modelgit action is referenced by release tag vN[.N.N]", file, uses)
		}
	case strings.HasPrefix(uses, "./"), strings.HasPrefix(uses, "docker://"):
		t.Errorf("%s: %q: a user repository has no local copy of the action", file, uses)
	case !pinnedSHA.MatchString(uses):
		t.Errorf("%s: %q: third-party actions are pinned by a 40-hex commit SHA", file, uses)
	}
}

// runBlocks returns every `run:` value in a YAML document, with its line.
func runBlocks(n *yaml.Node) []*yaml.Node {
	var out []*yaml.Node
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == "run" && n.Content[i+1].Kind == yaml.ScalarNode {
					out = append(out, n.Content[i+1])
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	return out
}

// TestNoExpressionsInRun scans action.yml and every generated workflow:
// no `${{` inside a run: script (inputs and event fields go through env:),
// every `uses:` pinned, and every job with explicit permissions, each
// permission with a comment saying why.
func TestNoExpressionsInRun(t *testing.T) {
	files := generatedWorkflows(t)
	b, err := os.ReadFile(actionYML)
	if err != nil {
		t.Fatal(err)
	}
	files["action.yml"] = b
	for name, content := range files {
		var doc yaml.Node
		if err := yaml.Unmarshal(content, &doc); err != nil {
			t.Fatalf("parsing %s: %v", name, err)
		}
		runs := runBlocks(&doc)
		if len(runs) == 0 && name == "action.yml" {
			t.Errorf("%s: no run: step found; the scan is broken", name)
		}
		for _, r := range runs {
			if strings.Contains(r.Value, "${{") {
				t.Errorf("%s:%d: run: interpolates an expression; pass it through env:", name, r.Line)
			}
		}
		for _, m := range regexp.MustCompile(`(?m)^\s*-?\s*uses:\s*(\S+)`).FindAllSubmatch(content, -1) {
			checkPinned(t, name, string(m[1]))
		}
		if name == "action.yml" {
			continue
		}
		checkPermissions(t, name, &doc)
	}
}

// checkPermissions: the workflow grants nothing by default and each job
// lists its permissions, each with a line comment.
func checkPermissions(t *testing.T, name string, doc *yaml.Node) {
	t.Helper()
	root := doc.Content[0]
	top := mapValue(root, "permissions")
	if top == nil || top.Kind != yaml.MappingNode || len(top.Content) != 0 {
		t.Errorf("%s: top-level permissions must be {} (each job asks for its own)", name)
	}
	jobs := mapValue(root, "jobs")
	if jobs == nil {
		t.Fatalf("%s: no jobs", name)
	}
	for i := 0; i+1 < len(jobs.Content); i += 2 {
		job := jobs.Content[i].Value
		perms := mapValue(jobs.Content[i+1], "permissions")
		if perms == nil || perms.Kind != yaml.MappingNode || len(perms.Content) == 0 {
			t.Errorf("%s: job %s has no explicit permissions", name, job)
			continue
		}
		for j := 0; j+1 < len(perms.Content); j += 2 {
			k, v := perms.Content[j], perms.Content[j+1]
			if strings.TrimSpace(strings.TrimPrefix(v.LineComment, "#")) == "" {
				t.Errorf("%s:%d: job %s permission %s: %s has no comment saying why", name, k.Line, job, k.Value, v.Value)
			}
		}
		if mapValue(jobs.Content[i+1], "concurrency") == nil {
			t.Errorf("%s: job %s has no concurrency group", name, job)
		}
	}
	on := mapValue(root, "on")
	for _, ev := range []string{"pull_request", "pull_request_review", "schedule"} {
		if mapValue(on, ev) == nil {
			t.Errorf("%s: not triggered by %s", name, ev)
		}
	}
	if mapValue(on, "pull_request_target") != nil {
		t.Errorf("%s: pull_request_target runs untrusted PRs with a write token", name)
	}
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// TestScanCatchesExpressionInRun makes sure the scan would fail on the
// mistake it guards against.
func TestScanCatchesExpressionInRun(t *testing.T) {
	var doc yaml.Node
	src := "steps:\n  - run: |\n      echo \"${{ github.event.pull_request.title }}\"\n"
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	runs := runBlocks(&doc)
	if len(runs) != 1 || !strings.Contains(runs[0].Value, "${{") {
		t.Fatalf("scan missed the expression: %v", runs)
	}
}

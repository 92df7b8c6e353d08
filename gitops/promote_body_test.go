package gitops_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/promote"
	"github.com/modelgit/modelgit/gitops/register"
	"github.com/modelgit/modelgit/manifests"
)

// registerModel registers one version of model per metrics JSON, each
// with other weights, pushes main and returns the versions.
func (p *promoteFixture) registerModel(model string, labels map[string]string, metrics ...string) []string {
	p.t.Helper()
	var vs []string
	for i, m := range metrics {
		s := base
		s.weights = fmt.Sprintf("weights of %s, %d\n", model, i)
		s.metrics = m
		o := p.options(s)
		o.Model, o.Framework, o.Labels = model, "sklearn=1.5.2", labels
		res, err := register.Register(ctx, p.reg, o)
		if err != nil {
			p.t.Fatalf("registering %s: %v", model, err)
		}
		vs = append(vs, res.Version.Manifest.Version.String())
	}
	git(p.t, p.root, "push", "-q", "origin", "main")
	p.reopen()
	return vs
}

// editedFile returns the committed file rel of the fixture's work tree
// with old replaced by new once, failing the test when old is not there.
func (p *promoteFixture) editedFile(rel, old, new string) string {
	p.t.Helper()
	b, err := os.ReadFile(filepath.Join(p.root, rel))
	if err != nil {
		p.t.Fatal(err)
	}
	edited := strings.Replace(string(b), old, new, 1)
	if edited == string(b) {
		p.t.Fatalf("%s has no %q:\n%s", rel, old, b)
	}
	return edited
}

// commitFile writes (or, with appendTo, appends to) a file of the clone,
// commits it signed and pushes main.
func (p *promoteFixture) commitFile(rel, content string, appendTo bool) {
	p.t.Helper()
	f := filepath.Join(p.root, rel)
	if appendTo {
		b, err := os.ReadFile(f)
		if err != nil {
			p.t.Fatal(err)
		}
		content = string(b) + content
	}
	writeFile(p.t, f, content)
	git(p.t, p.root, "add", rel)
	git(p.t, p.root, "commit", "-q", "-S", "-m", "edit "+rel)
	git(p.t, p.root, "push", "-q", "origin", "main")
	p.reopen()
}

// TestPromoteBodyMetricDirections: the metric table of the pull request
// judges each metric the way the gates do: the policy's direction, then
// model.yaml's, then the metric's name. A declared-lower metric that rises
// is marked ↓ with a warning.
func TestPromoteBodyMetricDirections(t *testing.T) {
	p := newPromoteFixture(t)
	vs := p.registerModel("scorer", nil, `{"fpr": 0.1, "drift": 0.1, "recall": 0.8}`, `{"fpr": 0.2, "drift": 0.2, "recall": 0.9}`)
	p.commitFile("models/scorer/model.yaml", "metrics:\n  fpr: lower\n", true)
	p.commitFile("policies/dev.yaml", "apiVersion: modelgit.dev/v1alpha1\nkind: PromotionPolicy\nmetrics:\n  drift:\n    direction: lower\n", false)
	res, err := p.promote("scorer@"+vs[0], "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	p.mergeAndPull(res.PR)
	res, err = p.promote("scorer@"+vs[1], "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| drift | ↓ | 0.1 | 0.2 | +0.1 (+100.0%) ⚠️ |", // the policy says lower
		"| fpr | ↓ | 0.1 | 0.2 | +0.1 (+100.0%) ⚠️ |",   // model.yaml says lower
		"| recall | ↑ | 0.8 | 0.9 | +0.1 (+12.5%) ✅ |",  // the name says nothing: higher
	} {
		if !strings.Contains(res.PR.Body, want) {
			t.Errorf("PR body lacks %q:\n%s", want, res.PR.Body)
		}
	}
}

// TestPromoteBodyNamesClusters: the rendered changes say on which
// clusters they apply, each with the GPU defaults it patches in.
func TestPromoteBodyNamesClusters(t *testing.T) {
	p := newPromoteFixture(t)
	p.commitFile("modelgit.yaml", "  - name: cpu-prod\n    environment: production\n    gpu:\n      count: 0\n", true)
	res, err := promote.Promote(ctx, p.reg, promote.PromoteOptions{
		Ref: "fraud@0.1.0+data.1", Env: "production", Force: true,
		Identity: gitops.Identity{Signature: alice, Signer: p.signer}, Forge: p.forge, Remote: "origin",
	})
	if err != nil {
		t.Fatal(err)
	}
	body := res.PR.Body
	for _, want := range []string{
		"Flux applies `rendered/production/` on each of these clusters",
		"| `gpu-prod` | 1 × `nvidia.com/gpu` | `nvidia.com/gpu.present=true` | `nvidia.com/gpu Exists:NoSchedule` | `nvidia` |",
		"| `cpu-prod` | none (CPU only) | – | – | – |",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("PR body lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "gpu-staging") {
		t.Errorf("PR body names a cluster of another environment:\n%s", body)
	}
	// The table comes before the diff it qualifies.
	if i, j := strings.Index(body, "| `gpu-prod` |"), strings.Index(body, "```diff"); i < 0 || j < i {
		t.Errorf("the cluster table is not above the diff:\n%s", body)
	}
}

// TestPromoteBodyDiffHunks: the rendered diff shows the changed lines with
// three lines of context in hunks, not whole files.
func TestPromoteBodyDiffHunks(t *testing.T) {
	p := newPromoteFixture(t)
	p.inOrder([]string{"fraud@0.1.0+data.1"}, "dev")
	res, err := p.promote("fraud@0.1.1+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	body := res.PR.Body
	rendered := git(t, p.fake.GitDir(), "show", res.Branch+":rendered/dev/fraud.yaml")
	block := diffBlock(t, body, "rendered/dev/fraud.yaml")
	if !strings.Contains(block, "@@ -") || !strings.Contains(block, "\n-") || !strings.Contains(block, "\n+") {
		t.Errorf("the diff of rendered/dev/fraud.yaml has no hunk:\n%s", block)
	}
	// The file's first line is more than three lines from any change.
	if first, _, _ := strings.Cut(rendered, "\n"); strings.Contains(block, first) {
		t.Errorf("the diff shows %q, an unchanged line far from the changes: the whole file, not hunks:\n%s", first, block)
	}
	for _, l := range strings.Split(strings.TrimSuffix(block, "\n"), "\n") {
		if !strings.HasPrefix(l, "@@ ") && !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "-") && !strings.HasPrefix(l, "+") {
			t.Errorf("diff line %q is neither a hunk header nor a context, removed or added line", l)
		}
	}
}

// diffBlock is the ```diff block of path in a pull request body.
func diffBlock(t *testing.T, body, path string) string {
	t.Helper()
	_, rest, ok := strings.Cut(body, "<code>"+path+"</code>")
	if !ok {
		t.Fatalf("PR body has no diff of %s:\n%s", path, body)
	}
	_, rest, _ = strings.Cut(rest, "```diff\n")
	block, _, _ := strings.Cut(rest, "```")
	return block
}

// TestBulkPromoteBodyStaysUnderGitHubLimit: a bulk promotion of 45 models
// writes a body GitHub accepts (at most 65,536 characters): every model
// keeps its heading, and the diff is cut with a note pointing at the
// commit.
func TestBulkPromoteBodyStaysUnderGitHubLimit(t *testing.T) {
	p := newPromoteFixture(t)
	const n = 45
	var releases []string
	for i := range n {
		m := fmt.Sprintf("bulk%02d", i)
		o := p.options(base)
		o.Model, o.Framework, o.Labels = m, "sklearn=1.5.2", map[string]string{"team": "risk"}
		res, err := register.Register(ctx, p.reg, o)
		if err != nil {
			t.Fatal(err)
		}
		// In dev by hand (one commit instead of 45 pull requests).
		rel, err := gitops.NextRelease(nil, m, "dev", res.Version.Manifest.Version, res.Version.Digest, gitops.ReleaseChange{})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := manifests.Marshal(rel)
		if err != nil {
			t.Fatal(err)
		}
		f := manifests.ReleaseFile("dev", m)
		writeFile(t, filepath.Join(p.root, f), string(raw))
		releases = append(releases, f)
	}
	git(t, p.root, "add", "environments")
	git(t, p.root, "commit", "-q", "-S", "-m", "45 models in dev")
	p.reopen()
	if _, err := p.reg.WriteRendered(); err != nil {
		t.Fatal(err)
	}
	git(t, p.root, "add", "rendered", "clusters")
	git(t, p.root, "commit", "-q", "-S", "-m", "render dev")
	git(t, p.root, "push", "-q", "origin", "main")
	p.reopen()

	res, err := promote.BulkPromote(ctx, p.reg, promote.BulkOptions{
		Selector: map[string]string{"team": "risk"}, VersionFrom: "dev",
		PromoteOptions: promote.PromoteOptions{Env: "staging", Identity: gitops.Identity{Signature: alice, Signer: p.signer}, Forge: p.forge, Remote: "origin"},
	})
	if err != nil {
		t.Fatal(err)
	}
	body := res.PR.Body
	if len([]rune(body)) > 65536 || len(body) > 60000 {
		t.Fatalf("the body has %d bytes (%d characters): over the limit", len(body), len([]rune(body)))
	}
	for i := range n {
		if h := fmt.Sprintf("\n## bulk%02d 0.1.0+data.1 → staging", i); !strings.Contains("\n"+body, h) {
			t.Errorf("the body lacks the heading %q", h)
		}
	}
	if !strings.Contains(body, "more files: see the commit") || !strings.Contains(body, "### Before merge") {
		t.Errorf("the body has no note for the files cut, or lost its end:\n%s", body[len(body)-2000:])
	}
	// Nothing is lost from the commit: every release is there.
	files := git(t, p.fake.GitDir(), "show", "--name-only", "--format=", res.Branch)
	for _, f := range releases {
		if s := strings.Replace(f, "/dev/", "/staging/", 1); !strings.Contains(files, s) {
			t.Errorf("the commit lacks %s", s)
		}
	}
	t.Logf("body: %d bytes for %d changed files", len(body), len(res.Changed))
}

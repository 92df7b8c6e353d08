package gitops_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/audit"
	"github.com/modelgit/modelgit/gitops/check"
	"github.com/modelgit/modelgit/gitops/forge"
)

// TestPromoteDirtyTreeAdvice: uncommitted release edits are committed
// before modelgit render (which renders committed releases only); a work
// tree dirty only under rendered/ or clusters/ gets the render-then-commit
// advice.
func TestPromoteDirtyTreeAdvice(t *testing.T) {
	p := newPromoteFixture(t)
	p.inOrder([]string{"fraud@0.1.0+data.1"}, "dev")
	const file = "environments/dev/fraud.yaml"
	for _, tc := range []struct {
		name, path, content string
		want, notWant       string
	}{
		{"release edit", file, p.editedFile(file, "strategy: replace", "strategy: replace\n"),
			"commit them (git commit), then run modelgit render and commit its output, or stash them", "commit them (modelgit render"},
		{"rendered only", "rendered/dev/extra.yaml", "kind: ConfigMap\n",
			"commit them (modelgit render, then git commit) or stash them", "then run modelgit render and commit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			writeFile(t, filepath.Join(p.root, tc.path), tc.content)
			t.Cleanup(func() {
				git(t, p.root, "checkout", "-q", "--", ".")
				git(t, p.root, "clean", "-qfd")
			})
			_, err := p.promote("fraud@0.1.1+data.1", "dev", gitops.ReleaseChange{})
			t.Logf("error: %v", err)
			mustContain(t, err, tc.path, tc.want)
			if strings.Contains(err.Error(), tc.notWant) {
				t.Errorf("error gives the advice %q", tc.notWant)
			}
		})
	}
}

// TestAuditUnknownModel: --model naming no model is refused with the
// registered ones, like --env; a model removed from models/ since is
// still audited, whether it has events or only history.
func TestAuditUnknownModel(t *testing.T) {
	p := newPromoteFixture(t)
	p.inOrder([]string{"fraud@0.1.0+data.1"}, "dev")
	p.registerModel("churn", nil, `{"accuracy": 0.9}`)

	_, err := audit.Audit(ctx, p.reg, audit.AuditOptions{Model: "nope"})
	t.Logf("error: %v", err)
	mustContain(t, err, `unknown model "nope"`, "registered: churn, fraud")
	if !errors.Is(err, gitops.ErrUnknownModel) {
		t.Errorf("err = %v, want ErrUnknownModel", err)
	}
	_, err = audit.Audit(ctx, p.reg, audit.AuditOptions{Env: "dev", Model: "nope"})
	mustContain(t, err, `unknown model "nope"`)

	// Both models removed: fraud has events, churn only its registration.
	git(t, p.root, "rm", "-q", "-r", "models")
	git(t, p.root, "commit", "-q", "-S", "-m", "remove the models")
	p.reopen()
	rep, err := audit.Audit(ctx, p.reg, audit.AuditOptions{Model: "fraud"})
	if err != nil {
		t.Fatalf("auditing a removed model with events: %v", err)
	}
	if len(rep.Events) == 0 {
		t.Error("a removed model's events are gone")
	}
	if _, err := audit.Audit(ctx, p.reg, audit.AuditOptions{Env: "staging", Model: "churn"}); err != nil {
		t.Errorf("auditing a removed model without events: %v", err)
	}
	_, err = audit.Audit(ctx, p.reg, audit.AuditOptions{Model: "nope"})
	mustContain(t, err, `unknown model "nope"`, "registered: none")
}

// TestMergeUnknownPullRequest: merging a pull request the forge does not
// know says so and where to look, keeping forge.ErrNotFound.
func TestMergeUnknownPullRequest(t *testing.T) {
	p := newPromoteFixture(t)
	p.commitFile("modelgit.yaml", "forge:\n  type: github\n  repository: acme/models\n", true)
	_, err := check.Merge(ctx, p.reg, check.MergeOptions{CheckOptions: check.CheckOptions{PR: 4, Forge: p.forge, Remote: "origin"}})
	t.Logf("error: %v", err)
	mustContain(t, err, "pull request #4 not found in acme/models", "gh pr list")
	if !errors.Is(err, forge.ErrNotFound) {
		t.Errorf("err = %v, want forge.ErrNotFound", err)
	}
}

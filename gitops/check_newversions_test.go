package gitops_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/check"
	"github.com/modelgit/modelgit/gitops/forge"
)

// TestCheckRefusesTwoNewVersionsInOneRelease: a promotion pull request
// whose release is edited by hand to start serving two new versions at
// once (0.1.0 at 1% and 0.1.1, which never ran anywhere, at 99%) must
// fail: gates, order and soak judge one candidate per release, so the
// second version would reach production unjudged.
func TestCheckRefusesTwoNewVersionsInOneRelease(t *testing.T) {
	g := newGoverned(t, "")
	g.inOrder([]string{"fraud@0.1.0+data.1"}, "dev", "staging")
	res, err := g.promote("fraud@0.1.0+data.1", "production", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	g.checkoutBranch(res.Branch)
	rel := filepath.Join(g.root, "environments", "production", "fraud.yaml")
	b, err := os.ReadFile(rel)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "versions:")
	d0 := s[strings.Index(s, "digest:")+len("digest:"):]
	d0 = strings.TrimSpace(d0[:strings.Index(d0, "\n")])
	v1, err := g.reg.Resolve("fraud@0.1.1+data.1")
	if err != nil {
		t.Fatal(err)
	}
	s = s[:i] + "versions:\n  - version: 0.1.0+data.1\n    digest: " + d0 + "\n    role: stable\n    weight: 1\n  - version: 0.1.1+data.1\n    digest: " + v1.Digest.String() + "\n    role: canary\n    weight: 99\n"
	s = strings.Replace(s, "strategy: replace", "strategy: canary", 1)
	writeFile(t, rel, s)
	git(t, g.root, "add", "-A")
	git(t, g.root, "commit", "-q", "-S", "-m", "canary release")
	g.reopen()
	files, err := g.reg.Render()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		writeFile(t, filepath.Join(g.root, f.Path), string(f.Content))
	}
	git(t, g.root, "add", "-A")
	git(t, g.root, "commit", "-q", "-S", "-m", "render the canary")
	git(t, g.root, "push", "-q", "origin", "HEAD:"+res.Branch)
	head := git(t, g.root, "rev-parse", "HEAD")
	g.fake.AddReview(res.PR.Number, "carol", forge.ReviewApproved, head)
	g.fake.AddReview(res.PR.Number, "dave", forge.ReviewApproved, head)
	g.reopen()
	rep := g.check(res.PR.Number)
	if rep.Passed {
		t.Fatalf("check passed a release that starts serving two new versions:\n%+v", rep.Items)
	}
	order := item(t, rep, check.CheckOrder)
	if order.Status != check.CheckFail || !strings.Contains(strings.Join(order.Details, "\n"), "starts serving 2 new versions at once (0.1.0+data.1, 0.1.1+data.1)") {
		t.Errorf("order = %s %v, want a failure naming both new versions", order.Status, order.Details)
	}
	found := false
	for _, a := range rep.Annotations {
		found = found || (a.File == "environments/production/fraud.yaml" && strings.Contains(a.Message, "one new version"))
	}
	if !found {
		t.Errorf("no annotation on environments/production/fraud.yaml: %+v", rep.Annotations)
	}
}

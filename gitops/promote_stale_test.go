package gitops_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/promote"
)

// TestPromoteRunningVersionOverStaleRendering: the base's rendered/ was
// left stale by hand while dev already runs fraud 0.1.0. Promoting that
// version again is "nothing to promote", with a warning to run modelgit
// render; it does not open a pull request that only carries the base's
// drift under the model's name.
func TestPromoteRunningVersionOverStaleRendering(t *testing.T) {
	p := newPromoteFixture(t)
	p.inOrder([]string{"fraud@0.1.0+data.1"}, "dev")
	p.commitFile("rendered/dev/fraud.yaml", "# edited by hand\n", true)
	var log bytes.Buffer
	reg, err := gitops.Open(p.root, gitops.WithLogger(gitops.WriterLogger{W: &log}))
	if err != nil {
		t.Fatal(err)
	}
	before := len(p.fake.PullRequests())
	res, err := promote.Promote(ctx, reg, promote.PromoteOptions{
		Ref: "fraud@0.1.0+data.1", Env: "dev",
		Identity: gitops.Identity{Signature: alice, Signer: p.signer},
		Forge:    p.forge, Remote: "origin",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Unchanged || res.PR != nil || !res.Commit.IsZero() {
		t.Errorf("result: unchanged=%v PR=%v commit=%s; want nothing promoted", res.Unchanged, res.PR, res.Commit)
	}
	if n := len(p.fake.PullRequests()); n != before {
		t.Errorf("%d pull requests, want %d: none opened", n, before)
	}
	for _, want := range []string{"dev already runs this release", "rendered/dev/fraud.yaml", "run modelgit render and commit the result"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, log.String())
		}
	}
}

package gitops_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/modelgit/modelgit/manifests"
)

// TestRenderRemovesWhatARemovedReleaseRendered: once a release file is
// removed and committed, its rendered file is stale ("left from a removed
// release") and render deletes it, so that nothing in rendered/ looks
// applied while Flux prunes its objects.
func TestRenderRemovesWhatARemovedReleaseRendered(t *testing.T) {
	p := newPromoteFixture(t)
	p.inOrder([]string{"fraud@0.1.0+data.1"}, "dev")
	git(t, p.root, "rm", "-q", manifests.ReleaseFile("dev", "fraud"))
	git(t, p.root, "commit", "-q", "--no-gpg-sign", "-m", "remove the dev release")
	reg := p.reopen()
	stale, err := reg.StaleRendered()
	if err != nil {
		t.Fatal(err)
	}
	rendered := manifests.RenderedFile("dev", "fraud")
	found := false
	for _, s := range stale {
		if s.Path == rendered {
			found = s.Extra && s.Problem() == "is left from a removed release"
		}
	}
	if !found {
		t.Fatalf("stale = %+v; want %s marked extra", stale, rendered)
	}
	changed, err := reg.WriteRendered()
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) == 0 {
		t.Fatal("render changed nothing")
	}
	if _, err := os.Stat(filepath.Join(p.root, rendered)); !os.IsNotExist(err) {
		t.Errorf("%s is still there after render (stat: %v)", rendered, err)
	}
}

package gitops_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/promote"
	"github.com/modelgit/modelgit/manifests"
)

// TestPromotionRefusesAStoreInsideTheClone: with the default store, inside
// the clone, and an environment that declares no clusterStore, promote,
// bulk promote and rollback (which monitor's rollback pull request goes
// through) refuse before writing anything, naming modelgit.yaml, the
// environment and both ways out; an environment with a clusterStore is
// promoted (#13).
func TestPromotionRefusesAStoreInsideTheClone(t *testing.T) {
	f := newPromoteFixture(t)
	cfgPath := filepath.Join(f.root, manifests.ConfigFile)
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	// dev keeps its clusterStore; staging loses it.
	cfg := strings.Replace(string(raw), "  - name: staging\n    clusterStore: "+testClusterStore+"\n", "  - name: staging\n", 1)
	if cfg == string(raw) {
		t.Fatalf("modelgit.yaml of the fixture has no clusterStore under staging:\n%s", raw)
	}
	writeFile(t, cfgPath, cfg)
	git(t, f.root, "commit", "-q", "-S", "-am", "staging: no clusterStore")
	f.reopen()

	wantRefusal := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, promote.ErrLocalStore) {
			t.Fatalf("%s: err = %v, want ErrLocalStore", what, err)
		}
		for _, want := range []string{"modelgit.yaml: store file://.modelgit/store is a directory inside this clone", `environment "staging"`, "no cluster can read", "oci://REGISTRY/REPO", "modelgit store copy", "clusterStore: pvc://CLAIM/PATH"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v\nlacks %q", what, err, want)
			}
		}
	}
	head := git(t, f.root, "rev-parse", "HEAD")
	id := gitops.Identity{Signature: alice, Signer: f.signer}
	_, err = promote.Promote(ctx, f.reg, promote.PromoteOptions{Ref: "fraud@0.1.0+data.1", Env: "staging", Force: true, Identity: id})
	wantRefusal("promote", err)
	_, err = promote.Rollback(ctx, f.reg, promote.RollbackOptions{Model: "fraud", Env: "staging", PromoteOptions: promote.PromoteOptions{Identity: id}})
	wantRefusal("rollback", err)
	_, err = promote.BulkPromote(ctx, f.reg, promote.BulkOptions{Selector: map[string]string{}, VersionFrom: "dev", PromoteOptions: promote.PromoteOptions{Env: "staging", Identity: id}})
	wantRefusal("bulk promote", err)
	if got := git(t, f.root, "rev-parse", "HEAD"); got != head {
		t.Errorf("a refused promotion moved HEAD")
	}
	if out := git(t, f.root, "branch", "--list", "modelgit/*"); out != "" {
		t.Errorf("a refused promotion left branches: %s", out)
	}

	res, err := f.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatalf("promote to dev, which declares a clusterStore: %v", err)
	}
	out := git(t, f.root, "show", res.Commit.String()+":"+manifests.RenderedFile("dev", "fraud"))
	if !strings.Contains(out, "storageUri: "+testClusterStore+"/blobs/sha256/") {
		t.Errorf("dev does not render its clusterStore:\n%s", out)
	}
}

package gitops_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/check"
	"github.com/modelgit/modelgit/gitops/register"
	"github.com/modelgit/modelgit/manifests"
)

// TestCheckFailsAStorageURIInsideTheClone: a pull request that drops the
// environment's clusterStore and renders the storage URI of the store
// inside the clone (file://.modelgit/store/…) is in sync with its
// releases, but no cluster can load it: check fails it, naming the line
// and saying what to do (#13).
func TestCheckFailsAStorageURIInsideTheClone(t *testing.T) {
	g := newGoverned(t, "")
	res, err := g.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	git(t, g.root, "fetch", "-q", "origin", res.Branch)
	cfg := git(t, g.root, "show", "FETCH_HEAD:"+manifests.ConfigFile)
	rendered := manifests.RenderedFile("dev", "fraud")
	out := git(t, g.root, "show", "FETCH_HEAD:"+rendered)
	if !strings.Contains(cfg, "clusterStore: "+testClusterStore) || !strings.Contains(out, testClusterStore+"/blobs/sha256/") {
		t.Fatalf("the fixture does not render its clusterStore:\n%s", out)
	}
	g.pushOnBranch(res.Branch, manifests.ConfigFile, strings.ReplaceAll(cfg, "    clusterStore: "+testClusterStore+"\n", "")+"\n")
	g.pushOnBranch(res.Branch, rendered, strings.ReplaceAll(out, testClusterStore, "file://.modelgit/store")+"\n")
	rep := g.check(res.PR.Number)
	wantStatus(t, rep, check.CheckRendered, check.CheckFail,
		rendered+":", "storage URI file://.modelgit/store/blobs/sha256/", "which no cluster can read",
		`environment "dev"`, "oci://REGISTRY/REPO", "clusterStore")
	if it := item(t, rep, check.CheckRendered); strings.Contains(it.Summary, "out of sync") || strings.Contains(strings.Join(it.Details, "\n"), "differs from what the releases render to") {
		t.Errorf("the edited rendering is not in sync with the releases, so the test proves nothing: %s\n%s", it.Summary, strings.Join(it.Details, "\n"))
	}
	found := false
	for _, a := range rep.Annotations {
		found = found || a.File == rendered && a.Line > 0 && strings.Contains(a.Message, "inside a clone")
	}
	if !found {
		t.Errorf("no annotation on %s: %+v", rendered, rep.Annotations)
	}
}

// TestStoreOutOfReach: from a fresh clone (CI) a file:// store inside the
// clone that registered does not exist at all. check says it cannot
// reach the store and what to configure, not that every artifact is
// missing; verify says so in one finding; pull says so with what to do.
// A blob really missing from a store that exists still says missing
// ("artifacts: a blob missing from the store" in check_gaps_test.go,
// TestPullFromALocalStoreSaysSo) (#13).
func TestStoreOutOfReach(t *testing.T) {
	g := newGoverned(t, "")
	reg := g.registerOnBranch("register")
	if err := os.RemoveAll(filepath.Join(g.root, ".modelgit", "store")); err != nil {
		t.Fatal(err)
	}
	g.reopen()
	rep, err := check.Check(ctx, g.reg, check.CheckOptions{Base: "main", Head: "register"})
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, rep, check.CheckArtifacts, check.CheckFail, "cannot reach the store file://", "does not exist", "in CI configure a shared store", "store: in modelgit.yaml", "MODELGIT_REGISTRY_HOST", "MODELGIT_REGISTRY_USERNAME", "MODELGIT_REGISTRY_PASSWORD")
	if it := item(t, rep, check.CheckArtifacts); strings.Contains(it.Summary+strings.Join(it.Details, "\n"), "missing") || strings.Contains(strings.Join(it.Details, "\n"), "not in the store") {
		t.Errorf("artifacts says missing for a store it cannot reach: %s\n%s", it.Summary, strings.Join(it.Details, "\n"))
	}

	v, err := check.Verify(ctx, g.reg, check.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var store []string
	for _, f := range v.Findings {
		if f.Check == "artifact" {
			t.Errorf("verify reports a blob missing from a store it cannot reach: %s", f)
		}
		if f.Check == "store" {
			store = append(store, f.Message)
		}
	}
	if len(store) != 1 || !strings.Contains(store[0], "cannot reach the store file://") {
		t.Errorf("verify store findings = %q, want one saying it cannot reach the store", store)
	}

	git(t, g.root, "checkout", "-q", "register")
	g.reopen()
	_, err = register.Pull(ctx, g.reg, reg.Version, t.TempDir(), register.PullOptions{})
	mustContain(t, err, "cannot reach the store file://", "does not exist", "is local to one clone", "modelgit store copy file://.modelgit/store")
	git(t, g.root, "checkout", "-q", "main")
}

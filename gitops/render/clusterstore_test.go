package render

import (
	"strings"
	"testing"

	"github.com/modelgit/modelgit/manifests"
)

// TestClusterStore: a file:// store is rendered as the environment's
// clusterStore + /blobs/sha256/<hex>, in InferenceServices and in the
// Deployments' STORAGE_URI; environments without one keep the store's
// own URL (#13).
func TestClusterStore(t *testing.T) {
	in := testInput()
	in.Config.Store = "file://.modelgit/store"
	in.Config.Environments[2].ClusterStore = "pvc://models-store/modelgit/"
	hex := in.Versions[VersionKey("fraud", manifests.MustParseVersion("1.4.0+data.7"))].Artifacts.Weights.Digest.Hex()
	prod, err := Environment(in, "production")
	if err != nil {
		t.Fatal(err)
	}
	all := ""
	for _, f := range prod {
		all += string(f.Content)
	}
	if want := "storageUri: pvc://models-store/modelgit/blobs/sha256/" + hex; !strings.Contains(all, want) {
		t.Errorf("production does not render %q", want)
	}
	if !strings.Contains(all, "value: pvc://models-store/modelgit/blobs/sha256/") {
		t.Error("the Deployments' STORAGE_URI does not use the clusterStore")
	}
	if strings.Contains(all, "file://") {
		t.Error("production still renders a file:// URI")
	}
	dev, err := Environment(in, "dev")
	if err != nil {
		t.Fatal(err)
	}
	devAll := ""
	for _, f := range dev {
		devAll += string(f.Content)
	}
	if !strings.Contains(devAll, "storageUri: file://.modelgit/store/blobs/sha256/"+hex) {
		t.Error("dev (no clusterStore) does not render the store's URL")
	}
	// An OCI store is rendered as oci:// whatever the environment says.
	in.Config.Store = "oci://ghcr.io/acme/models"
	prod, err = Environment(in, "production")
	if err != nil {
		t.Fatal(err)
	}
	if c := string(prod[0].Content) + string(prod[len(prod)-1].Content); strings.Contains(c, "pvc://") {
		t.Error("an OCI store rendered the clusterStore")
	}
}

func TestLocalStoreProblem(t *testing.T) {
	cfg := &manifests.Config{Environments: []manifests.Environment{{Name: "dev"}, {Name: "prod", ClusterStore: "pvc://store"}}}
	for _, tc := range []struct {
		store, env string
		problem    bool
	}{
		{"", "dev", true},
		{"file://.modelgit/store", "dev", true},
		{"file://.modelgit/store", "prod", false},
		{"file:///mnt/models", "dev", false},
		{"oci://ghcr.io/acme/models", "dev", false},
		{"file:///work/clone/.modelgit/store", "dev", true}, // inside the clone
		{"file:///work/clone-shared/store", "dev", false},
	} {
		cfg.Store = tc.store
		got := LocalStoreProblem(cfg, tc.env, "/work/clone")
		if (got != "") != tc.problem {
			t.Errorf("LocalStoreProblem(%q, %s) = %q", tc.store, tc.env, got)
		}
		if got != "" && (!strings.Contains(got, "clusterStore: pvc://") || !strings.Contains(got, "oci://REGISTRY/REPO") || !strings.Contains(got, "modelgit store copy") || !strings.Contains(got, "modelgit.yaml") || !strings.Contains(got, `environment "`+tc.env+`"`)) {
			t.Errorf("the problem does not say what to do: %s", got)
		}
	}
}

// TestLocalStorageURIs finds the clone-local file:// URIs of a rendered
// file, with their lines, and leaves shared ones alone (#13).
func TestLocalStorageURIs(t *testing.T) {
	content := []byte("spec:\n  storageUri: file://.modelgit/store/blobs/sha256/ab\n  x: file:///mnt/models/blobs/sha256/cd\n        value: \"file:///repo/.modelgit/store/blobs/sha256/ef\"\n  y: pvc://c/p\n")
	uris, lines := LocalStorageURIs(content, "/repo")
	if want := []string{"file://.modelgit/store/blobs/sha256/ab", "file:///repo/.modelgit/store/blobs/sha256/ef"}; strings.Join(uris, " ") != strings.Join(want, " ") {
		t.Errorf("uris = %q, want %q", uris, want)
	}
	if len(lines) != 2 || lines[0] != 2 || lines[1] != 4 {
		t.Errorf("lines = %v, want [2 4]", lines)
	}
}

// TestModelcarProblem: an InferenceService whose storageUri is oci://
// (what promote pins for an OCI store) is what KServe runs as a modelcar,
// which modelgit's OCI artifact cannot be: said, with what to do. A
// Deployment's STORAGE_URI, or a file:// URI, is not (#13).
func TestModelcarProblem(t *testing.T) {
	in := testInput()
	in.Config.Store = "oci://ghcr.io/acme/models"
	prod, err := Environment(in, "production")
	if err != nil {
		t.Fatal(err)
	}
	found := ""
	for _, f := range prod {
		if p := ModelcarProblem(f.Content); p != "" && strings.Contains(string(f.Content), "kind: InferenceService") {
			found = p
		}
	}
	for _, want := range []string{"storageUri oci://ghcr.io/acme/models", "modelcar", "enableModelcar", "/models", "ClusterStorageContainer", "docs/oci.md", "serving.runtime: deployment"} {
		if !strings.Contains(found, want) {
			t.Errorf("ModelcarProblem = %q, lacks %q", found, want)
		}
	}
	for _, c := range []string{
		"kind: Deployment\n        - name: STORAGE_URI\n          value: oci://ghcr.io/acme/models@sha256:ab\n",
		"kind: InferenceService\n      storageUri: pvc://models/modelgit/blobs/sha256/ab\n",
	} {
		if p := ModelcarProblem([]byte(c)); p != "" {
			t.Errorf("ModelcarProblem(%q) = %q, want none", c, p)
		}
	}
}

package render

import (
	"bytes"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/modelgit/modelgit/manifests"
)

// docsOf parses a multi-document YAML stream.
func docsOf(t *testing.T, b []byte) []object {
	t.Helper()
	var out []object
	for _, d := range bytes.Split(b, []byte("\n---\n")) {
		var o object
		if err := yaml.Unmarshal(d, &o); err != nil {
			t.Fatalf("parsing %s: %v", d, err)
		}
		if o != nil {
			out = append(out, o)
		}
	}
	return out
}

func metaField(o object, key string) string {
	md, _ := o["metadata"].(map[string]any)
	s, _ := md[key].(string)
	return s
}

// TestClusterAppliesWithNamespaces: what Flux applies on each cluster
// (kustomize build clusters/<cluster>) is what kustomize-controller
// accepts: every namespaced object has a namespace, modelgit's objects are
// in their environment's namespace (modelgit.yaml's, else the
// environment's name), Flux's own objects stay in flux-system, and the
// environment's Namespace is part of the build, exempt from pruning.
func TestClusterAppliesWithNamespaces(t *testing.T) {
	files, err := All(testInput())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ cluster, ns string }{{"gpu-eu", "models"}, {"staging-1", "staging"}, {"dev-1", "dev"}} {
		t.Run(tt.cluster, func(t *testing.T) {
			out, err := BuildCluster(MapFS(files), tt.cluster)
			if err != nil {
				t.Fatal(err)
			}
			namespaces, models := 0, 0
			for _, o := range docsOf(t, out) {
				kind, name, ns := o["kind"].(string), metaField(o, "name"), metaField(o, "namespace")
				switch kind {
				case "Namespace":
					namespaces++
					if name != tt.ns || ns != "" {
						t.Errorf("Namespace %q (namespace %q), want %q, cluster-scoped", name, ns, tt.ns)
					}
					md := o["metadata"].(map[string]any)
					if a, _ := md["annotations"].(map[string]any); a[AnnotationPrune] != "disabled" {
						t.Errorf("Namespace annotations %v, want %s: disabled", a, AnnotationPrune)
					}
				case "GitRepository", "Kustomization":
					if ns != FluxNamespace {
						t.Errorf("%s %q in namespace %q, want %s", kind, name, ns, FluxNamespace)
					}
				default:
					models++
					if ns != tt.ns {
						t.Errorf("%s %q in namespace %q, want %q", kind, name, ns, tt.ns)
					}
				}
			}
			if namespaces != 1 {
				t.Errorf("%d Namespace objects, want 1", namespaces)
			}
			if tt.cluster == "gpu-eu" && models < 5 {
				t.Errorf("only %d model objects in the build", models)
			}
		})
	}
}

// TestValidateWantsNamespace: an object without a namespace is what
// kustomize-controller refused (issue 12); validation says so before a
// promotion commits it.
func TestValidateWantsNamespace(t *testing.T) {
	files, err := All(testInput())
	if err != nil {
		t.Fatal(err)
	}
	src := string(byPath(t, files)["rendered/production/fraud.yaml"])
	bad := strings.Replace(src, "  namespace: models\n", "", 1)
	if bad == src {
		t.Fatalf("rendered/production/fraud.yaml has no namespace:\n%s", src)
	}
	err = Validate([]byte(bad))
	if err == nil || !strings.Contains(err.Error(), `InferenceService "fraud" (document 1): metadata.namespace is missing`) {
		t.Errorf("Validate without a namespace = %v", err)
	}
}

// TestFluxSync: the cluster's Kustomization prunes, waits, retries and
// times out; its GitRepository verifies HEAD against the allowed-signers
// Secret.
func TestFluxSync(t *testing.T) {
	files, err := All(testInput())
	if err != nil {
		t.Fatal(err)
	}
	docs := docsOf(t, byPath(t, files)["clusters/gpu-eu/flux-system/gotk-sync.yaml"])
	if len(docs) != 2 {
		t.Fatalf("%d documents in gotk-sync.yaml, want 2", len(docs))
	}
	repo, ks := docs[0]["spec"].(map[string]any), docs[1]["spec"].(map[string]any)
	verify, _ := repo["verify"].(map[string]any)
	if verify["mode"] != "HEAD" || verify["secretRef"].(map[string]any)["name"] != AllowedSignersSecret {
		t.Errorf("GitRepository verify = %v", verify)
	}
	for k, want := range map[string]any{"prune": true, "wait": true, "interval": "10m0s", "retryInterval": "2m0s", "timeout": "5m0s", "path": "./clusters/gpu-eu"} {
		if ks[k] != want {
			t.Errorf("Kustomization spec.%s = %v, want %v", k, ks[k], want)
		}
	}
}

func TestFluxURL(t *testing.T) {
	forge := func(url string) *manifests.Config {
		return &manifests.Config{Forge: &manifests.Forge{Type: "github", Repository: "acme/models", URL: url}}
	}
	tests := []struct {
		name   string
		cfg    *manifests.Config
		origin string
		want   string
	}{
		{"github", forge(""), "", "https://github.com/acme/models.git"},
		{"enterprise", forge("https://ghe.example.com/api/v3/"), "", "https://ghe.example.com/acme/models.git"},
		{"http forge stays http", forge("http://127.0.0.1:8080/api/v3/"), "", "http://127.0.0.1:8080/acme/models.git"},
		{"flux.url wins", &manifests.Config{Forge: forge("").Forge, Flux: &manifests.Flux{URL: "ssh://git@github.com/acme/models.git"}}, "https://x/y.git", "ssh://git@github.com/acme/models.git"},
		{"origin https without token", &manifests.Config{}, "https://x-access-token:secret@git.example.com/acme/models.git", "https://git.example.com/acme/models.git"},
		{"origin scp-like", &manifests.Config{}, "git@github.com:acme/models.git", "ssh://git@github.com/acme/models.git"},
		{"origin ssh keeps user", &manifests.Config{}, "ssh://git:pw@github.com/acme/models.git", "ssh://git@github.com/acme/models.git"},
		{"origin file", &manifests.Config{}, "file:///srv/models.git", "file:///srv/models.git"},
		{"none", &manifests.Config{}, "", ""},
	}
	for _, tt := range tests {
		if got := FluxURL(tt.cfg, tt.origin); got != tt.want {
			t.Errorf("%s: FluxURL = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestClusterRefusesUnclonableURL: a file:// origin rendered a
// GitRepository Flux cannot clone; rendering now says to set flux.url.
func TestClusterRefusesUnclonableURL(t *testing.T) {
	in := testInput()
	in.RepoURL = "file:///srv/models.git"
	_, err := Cluster(in, "gpu-eu")
	if err == nil || !strings.Contains(err.Error(), `rendering cluster "gpu-eu": Flux's GitRepository: URL "file:///srv/models.git" is not one Flux can clone`) || !strings.Contains(err.Error(), "set flux.url in modelgit.yaml") {
		t.Errorf("Cluster with a file:// URL = %v", err)
	}
}

// TestFluxSecretRef: flux.secretRef gives a private repository's clone
// credentials to the GitRepository; without it there is none.
func TestFluxSecretRef(t *testing.T) {
	in := testInput()
	files, err := Cluster(in, "gpu-eu")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(files[0].Content), "secretRef:\n      name: git-") {
		t.Fatalf("a secretRef without flux.secretRef:\n%s", files[0].Content)
	}
	in.Config.Flux = &manifests.Flux{SecretRef: "git-credentials"}
	files, err = Cluster(in, "gpu-eu")
	if err != nil {
		t.Fatal(err)
	}
	spec := docsOf(t, files[0].Content)[0]["spec"].(map[string]any)
	if ref, _ := spec["secretRef"].(map[string]any); ref["name"] != "git-credentials" {
		t.Errorf("GitRepository spec = %v, want secretRef git-credentials", spec)
	}
}

package render

import (
	"bytes"
	"errors"
	"flag"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/modelgit/modelgit/manifests"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

func byPath(t *testing.T, files []File) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	for _, f := range files {
		if _, dup := m[f.Path]; dup {
			t.Fatalf("file %q generated twice", f.Path)
		}
		m[f.Path] = f.Content
	}
	return m
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("reading golden file (run go test -run %s -update to create it): %v", t.Name(), err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (run go test -update to accept):\n--- got\n%s", t.Name(), p, got)
	}
}

func TestGolden(t *testing.T) {
	files, err := All(testInput())
	if err != nil {
		t.Fatal(err)
	}
	m := byPath(t, files)
	tests := []struct{ golden, path string }{
		{"replace.yaml", "rendered/production/fraud.yaml"},
		{"canary.yaml", "rendered/production/ranker.yaml"},
		{"canary-deployment.yaml", "rendered/production/3d-vision.yaml"},
		{"blue-green.yaml", "rendered/production/search.yaml"},
		{"ab.yaml", "rendered/production/pricing.yaml"},
		{"env-kustomization.yaml", "rendered/production/kustomization.yaml"},
		{"cluster-gpu-kustomization.yaml", "clusters/gpu-eu/kustomization.yaml"},
		{"cluster-nogpu-kustomization.yaml", "clusters/dev-1/kustomization.yaml"},
		{"gotk-sync.yaml", "clusters/gpu-eu/flux-system/gotk-sync.yaml"},
		{"flux-system-kustomization.yaml", "clusters/gpu-eu/flux-system/kustomization.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			got, ok := m[tt.path]
			if !ok {
				t.Fatalf("no file %q rendered", tt.path)
			}
			if !bytes.HasPrefix(got, []byte(Header)) {
				t.Errorf("%s does not start with %q", tt.path, Header)
			}
			checkGolden(t, tt.golden, got)
		})
	}
	t.Run("build-gpu-eu.yaml", func(t *testing.T) {
		out, err := BuildCluster(MapFS(files), "gpu-eu")
		if err != nil {
			t.Fatal(err)
		}
		checkGolden(t, "build-gpu-eu.yaml", out)
	})
}

func TestDeterministic(t *testing.T) {
	first, err := All(testInput())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		in := testInput()
		r := rand.New(rand.NewPCG(uint64(i), 7))
		r.Shuffle(len(in.Releases), func(a, b int) { in.Releases[a], in.Releases[b] = in.Releases[b], in.Releases[a] })
		again, err := All(in)
		if err != nil {
			t.Fatal(err)
		}
		if len(again) != len(first) {
			t.Fatalf("run %d: %d files, first run %d", i, len(again), len(first))
		}
		for j := range first {
			if first[j].Path != again[j].Path || !bytes.Equal(first[j].Content, again[j].Content) {
				t.Fatalf("run %d: file %d differs: %q vs %q", i, j, first[j].Path, again[j].Path)
			}
		}
		b1, _ := BuildCluster(MapFS(first), "gpu-eu")
		b2, _ := BuildCluster(MapFS(again), "gpu-eu")
		if !bytes.Equal(b1, b2) {
			t.Fatalf("run %d: BuildCluster output differs", i)
		}
	}
}

func TestRenderedObjectsValidate(t *testing.T) {
	files, err := All(testInput())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f.Path, "kustomization.yaml") {
			continue
		}
		if err := Validate(f.Content); err != nil {
			t.Errorf("%s: %v", f.Path, err)
		}
	}
	for _, c := range []string{"dev-1", "gpu-eu", "staging-1"} {
		out, err := BuildCluster(MapFS(files), c)
		if err != nil {
			t.Fatal(err)
		}
		if err := Validate(out); err != nil {
			t.Errorf("cluster %s: %v", c, err)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	files, err := All(testInput())
	if err != nil {
		t.Fatal(err)
	}
	m := byPath(t, files)
	tests := []struct {
		name, path, old, new, want string
	}{
		{"canary over 100", "rendered/production/ranker.yaml", "canaryTrafficPercent: 10", "canaryTrafficPercent: 150",
			`InferenceService "ranker" (document 1): spec.predictor.canaryTrafficPercent 150 is out of range; want 0 to 100`},
		{"canary not a number", "rendered/production/ranker.yaml", "canaryTrafficPercent: 10", "canaryTrafficPercent: ten",
			`spec.predictor.canaryTrafficPercent in body must be of type integer`},
		{"unknown field", "rendered/production/fraud.yaml", "storageUri:", "storageURI:",
			`spec.predictor.model.storageURI: unknown field`},
		{"negative weight", "rendered/production/3d-vision.yaml", "weight: 75", "weight: -1",
			`HTTPRoute "m-3d-vision" (document 5): spec.rules[0].backendRefs[0].weight in body should be greater than or equal to 0`},
		{"bad verify mode", "clusters/gpu-eu/flux-system/gotk-sync.yaml", "interval: 1m0s", "interval: 1",
			`GitRepository "flux-system" (document 1): spec.interval in body must be of type string`},
		{"label with plus", "rendered/production/fraud.yaml", "modelgit.dev/version: 1.4.0-data.7", "modelgit.dev/version: 1.4.0+data.7",
			`metadata.labels.modelgit.dev/version "1.4.0+data.7"`},
		{"deployment unknown field", "rendered/production/search.yaml", "replicas: 1", "replica: 1",
			`unknown field "replica"`},
		{"unknown kind", "rendered/production/fraud.yaml", "kind: InferenceService", "kind: InferenceServic",
			`no schema for serving.kserve.io/v1beta1 InferenceServic`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := string(m[tt.path])
			if !strings.Contains(src, tt.old) {
				t.Fatalf("%s has no %q", tt.path, tt.old)
			}
			err := Validate([]byte(strings.Replace(src, tt.old, tt.new, 1)))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want a *ValidationError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate error:\n%v\nwant it to contain:\n%s", err, tt.want)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(in *Input)
		want   string
	}{
		{"unregistered version", func(in *Input) { delete(in.Versions, "fraud@1.4.0+data.7") },
			`rendering "environments/dev/fraud.yaml": version 1.4.0+data.7 of model "fraud" is not registered; want models/fraud/versions/1.4.0+data.7.yaml`},
		{"digest mismatch", func(in *Input) { in.Versions["fraud@1.4.0+data.7"].Reason = "edited after merge" },
			`version 1.4.0+data.7 is pinned to digest sha256:`},
		{"no image", func(in *Input) { in.Models["search"].Serving = &manifests.Serving{Format: "onnx"} },
			`strategy "blue-green" renders Deployments, and models/search/model.yaml has no serving.image`},
		{"no format", func(in *Input) {
			in.Models["ranker"].Serving = nil
			in.Versions["ranker@2.1.0"].Framework = nil
			for _, r := range in.Releases {
				if r.Model == "ranker" {
					for i := range r.Versions {
						r.Versions[i].Digest = manifests.Digest{}
					}
				}
			}
		}, `models/ranker/model.yaml sets no serving.format and version 2.1.0 names no framework`},
		{"bad role", func(in *Input) { in.Releases[1].Versions[0].Role = "active" },
			`versions[0].role: role "active" does not fit strategy "canary"`},
		{"unknown model", func(in *Input) { delete(in.Models, "pricing") }, `model "pricing" is not registered`},
		{"no repo URL", func(in *Input) { in.RepoURL = "" }, `rendering cluster "dev-1": no repository URL`},
		{"bad gpu", func(in *Input) { in.Config.Clusters[1].GPU.Count = 0 }, `rendering cluster "gpu-eu": gpu: resource "nvidia.com/gpu" and count 0 are not valid`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := testInput()
			tt.change(&in)
			_, err := All(in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("All error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestDNSName(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{[]string{"fraud"}, "fraud"},
		{[]string{"3d-vision", "v1-0-0"}, "m-3d-vision-v1-0-0"},
		{[]string{strings.Repeat("a", 60), "v1-2-3"}, strings.Repeat("a", 52) + "-"},
	}
	for _, tt := range tests {
		got := dnsName(tt.in...)
		if !strings.HasPrefix(got, tt.want) || len(got) > 63 {
			t.Errorf("dnsName(%q) = %q, want prefix %q and at most 63 characters", tt.in, got, tt.want)
		}
	}
	if a, b := dnsName(strings.Repeat("a", 60), "v1-2-3"), dnsName(strings.Repeat("a", 60), "v1-2-4"); a == b {
		t.Errorf("long names collide: %q", a)
	}
}

// normalise re-encodes a YAML stream document by document with sorted
// keys, so outputs can be compared regardless of field order and style.
func normalise(t *testing.T, b []byte) []string {
	t.Helper()
	objs, err := splitDocs(b)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, o := range objs {
		y, err := yaml.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(y))
	}
	return out
}

func kustomizeCLI(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("kustomize")
	if err != nil {
		t.Fatal("kustomize not found on PATH; install with: GOBIN=$PWD/.bin go install sigs.k8s.io/kustomize/kustomize/v5@v5.8.2 (scripts/test.sh does)")
	}
	return p
}

// TestKustomizeCLIAgrees checks BuildCluster, on both its paths, against
// the real kustomize CLI over the same files on disk.
func TestKustomizeCLIAgrees(t *testing.T) {
	cli := kustomizeCLI(t)
	files, err := All(testInput())
	if err != nil {
		t.Fatal(err)
	}
	edited := append([]File(nil), files...)
	for i, f := range edited {
		if f.Path == "clusters/gpu-eu/kustomization.yaml" {
			// Hand-edited: BuildCluster must fall back to kustomize's library.
			edited[i] = File{Path: f.Path, Content: append(append([]byte(nil), f.Content...), "commonAnnotations:\n  team: risk\n"...)}
		}
	}
	for _, set := range []struct {
		name  string
		files []File
	}{{"generated", files}, {"edited", edited}} {
		root := t.TempDir()
		if err := Write(root, set.files); err != nil {
			t.Fatal(err)
		}
		for _, c := range []string{"dev-1", "gpu-eu", "staging-1"} {
			t.Run(set.name+"/"+c, func(t *testing.T) {
				cmd := exec.Command(cli, "build", filepath.Join("clusters", c))
				cmd.Dir = root
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				want, err := cmd.Output()
				if err != nil {
					t.Fatalf("kustomize build: %v\n%s", err, stderr.String())
				}
				got, err := BuildCluster(os.DirFS(root), c)
				if err != nil {
					t.Fatal(err)
				}
				g, w := normalise(t, got), normalise(t, want)
				if strings.Join(g, "---\n") != strings.Join(w, "---\n") {
					t.Errorf("BuildCluster differs from kustomize build:\n--- BuildCluster\n%s\n--- kustomize\n%s", strings.Join(g, "---\n"), strings.Join(w, "---\n"))
				}
				if set.name == "generated" && !bytes.Equal(got, want) {
					t.Errorf("BuildCluster output is not byte-identical to kustomize build's")
				}
				if set.name == "edited" && c == "gpu-eu" && !strings.Contains(string(got), "team: risk") {
					t.Errorf("edited kustomization not honoured")
				}
				// The krusty path must agree too.
				kobjs, err := krustyBuild(os.DirFS(root), manifests.ClusterDir(c))
				if err != nil {
					t.Fatal(err)
				}
				if err := sortLegacy(kobjs); err != nil {
					t.Fatal(err)
				}
				var kb []string
				for _, o := range kobjs {
					y, _ := yaml.Marshal(o)
					kb = append(kb, string(y))
				}
				if strings.Join(kb, "---\n") != strings.Join(w, "---\n") {
					t.Errorf("krusty path differs from kustomize build")
				}
			})
		}
	}
}

func TestWriteStaysInRoot(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	if err := Write(root, []File{{Path: "../../escape.yaml", Content: []byte("x")}}); err == nil {
		t.Error("a path out of root was written")
	}
	// A symbolic link (a clone's rendered/dev -> elsewhere) is refused,
	// naming it, and nothing is written where it points.
	if err := os.MkdirAll(filepath.Join(root, "rendered"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "rendered", "dev")); err != nil {
		t.Fatal(err)
	}
	err := Write(root, []File{{Path: "rendered/dev/fraud.yaml", Content: []byte("x")}})
	if err == nil || !strings.Contains(err.Error(), `rendered/dev is a symbolic link (to "`+outside+`")`) {
		t.Errorf("writing through a symbolic link: %v", err)
	}
	if err := Remove(root, "rendered/dev/fraud.yaml"); err == nil {
		t.Error("removing through a symbolic link: no error")
	}
	for _, dir := range []string{root, outside, filepath.Join(root, "rendered")} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if e.Name() != "rendered" && e.Name() != "dev" {
				t.Errorf("%s: %q written", dir, e.Name())
			}
		}
	}
}

func TestCRDSources(t *testing.T) {
	src, err := os.ReadFile("crds/SOURCE.md")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := crdFiles.ReadDir("crds")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, _ := crdFiles.ReadFile("crds/" + e.Name())
		line := "| " + e.Name() + " |"
		if !strings.Contains(string(src), line) {
			t.Errorf("crds/SOURCE.md does not name %s", e.Name())
		}
		if d := manifests.FromBytes(b).Hex(); !strings.Contains(string(src), d) {
			t.Errorf("crds/%s has sha256 %s, not the one in crds/SOURCE.md: update the table", e.Name(), d)
		}
	}
}

func BenchmarkBuildCluster1000(b *testing.B) {
	files, err := All(bigInput(1000))
	if err != nil {
		b.Fatal(err)
	}
	root := b.TempDir()
	if err := Write(root, files); err != nil {
		b.Fatal(err)
	}
	fsys := os.DirFS(root)
	b.ResetTimer()
	for b.Loop() {
		if _, err := BuildCluster(fsys, "gpu-eu"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRender1000(b *testing.B) {
	in := bigInput(1000)
	for b.Loop() {
		if _, err := All(in); err != nil {
			b.Fatal(err)
		}
	}
}

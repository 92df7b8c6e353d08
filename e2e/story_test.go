package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/gitops/forge/githubfake"
)

// The story's repository: one environment, served by one GPU cluster whose
// defaults every model there must carry.
const (
	model       = "fraud-detector"
	environment = "staging"
	clusterName = "gpu-staging"
	gpuResource = "nvidia.com/gpu"
	gpuCount    = "2"
	// reconcileTimeout bounds each wait for Flux; generous for a loaded
	// 2-core machine, and not an assertion on speed.
	reconcileTimeout = 4 * time.Minute
)

// storyConfig replaces the clusters and environments `modelgit init`
// writes, keeping its forge block (which names the fake).
const storyConfig = `apiVersion: modelgit.dev/v1alpha1
kind: Config
store: file://.modelgit/store
environments:
  - name: staging
    # The store is inside the clone: promotion refuses to render a
    # storageUri no cluster can read unless the environment says where its
    # clusters read the store (#13). The objects are applied, not run, so
    # no volume need hold it.
    clusterStore: pvc://modelgit-store/e2e
clusters:
  - name: gpu-staging
    environment: staging
    gpu:
      resource: nvidia.com/gpu
      count: 2
      nodeSelector:
        nvidia.com/gpu.product: A100-SXM4-80GB
      tolerations:
        - key: nvidia.com/gpu
          operator: Exists
          effect: NoSchedule
`

// The kinds modelgit renders for models; Flux's own kinds are left out of
// the comparison with the live state.
var modelKinds = []schema.GroupVersionKind{
	{Group: "serving.kserve.io", Version: "v1beta1", Kind: "InferenceService"},
	{Group: "apps", Version: "v1", Kind: "Deployment"},
	{Version: "v1", Kind: "Service"},
	{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"},
}

// story is a GitOps repository driven through the real modelgit CLI, on a
// fake GitHub whose repository a real Flux follows.
type story struct {
	t       testing.TB
	dir     string
	reg     string // the registry clone modelgit runs in
	work    string // training outputs
	bare    string // the forge's bare repository
	pubKey  string // the signer's public key line
	fake    *githubfake.Server
	front   *forgeFront
	c       *cluster
	weights []byte
}

// newStory lays out the registry: a signing key, `modelgit init` against
// the fake GitHub, the story's clusters, the model's first version, pushed.
func newStory(t testing.TB) *story {
	t.Helper()
	dir := t.TempDir()
	s := &story{t: t, dir: dir, reg: filepath.Join(dir, "registry"), work: filepath.Join(dir, "work"),
		bare: filepath.Join(dir, "github", "acme", "models.git")}
	for _, d := range []string{s.reg, s.work, filepath.Join(dir, "keys"), filepath.Dir(s.bare)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	key := filepath.Join(dir, "keys", "id_ed25519")
	s.run(dir, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "erin@example.com", "-f", key)
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	s.pubKey = strings.TrimSpace(string(pub))
	s.run(dir, "git", "init", "-q", "--bare", "-b", "main", s.bare)
	s.fake = githubfake.New(t, githubfake.Options{Owner: "acme", Repo: "models", GitDir: s.bare, DefaultBranch: "main"})
	s.front = startForgeFront(t, dir, s.fake.URL(), filepath.Join(dir, "github"))

	s.run(dir, "git", "init", "-q", "-b", "main", s.reg)
	for k, v := range map[string]string{
		"user.name": "Erin Engineer", "user.email": "erin@example.com",
		"gpg.format": "ssh", "user.signingkey": key + ".pub",
		"gpg.ssh.allowedSignersFile": filepath.Join(s.reg, "policies", "allowed_signers"),
	} {
		s.git("config", k, v)
	}
	s.mg("init", "--github", "acme/models", "--github-url", "http://"+s.front.Addr()+"/api/v3/")
	cfg, err := os.ReadFile(filepath.Join(s.reg, "modelgit.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, forgeBlock, ok := strings.Cut(string(cfg), "\nforge:")
	if !ok {
		t.Fatalf("modelgit init wrote no forge block:\n%s", cfg)
	}
	s.writeFile(filepath.Join(s.reg, "modelgit.yaml"), storyConfig+"forge:"+forgeBlock)
	s.mg("render")
	s.git("add", "-A")
	s.git("commit", "-q", "-S", "-m", "One GPU cluster for staging, the story's")

	// Training outputs, as a pipeline's publishing stage has them.
	s.weights = make([]byte, 64<<10)
	for i := range s.weights {
		s.weights[i] = byte(i * 7)
	}
	files := map[string]string{
		"preprocess.pkl": "scaler: standard\n",
		"features.json":  `{"features": [{"name": "amount", "type": "float"}]}`,
		"inference.yaml": "inputs:\n  transaction: float32[1]\noutputs:\n  fraud_probability: float32\n",
		"metrics.json":   `{"accuracy": 0.962, "auc": 0.981}`,
		"params.yaml":    "learning_rate: 0.01\n",
		"train/a.csv":    "amount,label\n12.5,0\n",
	}
	for name, content := range files {
		s.writeFile(filepath.Join(s.work, name), content)
	}
	s.git("remote", "add", "origin", s.fake.GitURL())
	return s
}

// register registers a new version of the model (new weights, tuned
// params: a patch bump) and returns its version.
func (s *story) register(round int) string {
	s.t.Helper()
	s.weights[0] = byte(round)
	if err := os.WriteFile(filepath.Join(s.work, "model.safetensors"), s.weights, 0o644); err != nil {
		s.t.Fatal(err)
	}
	s.writeFile(filepath.Join(s.work, "params.yaml"), fmt.Sprintf("learning_rate: 0.01\nround: %d\n", round))
	out := s.mgIn(s.work, "-C", s.reg, "register", model,
		"--weights", "model.safetensors", "--pipeline", "preprocess.pkl", "--schema", "features.json",
		"--config", "inference.yaml", "--metrics", "metrics.json", "--params", "params.yaml", "--data", "train/",
		"--framework", "xgboost=2.1.1", "--owner", "team-risk", "--label", "team=risk", "-o", "json")
	var res struct{ Version string }
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &res); err != nil || res.Version == "" {
		s.t.Fatalf("register -o json: %v\n%s", err, out)
	}
	return res.Version
}

// push publishes the registry's main to the forge.
func (s *story) push() { s.git("push", "-q", "origin", "main") }

// promote runs a modelgit command that opens pull requests (promote,
// rollback), has a reviewer approve each and merges it with `modelgit
// merge`, then pulls main; it returns main's new commit.
func (s *story) promote(args ...string) string {
	s.t.Helper()
	return s.merge(s.openPRs(args...))
}

// openPRs runs a modelgit command that opens pull requests and has a
// reviewer (rita) approve each on its head.
func (s *story) openPRs(args ...string) []forge.PullRequest {
	s.t.Helper()
	open := func() []forge.PullRequest {
		var out []forge.PullRequest
		for _, pr := range s.fake.PullRequests() {
			if pr.State == "open" {
				out = append(out, pr)
			}
		}
		return out
	}
	if n := len(open()); n != 0 {
		s.t.Fatalf("%d pull requests open before modelgit %s", n, strings.Join(args, " "))
	}
	s.mg(args...)
	prs := open()
	if len(prs) == 0 {
		s.t.Fatalf("modelgit %s opened no pull request", strings.Join(args, " "))
	}
	for _, pr := range prs {
		s.fake.AddReview(pr.Number, "rita", forge.ReviewApproved, pr.HeadSHA)
	}
	return prs
}

// merge merges approved pull requests with `modelgit merge`, pulls main
// and returns its commit.
func (s *story) merge(prs []forge.PullRequest) string {
	s.t.Helper()
	for _, pr := range prs {
		s.mg("merge", "--pr", fmt.Sprint(pr.Number))
	}
	s.git("pull", "-q", "--ff-only", "origin", "main")
	return s.mainSHA()
}

// mainSHA is the forge's main.
func (s *story) mainSHA() string {
	return strings.TrimSpace(s.run(s.dir, "git", "-C", s.bare, "rev-parse", "main"))
}

// bootstrap does what the platform team does to put a cluster on the
// repository (docs/flux.md): apply the Secret of keys the GitRepository
// verifies HEAD with, as `modelgit render --verify-secret` prints it (the
// allowed signers at HEAD plus the forge's merge key), and the sync objects
// modelgit rendered at main, as `flux bootstrap` would. From then on Flux
// keeps them in step from git.
func (s *story) bootstrap() {
	s.t.Helper()
	s.applyVerifySecret()
	sync := s.run(s.dir, "git", "-C", s.bare, "show", "main:clusters/"+clusterName+"/flux-system/gotk-sync.yaml")
	objs, err := decodeYAML(strings.NewReader(sync))
	if err != nil {
		s.t.Fatal(err)
	}
	for _, o := range objs {
		if workaround() && o.GetKind() == "GitRepository" {
			unstructured.RemoveNestedField(o.Object, "spec", "verify")
		}
		if err := s.c.applyAs("e2e-bootstrap", o); err != nil {
			s.t.Fatal(err)
		}
	}
	if workaround() {
		s.applyWorkaround()
	}
}

// applyVerifySecret applies the Secret source-controller verifies heads
// with, as `modelgit render --verify-secret` prints it from the allowed
// signers at HEAD plus the forge's merge key.
func (s *story) applyVerifySecret() {
	s.t.Helper()
	forgeKey := filepath.Join(s.dir, "keys", "web-flow.pub")
	s.writeFile(forgeKey, s.fake.MergeKey())
	secret, err := decodeYAML(strings.NewReader(s.mg("render", "--verify-secret", "--forge-key", "web-flow="+forgeKey)))
	if err != nil || len(secret) != 1 || secret[0].GetKind() != "Secret" {
		s.t.Fatalf("render --verify-secret: want one Secret, got %d objects (%v)", len(secret), err)
	}
	s.c.apply(secret[0])
}

// follow triggers a reconcile and waits until Flux has applied sha, then
// checks that the API server holds what modelgit renders for the cluster.
func (s *story) follow(sha string) map[string]*unstructured.Unstructured {
	s.t.Helper()
	start := time.Now()
	s.c.trigger()
	waitFor(s.t, reconcileTimeout, "Flux to apply "+sha, func() error { return s.c.appliedAt(sha) })
	s.t.Logf("Flux applied %s in %s", sha[:12], time.Since(start).Round(time.Millisecond))
	return s.checkLive(s.rendered())
}

// rendered is what modelgit says Flux applies on the cluster at the
// registry's HEAD, model objects only.
func (s *story) rendered() []*unstructured.Unstructured {
	s.t.Helper()
	out := s.mg("render", "--cluster", clusterName, "-o", "json")
	var objs []map[string]any
	if err := json.Unmarshal([]byte(out), &objs); err != nil {
		s.t.Fatalf("render --cluster %s -o json: %v\n%s", clusterName, err, out)
	}
	var model []*unstructured.Unstructured
	for _, m := range objs {
		if o := (&unstructured.Unstructured{Object: m}); isModelKind(o.GroupVersionKind()) {
			model = append(model, o)
		}
	}
	return model
}

func isModelKind(gvk schema.GroupVersionKind) bool {
	return slices.ContainsFunc(modelKinds, func(k schema.GroupVersionKind) bool { return k.GroupKind() == gvk.GroupKind() })
}

// objectKey names an object in messages and maps.
func objectKey(o *unstructured.Unstructured) string {
	return o.GetKind() + "/" + namespaceOf(o) + "/" + o.GetName()
}

// namespaceOf is where a rendered object lands: its namespace, or, only
// under the test-only workaround, "default".
func namespaceOf(o *unstructured.Unstructured) string {
	if ns := o.GetNamespace(); ns != "" || !workaround() {
		return ns
	}
	return "default"
}

// checkLive checks that the API server holds exactly the model objects
// want lists — each with every field modelgit rendered (the server adds
// defaults and status) — and no other object modelgit manages (prune). It
// returns the live objects by objectKey.
func (s *story) checkLive(want []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
	s.t.Helper()
	live := s.liveModelObjects()
	for _, w := range want {
		k := objectKey(w)
		l, ok := live[k]
		if !ok {
			s.t.Fatalf("%s is rendered but not in the API server; the server holds:\n%s", k, keys(live))
		}
		for _, f := range [][]string{{"metadata", "labels"}, {"metadata", "annotations"}, {"spec"}} {
			wv, _, _ := unstructured.NestedFieldNoCopy(w.Object, f...)
			lv, _, _ := unstructured.NestedFieldNoCopy(l.Object, f...)
			if path, ok := subset(normalize(wv), normalize(lv), strings.Join(f, ".")); !ok {
				s.t.Fatalf("%s in the API server differs from what modelgit renders at %s:\n  rendered %s\n  live     %s", k, path, jsonOf(fieldAt(w.Object, path)), jsonOf(fieldAt(l.Object, path)))
			}
		}
	}
	if len(live) != len(want) {
		var extra []string
		for k := range live {
			if !slices.ContainsFunc(want, func(w *unstructured.Unstructured) bool { return objectKey(w) == k }) {
				extra = append(extra, k)
			}
		}
		s.t.Fatalf("the API server holds objects modelgit no longer renders (not pruned): %v", extra)
	}
	return live
}

// liveModelObjects lists, in every namespace, the objects of the model
// kinds that carry modelgit's managed-by label.
func (s *story) liveModelObjects() map[string]*unstructured.Unstructured {
	s.t.Helper()
	out := map[string]*unstructured.Unstructured{}
	for _, gvk := range modelKinds {
		ri, err := s.c.resource(gvk.GroupKind(), gvk.Version, "")
		if err != nil {
			s.t.Fatal(err)
		}
		list, err := ri.List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=modelgit"})
		if err != nil {
			s.t.Fatalf("listing %s: %v", gvk.Kind, err)
		}
		for i := range list.Items {
			o := &list.Items[i]
			o.SetKind(gvk.Kind)
			out[o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName()] = o
		}
	}
	return out
}

// release reads environments/<env>/<model>.yaml at the registry's HEAD.
func (s *story) release() (strategy string, versions []map[string]any) {
	s.t.Helper()
	b, err := os.ReadFile(filepath.Join(s.reg, "environments", environment, model+".yaml"))
	if err != nil {
		s.t.Fatal(err)
	}
	var r struct {
		Strategy string
		Versions []map[string]any
	}
	if err := yaml.Unmarshal(b, &r); err != nil {
		s.t.Fatal(err)
	}
	return r.Strategy, r.Versions
}

// markDeploymentsAvailable stands in for kube-controller-manager and the
// kubelets this API server has not got: it writes an Available status on
// every Deployment modelgit manages, so Flux's health checks (wait: true)
// can pass, until the test ends.
func (s *story) markDeploymentsAvailable() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.t.Cleanup(func() { cancel(); <-done })
	gvr := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			list, err := s.c.dyn.Resource(gvr).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=modelgit"})
			if err == nil {
				for _, d := range list.Items {
					gen := d.GetGeneration()
					if og, _, _ := unstructured.NestedInt64(d.Object, "status", "observedGeneration"); og == gen {
						continue
					}
					replicas, ok, _ := unstructured.NestedInt64(d.Object, "spec", "replicas")
					if !ok {
						replicas = 1
					}
					now := time.Now().UTC().Format(time.RFC3339)
					cond := func(typ, reason string) map[string]any {
						return map[string]any{"type": typ, "status": "True", "reason": reason, "lastUpdateTime": now, "lastTransitionTime": now}
					}
					st := map[string]any{"status": map[string]any{
						"observedGeneration": gen, "replicas": replicas, "updatedReplicas": replicas,
						"readyReplicas": replicas, "availableReplicas": replicas,
						"conditions": []any{cond("Available", "MinimumReplicasAvailable"), cond("Progressing", "NewReplicaSetAvailable")},
					}}
					b, _ := json.Marshal(st)
					_, _ = s.c.dyn.Resource(gvr).Namespace(d.GetNamespace()).Patch(ctx, d.GetName(), types.MergePatchType, b, metav1.PatchOptions{}, "status")
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(300 * time.Millisecond):
			}
		}
	}()
}

// mg runs the modelgit CLI in the registry.
func (s *story) mg(args ...string) string {
	s.t.Helper()
	return s.mgIn(s.reg, append([]string{"-C", s.reg}, args...)...)
}

func (s *story) mgIn(dir string, args ...string) string {
	s.t.Helper()
	return s.run(dir, modelgitBin, args...)
}

// cliEnv keeps the CLI on the story's forge: outside GitHub Actions, no
// token of the machine's.
var cliEnv = []string{"GITHUB_ACTIONS=", "GITHUB_TOKEN=", "GH_TOKEN=", "NO_COLOR=1"}

func (s *story) git(args ...string) string {
	s.t.Helper()
	return s.run(s.reg, "git", args...)
}

func (s *story) run(dir, name string, args ...string) string {
	s.t.Helper()
	out, err := run(dir, cliEnv, name, args...)
	if err != nil {
		s.t.Fatal(err)
	}
	return out
}

func (s *story) writeFile(path, content string) {
	s.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// normalize makes numbers comparable: live objects carry int64, rendered
// JSON float64.
func normalize(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// subset reports whether every field of want is in got with the same
// value (lists: same length, element-wise), and the first path that is not.
func subset(want, got any, path string) (string, bool) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return path, false
		}
		for _, k := range slices.Sorted(mapsKeys(w)) {
			if p, ok := subset(w[k], g[k], path+"."+k); !ok {
				return p, false
			}
		}
		return "", true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return path, false
		}
		for i := range w {
			if p, ok := subset(w[i], g[i], fmt.Sprintf("%s[%d]", path, i)); !ok {
				return p, false
			}
		}
		return "", true
	default:
		return path, reflect.DeepEqual(want, got)
	}
}

func mapsKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// fieldAt returns the value at a path subset produced ("spec.a[0].b"),
// best effort, for messages.
func fieldAt(obj map[string]any, path string) any {
	var cur any = obj
	for _, part := range strings.Split(path, ".") {
		name, idx, _ := strings.Cut(part, "[")
		if m, ok := cur.(map[string]any); ok {
			cur = m[name]
		} else {
			return nil
		}
		for idx != "" {
			var i int
			fmt.Sscanf(idx, "%d]", &i)
			l, ok := cur.([]any)
			if !ok || i >= len(l) {
				return nil
			}
			cur = l[i]
			_, idx, _ = strings.Cut(idx, "[")
		}
	}
	return cur
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func keys(m map[string]*unstructured.Unstructured) string {
	var ks []string
	for k := range m {
		ks = append(ks, "  "+k)
	}
	slices.Sort(ks)
	return strings.Join(ks, "\n")
}

// applied is one entry of `modelgit status -o json`'s "applied": what a
// cluster's Flux applied of a release.
type applied struct {
	Model, Environment, Cluster string
	ReleaseCommit               string
	State, Message              string
	Flux                        *struct {
		LastAppliedRevision, LastAttemptedRevision string
		Ready, Source                              struct{ Status, Message string }
	}
}

// fluxStatus is what `modelgit status --kubeconfig -o json` says the
// story's cluster applied of the model's release.
func (s *story) fluxStatus() applied {
	s.t.Helper()
	out := s.mg("status", "--kubeconfig", s.c.kubeconfig, "-o", "json")
	var doc any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		s.t.Fatalf("status -o json: %v\n%s", err, out)
	}
	var found []applied
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if list, ok := x["applied"].([]any); ok {
				for _, e := range list {
					var a applied
					b, _ := json.Marshal(e)
					if json.Unmarshal(b, &a) == nil && a.Model == model && a.Cluster == clusterName {
						found = append(found, a)
					}
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(doc)
	if len(found) != 1 {
		s.t.Fatalf("status -o json: %d applied entries for %s on %s, want 1:\n%s", len(found), model, clusterName, out)
	}
	return found[0]
}

// wantState checks status's verdict on the release, and that its message
// contains msg.
func (s *story) wantState(state, msg string) applied {
	s.t.Helper()
	a := s.fluxStatus()
	if a.State != state || !strings.Contains(a.Message, msg) {
		s.t.Errorf("modelgit status --kubeconfig: %s on %s is %q (%s), want %q with %q", model, clusterName, a.State, a.Message, state, msg)
	}
	return a
}

// wantPending checks that status says "merged, not yet applied" of a
// release merged at sha that Flux has neither fetched nor applied. When
// Flux moved while status ran (its own 1m poll raced the call), the
// verdict cannot be judged, and the test says so instead.
func (s *story) wantPending(sha string) {
	s.t.Helper()
	still := func() bool {
		k, err := s.c.flux(kustomizationGVR)
		if err != nil {
			s.t.Fatal(err)
		}
		g, err := s.c.flux(gitRepositoryGVR)
		if err != nil {
			s.t.Fatal(err)
		}
		rev, _, _ := unstructured.NestedString(k.Object, "status", "lastAppliedRevision")
		return !strings.HasSuffix(rev, sha) && condition(k, "Ready") == "True" && condition(g, "Ready") == "True"
	}
	before := still()
	a := s.fluxStatus()
	if !before || !still() {
		s.t.Logf("Flux moved while status ran (its own poll); not judging %q", a.State)
		return
	}
	if a.State != "merged, not yet applied" {
		s.t.Errorf("modelgit status --kubeconfig: %s merged at %s, not fetched by Flux, is %q (%s), want \"merged, not yet applied\"", model, sha, a.State, a.Message)
	}
}

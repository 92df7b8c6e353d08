package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
)

// The sync objects modelgit renders for every cluster (render.FluxName,
// render.FluxNamespace).
const (
	fluxNS   = "flux-system"
	fluxName = "flux-system"
)

var (
	gitRepositoryGVR = schema.GroupVersionResource{Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "gitrepositories"}
	kustomizationGVR = schema.GroupVersionResource{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Resource: "kustomizations"}
	crdGVR           = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	namespaceGVR     = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	secretGVR        = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
)

// cluster is a real API server with Flux's source-controller and
// kustomize-controller, all on 127.0.0.1, started for one test.
type cluster struct {
	t          testing.TB
	dir        string
	kubeconfig string
	cfg        *rest.Config
	dyn        dynamic.Interface
	mapper     meta.ResettableRESTMapper
	procs      []*proc
}

// startCluster starts etcd and kube-apiserver, applies the Flux, KServe and
// Gateway API CRDs, then starts source-controller (trusting gitCA, the git
// server's certificate) and kustomize-controller. Everything stops when
// the test ends; on failure, Flux's conditions and the parts' log tails
// are printed first.
func startCluster(t testing.TB, gitCA string) *cluster {
	t.Helper()
	c := startAPIServer(t)
	c.startFlux(gitCA)
	return c
}

// startAPIServer starts etcd and kube-apiserver and applies the CRDs.
func startAPIServer(t testing.TB) *cluster {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "cluster")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, dir: dir}
	start := time.Now()

	etcdPort, peerPort, metricsPort := freePort(t), freePort(t), freePort(t)
	etcd := startProc(t, dir, "etcd", nil, filepath.Join(partsDir, "etcd"),
		"--name", "e2e", "--data-dir", filepath.Join(dir, "etcd-data"),
		"--listen-client-urls", "http://"+addr(etcdPort), "--advertise-client-urls", "http://"+addr(etcdPort),
		"--listen-peer-urls", "http://"+addr(peerPort), "--initial-advertise-peer-urls", "http://"+addr(peerPort),
		"--initial-cluster", "e2e=http://"+addr(peerPort), "--listen-metrics-urls", "http://"+addr(metricsPort),
		"--unsafe-no-fsync", "--quota-backend-bytes", "1073741824", "--log-level", "warn")
	c.procs = append(c.procs, etcd)

	// No certificates to make but the service-account key: the API server
	// makes its own serving certificate, and the test authenticates with a
	// static token in system:masters.
	pki := filepath.Join(dir, "pki")
	if err := os.MkdirAll(pki, 0o700); err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	tok := make([]byte, 16)
	_, _ = rand.Read(tok)
	token := hex.EncodeToString(tok)
	for name, data := range map[string][]byte{
		"sa.key":     pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		"sa.pub":     pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}),
		"tokens.csv": []byte(token + ",e2e-admin,e2e-admin,system:masters\n"),
	} {
		if err := os.WriteFile(filepath.Join(pki, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	apiPort := freePort(t)
	apiserver := startProc(t, dir, "kube-apiserver", nil, filepath.Join(partsDir, "kube-apiserver"),
		"--etcd-servers", "http://"+addr(etcdPort), "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
		"--secure-port", fmt.Sprint(apiPort), "--cert-dir", filepath.Join(pki, "apiserver"),
		"--token-auth-file", filepath.Join(pki, "tokens.csv"), "--authorization-mode", "RBAC",
		"--service-account-issuer", "https://"+addr(apiPort),
		"--service-account-key-file", filepath.Join(pki, "sa.pub"), "--service-account-signing-key-file", filepath.Join(pki, "sa.key"),
		"--service-cluster-ip-range", "10.0.0.0/24", "--disable-admission-plugins", "ServiceAccount",
		"--endpoint-reconciler-type", "none")
	c.procs = append(c.procs, apiserver)

	c.kubeconfig = filepath.Join(dir, "kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: https://%s
    insecure-skip-tls-verify: true
users:
- name: e2e-admin
  user:
    token: %s
contexts:
- name: e2e
  context: {cluster: e2e, user: e2e-admin}
current-context: e2e
`, addr(apiPort), token)
	if err := os.WriteFile(c.kubeconfig, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	c.cfg, err = clientcmd.BuildConfigFromFlags("", c.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	c.cfg.QPS, c.cfg.Burst = 50, 100
	c.dyn = dynamic.NewForConfigOrDie(c.cfg)
	dc := discovery.NewDiscoveryClientForConfigOrDie(c.cfg)
	c.mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	waitFor(t, 3*time.Minute, "kube-apiserver /readyz", func() error {
		for _, p := range c.procs {
			if p.exited() {
				return errf("%s exited:\n%s", p.name, p.tail(20))
			}
		}
		body, err := dc.RESTClient().Get().AbsPath("/readyz").DoRaw(context.Background())
		if err != nil {
			return errf("%v: %s", err, body)
		}
		return nil
	})
	t.Logf("etcd and kube-apiserver ready in %s", time.Since(start).Round(time.Millisecond))

	t0 := time.Now()
	// Flux's CRDs from the controllers' own modules; KServe's and Gateway
	// API's from modelgit (which also embeds copies of Flux's, not used here).
	embedded := filepath.Join(repoRoot, "gitops", "render", "crds")
	crds := []string{filepath.Join(partsDir, "crds", "*.yaml"),
		filepath.Join(embedded, "serving.kserve.io_*.yaml"), filepath.Join(embedded, "gateway.networking.k8s.io_*.yaml")}
	var names []string
	for _, pattern := range crds {
		files, err := filepath.Glob(pattern)
		if err != nil || len(files) == 0 {
			t.Fatalf("no CRDs match %s (%v)", pattern, err)
		}
		for _, f := range files {
			for _, o := range c.applyFile(f) {
				names = append(names, o.GetName())
			}
		}
	}
	for _, n := range names {
		waitFor(t, 2*time.Minute, "CRD "+n+" Established", func() error {
			o, err := c.dyn.Resource(crdGVR).Get(context.Background(), n, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if condition(o, "Established") != "True" {
				return errf("not Established yet")
			}
			return nil
		})
	}
	c.mapper.Reset()
	t.Logf("%d CRDs established in %s", len(names), time.Since(t0).Round(time.Millisecond))
	c.apply(&unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": fluxNS}}})
	return c
}

// startFlux starts source-controller and kustomize-controller against c.
func (c *cluster) startFlux(gitCA string) {
	t, dir := c.t, c.dir
	t.Helper()
	// Flux's controllers, as plain processes, with their HTTP endpoints on
	// 127.0.0.1. SSL_CERT_FILE: source-controller trusts the git server's
	// own certificate, as the rendered GitRepository names no CA secret.
	t0 := time.Now()
	storage := freePort(t)
	if err := os.MkdirAll(filepath.Join(dir, "source-storage"), 0o755); err != nil {
		t.Fatal(err)
	}
	scHealth, kcHealth := freePort(t), freePort(t)
	fluxEnv := []string{"KUBECONFIG=" + c.kubeconfig, "RUNTIME_NAMESPACE=" + fluxNS}
	c.procs = append(c.procs,
		startProc(t, dir, "source-controller", append(fluxEnv, "SSL_CERT_FILE="+gitCA), filepath.Join(partsDir, "source-controller"),
			"--storage-path", filepath.Join(dir, "source-storage"),
			"--storage-addr", addr(storage), "--storage-adv-addr", addr(storage),
			"--metrics-addr", addr(freePort(t)), "--health-addr", addr(scHealth),
			"--enable-leader-election=false", "--log-level", "debug"),
		startProc(t, dir, "kustomize-controller", fluxEnv, filepath.Join(partsDir, "kustomize-controller"),
			"--metrics-addr", addr(freePort(t)), "--health-addr", addr(kcHealth),
			"--enable-leader-election=false", "--log-level", "debug"),
	)
	for _, hp := range []int{scHealth, kcHealth} {
		waitFor(t, 2*time.Minute, "Flux controller readyz on "+addr(hp), func() error {
			for _, p := range c.procs {
				if p.exited() {
					return errf("%s exited:\n%s", p.name, p.tail(20))
				}
			}
			resp, err := http.Get("http://" + addr(hp) + "/readyz")
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return errf("status %d", resp.StatusCode)
			}
			return nil
		})
	}
	t.Logf("Flux controllers ready in %s", time.Since(t0).Round(time.Millisecond))
	// Registered last, so it runs first: while everything still runs.
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(c.diagnose())
		}
	})
}

// diagnose is what a failure needs: Flux's objects and their conditions,
// and the tail of every part's log.
func (c *cluster) diagnose() string {
	var b strings.Builder
	for _, gvr := range []schema.GroupVersionResource{gitRepositoryGVR, kustomizationGVR} {
		o, err := c.dyn.Resource(gvr).Namespace(fluxNS).Get(context.Background(), fluxName, metav1.GetOptions{})
		if err != nil {
			fmt.Fprintf(&b, "%s: %v\n", gvr.Resource, err)
			continue
		}
		fmt.Fprintf(&b, "%s %s/%s:\n", o.GetKind(), fluxNS, fluxName)
		conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
		for _, x := range conds {
			m, _ := x.(map[string]any)
			fmt.Fprintf(&b, "  %v=%v %v: %v\n", m["type"], m["status"], m["reason"], m["message"])
		}
		for _, f := range [][]string{{"status", "lastAppliedRevision"}, {"status", "lastAttemptedRevision"}, {"status", "artifact", "revision"}} {
			if v, ok, _ := unstructured.NestedString(o.Object, f...); ok {
				fmt.Fprintf(&b, "  %s: %s\n", strings.Join(f, "."), v)
			}
		}
	}
	for _, p := range c.procs {
		fmt.Fprintf(&b, "--- last lines of %s (%s)\n%s\n", p.name, p.log, p.tail(40))
	}
	return b.String()
}

// applyFile server-side applies every object of a YAML file.
func (c *cluster) applyFile(path string) []*unstructured.Unstructured {
	c.t.Helper()
	f, err := os.Open(path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer f.Close()
	objs, err := decodeYAML(f)
	if err != nil {
		c.t.Fatalf("reading %s: %v", path, err)
	}
	for _, o := range objs {
		c.apply(o)
	}
	return objs
}

// decodeYAML reads every object of a multi-document YAML or JSON stream.
func decodeYAML(r io.Reader) ([]*unstructured.Unstructured, error) {
	d := utilyaml.NewYAMLOrJSONDecoder(r, 4096)
	var out []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := d.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		if len(m) == 0 {
			continue
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
}

// apply server-side applies o as the field manager "e2e".
func (c *cluster) apply(o *unstructured.Unstructured) {
	c.t.Helper()
	if err := c.applyAs("e2e", o); err != nil {
		c.t.Fatal(err)
	}
}

func (c *cluster) applyAs(manager string, o *unstructured.Unstructured) error {
	ri, err := c.resource(o.GroupVersionKind().GroupKind(), o.GroupVersionKind().Version, o.GetNamespace())
	if err != nil {
		return err
	}
	_, err = ri.Apply(context.Background(), o.GetName(), o, metav1.ApplyOptions{FieldManager: manager, Force: true})
	if err != nil {
		return fmt.Errorf("applying %s %s: %w", o.GetKind(), o.GetName(), err)
	}
	return nil
}

// resource is the dynamic client for a kind, namespaced when ns is set.
func (c *cluster) resource(gk schema.GroupKind, version, ns string) (dynamic.ResourceInterface, error) {
	m, err := c.mapper.RESTMapping(gk, version)
	if err != nil {
		c.mapper.Reset()
		if m, err = c.mapper.RESTMapping(gk, version); err != nil {
			return nil, fmt.Errorf("mapping %s: %w", gk, err)
		}
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return c.dyn.Resource(m.Resource).Namespace(ns), nil
	}
	return c.dyn.Resource(m.Resource), nil
}

// get reads an object from the API server; nil when it does not exist.
func (c *cluster) get(gvk schema.GroupVersionKind, ns, name string) (*unstructured.Unstructured, error) {
	ri, err := c.resource(gvk.GroupKind(), gvk.Version, ns)
	if err != nil {
		return nil, err
	}
	o, err := ri.Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return o, err
}

// flux reads the flux-system object of gvr.
func (c *cluster) flux(gvr schema.GroupVersionResource) (*unstructured.Unstructured, error) {
	return c.dyn.Resource(gvr).Namespace(fluxNS).Get(context.Background(), fluxName, metav1.GetOptions{})
}

// trigger asks Flux to reconcile the GitRepository now, as `flux reconcile
// source git` does, instead of waiting for its interval.
func (c *cluster) trigger() {
	c.t.Helper()
	for _, gvr := range []schema.GroupVersionResource{gitRepositoryGVR, kustomizationGVR} {
		patch := fmt.Sprintf(`{"metadata":{"annotations":{"reconcile.fluxcd.io/requestedAt":%q}}}`, time.Now().Format(time.RFC3339Nano))
		if _, err := c.dyn.Resource(gvr).Namespace(fluxNS).Patch(context.Background(), fluxName, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: "e2e-trigger"}); err != nil && !apierrors.IsNotFound(err) {
			c.t.Fatalf("annotating %s: %v", gvr.Resource, err)
		}
	}
}

// condition is the status of a condition of o, "" when absent.
func condition(o *unstructured.Unstructured, typ string) string {
	s, _ := conditionFull(o, typ)
	return s
}

// conditionFull is a condition's status and message.
func conditionFull(o *unstructured.Unstructured, typ string) (status, message string) {
	conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
	for _, x := range conds {
		m, _ := x.(map[string]any)
		if m["type"] == typ {
			s, _ := m["status"].(string)
			msg, _ := m["message"].(string)
			return s, msg
		}
	}
	return "", ""
}

// appliedAt waits until the Kustomization has applied commit sha and is
// Ready; the message of the last failure when it times out.
func (c *cluster) appliedAt(sha string) error {
	k, err := c.flux(kustomizationGVR)
	if err != nil {
		return err
	}
	rev, _, _ := unstructured.NestedString(k.Object, "status", "lastAppliedRevision")
	st, msg := conditionFull(k, "Ready")
	if !strings.HasSuffix(rev, sha) || st != "True" {
		g, _ := c.flux(gitRepositoryGVR)
		art := ""
		gmsg := ""
		if g != nil {
			art, _, _ = unstructured.NestedString(g.Object, "status", "artifact", "revision")
			_, gmsg = conditionFull(g, "Ready")
		}
		return errf("Kustomization at %q Ready=%s (%s); GitRepository artifact %q (%s); want %s", rev, st, msg, art, gmsg, sha)
	}
	return nil
}

// yamlDocs joins objects as YAML documents, for messages.
func yamlDocs(objs []*unstructured.Unstructured) string {
	var b bytes.Buffer
	for _, o := range objs {
		fmt.Fprintf(&b, "%s %s/%s\n", o.GetKind(), o.GetNamespace(), o.GetName())
	}
	return b.String()
}

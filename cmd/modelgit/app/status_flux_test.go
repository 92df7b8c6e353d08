package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fluxAPI serves the Kustomization and GitRepository flux-system/flux-system
// as an API server does, with the given status.
func fluxAPI(t *testing.T, applied, readyStatus, readyMessage string) *httptest.Server {
	t.Helper()
	cond := func(status, msg string) []any {
		return []any{map[string]any{"type": "Ready", "status": status, "reason": "R", "message": msg, "lastTransitionTime": "2026-12-06T10:00:00Z"}}
	}
	objects := map[string]any{
		"/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/flux-system": map[string]any{
			"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
			"metadata": map[string]any{"name": "flux-system", "namespace": "flux-system", "generation": 1},
			"spec":     map[string]any{"interval": "10m", "path": "./clusters/x", "prune": true, "sourceRef": map[string]any{"kind": "GitRepository", "name": "flux-system"}},
			"status": map[string]any{"observedGeneration": 1, "lastAppliedRevision": "main@sha1:" + applied, "lastAttemptedRevision": "main@sha1:" + applied,
				"conditions": cond(readyStatus, readyMessage)},
		},
		"/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/flux-system": map[string]any{
			"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
			"metadata": map[string]any{"name": "flux-system", "namespace": "flux-system"},
			"spec":     map[string]any{"interval": "1m", "url": "https://example.com/x.git"},
			"status":   map[string]any{"conditions": cond("True", "stored artifact")},
		},
	}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o, ok := objects[r.URL.Path]
		if !ok || r.Method != http.MethodGet {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404,"message":"%s not found"}`, r.URL.Path)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(o)
	}))
	t.Cleanup(s.Close)
	return s
}

// TestStatusShowsWhatFluxApplied: with a kubeconfig, status reads each
// cluster's Kustomization and says, per release, whether the cluster
// applied the commit that made it, with Ready and Flux's message; -o json
// has the same as camelCase fields.
func TestStatusShowsWhatFluxApplied(t *testing.T) {
	m := newMonitorCLI(t)
	head := strings.TrimSpace(m.git("rev-parse", "HEAD"))
	devCommit := strings.TrimSpace(m.git("log", "--first-parent", "-1", "--format=%H", "--", "environments/dev/fraud.yaml"))
	staging := fluxAPI(t, head, "True", "Applied revision: main@sha1:"+head)
	before := strings.TrimSpace(m.git("rev-parse", devCommit+"^"))
	dev := fluxAPI(t, before, "False", "InferenceService/fraud dry-run failed:\n admission webhook denied")
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- {name: staging, cluster: {server: %q}}
- {name: dev, cluster: {server: %q}}
users:
- {name: u, user: {token: t}}
contexts:
- {name: gpu-staging, context: {cluster: staging, user: u}}
- {name: gpu-dev, context: {cluster: dev, user: u}}
current-context: gpu-dev
`, staging.URL, dev.URL)
	if err := os.WriteFile(kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	stdout, _ := m.ok("status", "--kubeconfig", kubeconfig)
	// Not a terminal: tab-separated rows, no header.
	for _, want := range []string{
		"dev\tgpu-dev\tfraud\t" + devCommit[:12] + "\t" + before[:12] + "\tnot Ready: InferenceService/fraud dry-run failed: admission webhook denied\tfailed to apply: InferenceService/fraud dry-run failed: admission webhook denied\n",
		"staging\tgpu-staging\tfraud\t",
		"\t" + head[:12] + "\tReady\tapplied\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("status --kubeconfig: no %q in\n%s", want, stdout)
		}
	}

	t.Setenv("KUBECONFIG", kubeconfig)
	stdout, _ = m.ok("status", "-o", "json", "--cluster", "gpu-staging")
	var rows []struct {
		Applied []map[string]any `json:"applied"`
	}
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil || len(rows) != 1 || len(rows[0].Applied) != 1 {
		t.Fatalf("status -o json: %v\n%s", err, stdout)
	}
	a := rows[0].Applied[0]
	flux, _ := a["flux"].(map[string]any)
	if a["cluster"] != "gpu-staging" || a["environment"] != "staging" || a["state"] != "applied" || a["releaseCommit"] == "" ||
		flux["lastAppliedRevision"] != "main@sha1:"+head || flux["ready"].(map[string]any)["status"] != "True" {
		t.Errorf("applied = %v", a)
	}

	_, stderr, code := m.modelgit("status", "--cluster", "nope")
	if code == ExitOK || !strings.Contains(stderr, `cluster "nope": not declared in modelgit.yaml`) {
		t.Errorf("undeclared cluster: exit %d\n%s", code, stderr)
	}
}

// TestStatusWithUnusableKUBECONFIG: a KUBECONFIG that names no usable file
// (set for another tool) does not break status: it warns and prints the
// matrix; an explicit --kubeconfig that cannot be read is an error.
func TestStatusWithUnusableKUBECONFIG(t *testing.T) {
	m := newMonitorCLI(t)
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "missing"))
	stdout, stderr := m.ok("status")
	if !strings.Contains(stdout, "fraud") || !strings.Contains(stderr, "clusters not asked: loading kubeconfig") {
		t.Errorf("status with a missing KUBECONFIG:\n%s\n%s", stdout, stderr)
	}
	_, stderr, code := m.modelgit("status", "--kubeconfig", filepath.Join(t.TempDir(), "missing"))
	if code == ExitOK || !strings.Contains(stderr, "loading kubeconfig") {
		t.Errorf("status --kubeconfig missing: exit %d\n%s", code, stderr)
	}
}

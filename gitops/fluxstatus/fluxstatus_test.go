package fluxstatus

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"
)

func TestCommit(t *testing.T) {
	const h = "0123456789abcdef0123456789abcdef01234567"
	for in, want := range map[string]string{
		"main@sha1:" + h: h, "sha1:" + h: h, "main/" + h: h, h: h, "": "", "main@sha1:": "", "latest": "",
	} {
		if got := Commit(in); got != want {
			t.Errorf("Commit(%q) = %q, want %q", in, got, want)
		}
	}
}

// history is a linear history a ← b ← c for Contains; x is not in the
// clone.
func history(revision, commit string) (bool, bool, error) {
	order := map[string]int{"aaaaaaa": 1, "bbbbbbb": 2, "ccccccc": 3}
	r, ok := order[revision]
	if !ok {
		return false, false, nil
	}
	return order[commit] <= r && order[commit] > 0, true, nil
}

func TestClassify(t *testing.T) {
	ready := Condition{Status: "True", Reason: "ReconciliationSucceeded", Message: "Applied revision: main@sha1:ccccccc"}
	tests := []struct {
		name   string
		commit string
		s      Sync
		want   string
	}{
		{"applied at the merge", "bbbbbbb", Sync{LastAppliedRevision: "main@sha1:bbbbbbb", Ready: ready}, "applied"},
		{"applied later", "bbbbbbb", Sync{LastAppliedRevision: "main@sha1:ccccccc", Ready: ready}, "applied"},
		{"applied, though a later revision fails", "aaaaaaa", Sync{LastAppliedRevision: "main@sha1:bbbbbbb", LastAttemptedRevision: "main@sha1:ccccccc",
			Ready: Condition{Status: "False", Message: "InferenceService/fraud dry-run failed"}},
			"applied; a later revision (ccccccc) fails to apply: InferenceService/fraud dry-run failed"},
		{"applied, though the source refuses a later head", "bbbbbbb", Sync{LastAppliedRevision: "main@sha1:bbbbbbb", Ready: ready,
			Source: Condition{Status: "False", Reason: "InvalidCommitSignature", Message: "signature verification of commit 'ccccccc' failed"}},
			"applied; later commits are not applied: GitRepository: signature verification of commit 'ccccccc' failed"},
		{"not fetched yet", "ccccccc", Sync{LastAppliedRevision: "main@sha1:bbbbbbb", Ready: ready}, "merged, not yet applied"},
		{"reconciling", "ccccccc", Sync{LastAppliedRevision: "main@sha1:bbbbbbb", Ready: Condition{Status: "Unknown", Reason: "Progressing"}}, "merged, not yet applied"},
		{"never applied, nothing failed", "aaaaaaa", Sync{}, "merged, not yet applied"},
		{"apply failed", "ccccccc", Sync{LastAppliedRevision: "main@sha1:bbbbbbb", LastAttemptedRevision: "main@sha1:ccccccc",
			Ready: Condition{Status: "False", Reason: "ReconciliationFailed", Message: "InferenceService/fraud-detector namespace\n  not specified"}},
			"failed to apply: InferenceService/fraud-detector namespace not specified"},
		{"failed but the controller has not seen the new spec", "ccccccc", Sync{LastAppliedRevision: "main@sha1:bbbbbbb", Stale: true,
			Ready: Condition{Status: "False", Message: "old failure"}}, "merged, not yet applied"},
		{"source failing", "ccccccc", Sync{LastAppliedRevision: "main@sha1:bbbbbbb", Ready: ready,
			Source: Condition{Status: "False", Reason: "GitOperationFailed", Message: "failed to checkout and determine revision: connection refused"}},
			"failed to apply: GitRepository: failed to checkout and determine revision: connection refused"},
		{"signature refused", "ccccccc", Sync{LastAppliedRevision: "main@sha1:bbbbbbb", Ready: ready,
			Source: Condition{Status: "False", Reason: "InvalidCommitSignature", Message: "signature verification of commit 'ccccccc' failed"}},
			"failed to apply: GitRepository: signature verification of commit 'ccccccc' failed"},
		{"applied revision not in the clone", "bbbbbbb", Sync{LastAppliedRevision: "main@sha1:ddddddd0000", Ready: ready},
			"unknown: the cluster applied ddddddd0000, which this clone does not have; git fetch and run status again"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Classify(tt.commit, tt.s, history)
			if err != nil {
				t.Fatal(err)
			}
			if v.String() != tt.want {
				t.Errorf("Classify = %q, want %q", v.String(), tt.want)
			}
		})
	}
}

func obj(apiVersion, kind, ns, name string, spec, status map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": apiVersion, "kind": kind,
		"metadata": map[string]any{"name": name, "namespace": ns, "generation": int64(2)},
		"spec":     spec, "status": status,
	}}
}

// TestReadSync reads the Flux objects as the API server serves them.
func TestReadSync(t *testing.T) {
	ks := obj("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "flux-system", "flux-system",
		map[string]any{"interval": "10m", "path": "./clusters/gpu-staging", "prune": true, "sourceRef": map[string]any{"kind": "GitRepository", "name": "flux-system"}},
		map[string]any{
			"observedGeneration":    int64(2),
			"lastAppliedRevision":   "main@sha1:bbbbbbb",
			"lastAttemptedRevision": "main@sha1:ccccccc",
			"conditions":            []any{map[string]any{"type": "Ready", "status": "False", "reason": "ReconciliationFailed", "message": "dry-run failed", "lastTransitionTime": "2026-12-06T10:00:00Z"}},
		})
	repo := obj("source.toolkit.fluxcd.io/v1", "GitRepository", "flux-system", "flux-system",
		map[string]any{"interval": "1m", "url": "https://example.com/x.git"},
		map[string]any{
			"artifact":   map[string]any{"revision": "main@sha1:ccccccc", "path": "p", "url": "u", "digest": "sha256:00", "lastUpdateTime": "2026-12-06T10:00:00Z"},
			"conditions": []any{map[string]any{"type": "Ready", "status": "True", "reason": "Succeeded", "message": "stored artifact", "lastTransitionTime": "2026-12-06T10:00:00Z"}},
		})
	c := dynamicfake.NewSimpleDynamicClient(runtime.NewScheme(), ks, repo)
	s, err := ReadSync(context.Background(), c, "flux-system", "flux-system")
	if err != nil {
		t.Fatal(err)
	}
	want := Sync{
		Kustomization: "flux-system/flux-system", LastAppliedRevision: "main@sha1:bbbbbbb", LastAttemptedRevision: "main@sha1:ccccccc",
		Ready:  Condition{Status: "False", Reason: "ReconciliationFailed", Message: "dry-run failed"},
		Source: Condition{Status: "True", Reason: "Succeeded", Message: "stored artifact"}, SourceRevision: "main@sha1:ccccccc",
	}
	if s != want {
		t.Errorf("ReadSync =\n%+v, want\n%+v", s, want)
	}
	if _, err := ReadSync(context.Background(), c, "flux-system", "nope"); err == nil || !strings.Contains(err.Error(), "reading Kustomization flux-system/nope") {
		t.Errorf("missing Kustomization: %v", err)
	}
}

const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: a
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: u
  user: {token: t}
contexts:
- name: gpu-staging
  context: {cluster: a, user: u}
- name: other
  context: {cluster: a, user: u}
current-context: other
`

// TestKubeContexts: a cluster is read through the kubeconfig context of
// its name, else --context, else the only context there is.
func TestKubeContexts(t *testing.T) {
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(p, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := NewKube(p, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k.contextFor("gpu-staging"); err != nil || got != "gpu-staging" {
		t.Errorf("contextFor(gpu-staging) = %q, %v", got, err)
	}
	if _, err := k.contextFor("gpu-prod"); err == nil || !strings.Contains(err.Error(), `the kubeconfig has no context named "gpu-prod" (contexts: gpu-staging, other)`) {
		t.Errorf("contextFor(gpu-prod) = %v", err)
	}
	k, err = NewKube(p, "other")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := k.contextFor("gpu-prod"); got != "other" {
		t.Errorf("with --context other: %q", got)
	}
	if _, err := NewKube(p, "missing"); err == nil || !strings.Contains(err.Error(), `kubeconfig context "missing" does not exist`) {
		t.Errorf("missing context: %v", err)
	}
	t.Setenv("KUBECONFIG", p)
	if _, err := NewKube("", ""); err != nil {
		t.Errorf("KUBECONFIG: %v", err)
	}
}

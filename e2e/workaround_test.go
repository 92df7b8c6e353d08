package e2e

import (
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// workaround reports whether MODELGIT_E2E_WORKAROUND=1 asks for the
// test-only workaround of two generation bugs of issue 12 (rendered model
// objects without a namespace; forge merges Flux cannot verify). It is for
// developing the harness while they are being fixed: CI never sets it, so
// the test fails while modelgit's output is not applyable as it is.
func workaround() bool { return os.Getenv("MODELGIT_E2E_WORKAROUND") == "1" }

// applyWorkaround patches, at apply time, through the Kustomization's own
// spec.patches under a field manager Flux does not undo: a namespace on
// modelgit's namespaced kinds, and no spec.verify on the GitRepository.
func (s *story) applyWorkaround() {
	s.t.Helper()
	ns := func(group, kind string) map[string]any {
		return map[string]any{
			"target": map[string]any{"group": group, "kind": kind},
			"patch":  "- op: add\n  path: /metadata/namespace\n  value: default\n",
		}
	}
	k := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
		"metadata": map[string]any{"name": fluxName, "namespace": fluxNS},
		"spec": map[string]any{"patches": []any{
			ns("serving.kserve.io", "InferenceService"), ns("apps", "Deployment"), ns("", "Service"),
			ns("gateway.networking.k8s.io", "HTTPRoute"),
			map[string]any{
				"target": map[string]any{"group": "source.toolkit.fluxcd.io", "kind": "GitRepository", "name": fluxName},
				"patch":  "- op: remove\n  path: /spec/verify\n",
			},
		}},
	}}
	if err := s.c.applyAs("e2e-workaround", k); err != nil {
		s.t.Fatal(err)
	}
}

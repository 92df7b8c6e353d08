package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"
)

// BenchmarkMergeToApplied times merge → object present in the API server,
// with the GitRepository's reconcile triggered by annotation, for
//
//   - modelgit: a promotion pull request merged with `modelgit merge`,
//     applied through the Kustomization modelgit renders (the cluster's
//     kustomization.yaml over rendered/<env> with its GPU patches), until
//     the InferenceService carries the new version;
//   - handwritten: the same InferenceService written by hand in its own
//     directory, a commit pushed to main, applied by a hand-written
//     Kustomization with the same prune/wait/timeout over the same
//     GitRepository, until it carries the new annotation.
//
// Only the time from the merge (or push) to the object is timed; ns/op is
// the mean, median-s the median. bench/flux.sh runs it and writes
// docs/benchmarks.md.
func BenchmarkMergeToApplied(b *testing.B) {
	s := newStory(b)
	s.c = startCluster(b, s.front.caFile)
	v := s.register(1)
	s.push()
	s.bootstrapAfter(s.promote("promote", model+"@"+v, "--to", environment))
	isvc := s.inferenceService(s.liveModelObjects())
	ns := isvc.GetNamespace()

	// The hand-written copy: the rendered object (GPU patches applied) under
	// another name, without modelgit's label, and its own Kustomization.
	hand := s.rendered()[0].DeepCopy()
	hand.SetName(model + "-hand")
	hand.SetNamespace(ns)
	labels := hand.GetLabels()
	delete(labels, "app.kubernetes.io/managed-by")
	hand.SetLabels(labels)
	writeHand := func(version string) {
		ann := hand.GetAnnotations()
		ann["modelgit.dev/version"] = version
		hand.SetAnnotations(ann)
		y, err := yaml.Marshal(hand.Object)
		if err != nil {
			b.Fatal(err)
		}
		s.writeFile(filepath.Join(s.reg, "handwritten", model+".yaml"), string(y))
		s.git("add", "handwritten")
		s.git("commit", "-q", "-S", "-m", "Hand-written "+model+" "+version)
		s.push()
	}
	writeHand("hand-0")
	k, err := s.c.flux(kustomizationGVR)
	if err != nil {
		b.Fatal(err)
	}
	spec, _, _ := unstructured.NestedMap(k.Object, "spec")
	spec["path"] = "./handwritten"
	delete(spec, "patches")
	s.c.apply(&unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
		"metadata": map[string]any{"name": "handwritten", "namespace": fluxNS},
		"spec":     spec,
	}})

	round := 1
	timeIt := func(b *testing.B, name, want string, merge func()) time.Duration {
		b.StopTimer()
		merge()
		start := time.Now()
		b.StartTimer()
		s.c.triggerSource()
		for {
			o, err := s.c.get(isvc.GroupVersionKind(), ns, name)
			if err == nil && o != nil && o.GetAnnotations()["modelgit.dev/version"] == want {
				break
			}
			if time.Since(start) > reconcileTimeout {
				b.Fatalf("%s did not reach %s within %s:\n%s", name, want, reconcileTimeout, s.c.diagnose())
			}
			time.Sleep(50 * time.Millisecond)
		}
		b.StopTimer()
		return time.Since(start)
	}
	report := func(b *testing.B, ds []time.Duration) {
		slices.Sort(ds)
		b.ReportMetric(ds[len(ds)/2].Seconds(), "median-s")
		b.ReportMetric(ds[0].Seconds(), "min-s")
		b.ReportMetric(ds[len(ds)-1].Seconds(), "max-s")
	}
	b.Run("modelgit", func(b *testing.B) {
		var ds []time.Duration
		for range b.N {
			round++
			b.StopTimer()
			v := s.register(round)
			s.push()
			prs := s.openPRs("promote", model+"@"+v, "--to", environment)
			ds = append(ds, timeIt(b, model, v, func() { s.merge(prs) }))
		}
		report(b, ds)
	})
	handRound := 0 // across runs: b.Run runs the function with b.N = 1 first
	b.Run("handwritten", func(b *testing.B) {
		var ds []time.Duration
		for range b.N {
			handRound++
			want := fmt.Sprintf("hand-%d", handRound)
			ds = append(ds, timeIt(b, model+"-hand", want, func() { writeHand(want) }))
		}
		report(b, ds)
	})
}

// bootstrapAfter bootstraps Flux on main at sha and waits until it is
// applied.
func (s *story) bootstrapAfter(sha string) {
	s.t.Helper()
	s.bootstrap()
	s.follow(sha)
}

// triggerSource annotates the GitRepository only, as `flux reconcile
// source git` does; the Kustomizations follow its new artifact.
func (c *cluster) triggerSource() {
	c.t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"reconcile.fluxcd.io/requestedAt":%q}}}`, time.Now().Format(time.RFC3339Nano))
	if _, err := c.dyn.Resource(gitRepositoryGVR).Namespace(fluxNS).Patch(context.Background(), fluxName, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: "e2e-trigger"}); err != nil {
		c.t.Fatalf("annotating the GitRepository: %v", err)
	}
}

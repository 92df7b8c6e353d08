package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestFluxFollowsPromotions is issue 12's story against real parts: every
// promotion is a pull request on the fake GitHub, approved and merged with
// the real modelgit CLI; a real source-controller clones the merge over
// HTTPS (verifying HEAD's signature) and a real kustomize-controller
// applies it to a real API server, where the test reads what is there.
func TestFluxFollowsPromotions(t *testing.T) {
	s := newStory(t)
	s.c = startCluster(t, s.front.caFile)
	s.markDeploymentsAvailable()

	// register → promote to staging → approve → merge → Flux applies it.
	v1 := s.register(1)
	// The serving image blue-green's Deployments run (replace and canary
	// stay one InferenceService).
	s.writeFile(filepath.Join(s.reg, "models", model, "model.yaml"),
		s.git("show", "HEAD:models/"+model+"/model.yaml")+"serving:\n  image: registry.example.com/fraud-detector-server:1.0\n  port: 8080\n")
	s.git("commit", "-q", "-S", "-am", "Serve "+model+" from its own image when routed")
	s.push()
	main := s.promote("promote", model+"@"+v1, "--to", environment)
	s.bootstrap()
	live := s.follow(main)
	if a := s.wantState("applied", ""); a.ReleaseCommit != main {
		t.Errorf("status: release commit %s, want the merge %s", a.ReleaseCommit, main)
	}
	isvc := s.inferenceService(live)
	_, versions := s.release()
	if len(versions) != 1 || versions[0]["version"] != v1 {
		t.Fatalf("release at main: %v, want %s alone", versions, v1)
	}
	wantAnn := map[string]string{"modelgit.dev/version": v1, "modelgit.dev/digest": fmt.Sprint(versions[0]["digest"])}
	for k, v := range wantAnn {
		if got := isvc.GetAnnotations()[k]; got != v {
			t.Errorf("live InferenceService annotation %s = %q, want %q (the release's)", k, got, v)
		}
	}
	limits, _, _ := unstructured.NestedStringMap(isvc.Object, "spec", "predictor", "model", "resources", "limits")
	if limits[gpuResource] != gpuCount {
		t.Errorf("live InferenceService GPU limits %v, want %s: %s (the cluster's)", limits, gpuResource, gpuCount)
	}
	sel, _, _ := unstructured.NestedStringMap(isvc.Object, "spec", "predictor", "nodeSelector")
	if sel["nvidia.com/gpu.product"] != "A100-SXM4-80GB" {
		t.Errorf("live InferenceService nodeSelector %v, want the cluster's nvidia.com/gpu.product", sel)
	}
	tol, _, _ := unstructured.NestedSlice(isvc.Object, "spec", "predictor", "tolerations")
	if len(tol) != 1 || fmt.Sprint(tol[0].(map[string]any)["key"]) != gpuResource {
		t.Errorf("live InferenceService tolerations %v, want the cluster's %s toleration", tol, gpuResource)
	}

	// A 10% canary of a new version: one InferenceService carrying it.
	v2 := s.register(2)
	s.push()
	live = s.follow(s.promote("promote", model+"@"+v2, "--to", environment, "--strategy", "canary", "--weight", "10"))
	isvc = s.inferenceService(live)
	if w, _, _ := unstructured.NestedInt64(isvc.Object, "spec", "predictor", "canaryTrafficPercent"); w != 10 {
		t.Errorf("live canaryTrafficPercent %d, want 10", w)
	}
	if got := isvc.GetAnnotations()["modelgit.dev/version"]; got != v2 {
		t.Errorf("live canary version %q, want %s", got, v2)
	}
	// Complete the canary.
	live = s.follow(s.promote("promote", model+"@"+v2, "--to", environment, "--strategy", "canary", "--weight", "100"))
	if got := s.inferenceService(live).GetAnnotations()["modelgit.dev/version"]; got != v2 {
		t.Errorf("live version after the canary completed %q, want %s", got, v2)
	}

	// Blue-green: a standby beside the active version (Deployments,
	// Services and an HTTPRoute; the InferenceService is pruned), then the
	// switch.
	v3 := s.register(3)
	s.push()
	live = s.follow(s.promote("promote", model+"@"+v3, "--to", environment, "--strategy", "blue-green"))
	s.wantDeployments(live, v2, v3)
	live = s.follow(s.promote("promote", model+"@"+v3, "--to", environment, "--strategy", "blue-green", "--switch"))
	s.wantDeployments(live, v2, v3)
	if _, versions := s.release(); len(versions) == 0 || versions[0]["version"] != v3 {
		t.Fatalf("release after the switch: %v, want %s active", versions, v3)
	}

	// Roll back to the version before, found in history.
	before := s.liveModelObjects()
	main = s.promote("rollback", model, "--env", environment)
	live = s.follow(main)
	if keys(before) == keys(live) && sameVersions(before, live) {
		t.Fatalf("the rollback merge %s changed nothing in the API server:\n%s", main, keys(live))
	}
	t.Logf("after the rollback: %v", versionsOf(live))

	// Fault: the git server goes away while a merge waits to be applied.
	// Flux reports the source not Ready, keeps what it applied, and
	// converges once the server is back.
	v4 := s.register(4)
	s.push()
	applied := s.rendered()
	s.front.setGitDown(true)
	main = s.promote("promote", model+"@"+v4, "--to", environment)
	s.wantPending(main)
	s.c.trigger()
	waitFor(t, reconcileTimeout, "GitRepository not Ready while the git server is down", func() error {
		g, err := s.c.flux(gitRepositoryGVR)
		if err != nil {
			return err
		}
		if st, msg := conditionFull(g, "Ready"); st != "False" {
			return errf("Ready=%q (%s)", st, msg)
		}
		return nil
	})
	s.wantState("failed to apply", "GitRepository")
	s.checkLive(applied)
	s.front.setGitDown(false)
	live = s.follow(main)
	s.wantState("applied", "")
	if got := s.inferenceService(live).GetAnnotations()["modelgit.dev/version"]; got != v4 {
		t.Errorf("live version after the git server came back %q, want %s", got, v4)
	}

	// Fault: a hand edit on main that the API server rejects. Flux says
	// so, and the objects applied before stay.
	applied = s.rendered()
	s.handEditInvalid()
	bad := s.mainSHA()
	s.c.trigger()
	waitFor(t, reconcileTimeout, "the Kustomization to fail on "+bad, func() error {
		k, err := s.c.flux(kustomizationGVR)
		if err != nil {
			return err
		}
		rev, _, _ := unstructured.NestedString(k.Object, "status", "lastAttemptedRevision")
		st, msg := conditionFull(k, "Ready")
		if !strings.HasSuffix(rev, bad) || st != "False" {
			return errf("last attempted %q, Ready=%q (%s)", rev, st, msg)
		}
		if !strings.Contains(msg, "minReplicas") {
			return errf("Ready=False, but the message does not name the invalid field: %s", msg)
		}
		return nil
	})
	s.checkLive(applied)
	// The release itself was applied before the edit; status shows Flux's
	// failure and the commit it failed on.
	if a := s.wantState("applied", "fails to apply"); a.Flux == nil || a.Flux.Ready.Status != "False" || !strings.Contains(a.Flux.Ready.Message, "minReplicas") || !strings.HasSuffix(a.Flux.LastAttemptedRevision, bad) {
		t.Errorf("status after the rejected edit: %+v, want Ready=False with Flux's message naming minReplicas, last attempted %s", a.Flux, bad)
	} else if !strings.Contains(a.Message, bad[:12]) || !strings.Contains(a.Message, "minReplicas") {
		t.Errorf("status after the rejected edit says %q; want the failing commit %s and Flux's message", a.Message, bad[:12])
	}
	s.git("revert", "--no-edit", "-S", "HEAD")
	s.push()
	s.follow(s.mainSHA())

	// OpenPGP signers are verified by Flux like ssh ones.
	s.openPGPHeads()

	// prune: a release removed from the environment leaves nothing behind.
	// render reads the committed releases: commit the removal, then
	// what it renders to (the model's rendered file goes away).
	s.git("rm", "-q", filepath.Join("environments", environment, model+".yaml"))
	s.git("commit", "-q", "-S", "-m", "Retire "+model+" from "+environment)
	s.mg("render")
	s.git("add", "-A")
	s.git("commit", "-q", "-S", "-m", "Render the retirement of "+model+" from "+environment)
	s.push()
	if live := s.follow(s.mainSHA()); len(live) != 0 {
		t.Fatalf("objects left after the release was removed: %s", keys(live))
	}
}

// inferenceService is the model's one live InferenceService.
func (s *story) inferenceService(live map[string]*unstructured.Unstructured) *unstructured.Unstructured {
	s.t.Helper()
	var found *unstructured.Unstructured
	for _, o := range live {
		if o.GetKind() == "InferenceService" && o.GetName() == model {
			found = o
		}
	}
	if found == nil {
		s.t.Fatalf("no InferenceService %s in the API server; it holds:\n%s", model, keys(live))
	}
	return found
}

// wantDeployments checks that a live Deployment carries each version, and
// that no InferenceService is left.
func (s *story) wantDeployments(live map[string]*unstructured.Unstructured, versions ...string) {
	s.t.Helper()
	got := map[string]bool{}
	for _, o := range live {
		switch o.GetKind() {
		case "Deployment":
			got[o.GetAnnotations()["modelgit.dev/version"]] = true
		case "InferenceService":
			s.t.Errorf("InferenceService %s still in the API server after the switch to Deployments (not pruned)", o.GetName())
		}
	}
	for _, v := range versions {
		if !got[v] {
			s.t.Errorf("no live Deployment of version %s; live: %v", v, versionsOf(live))
		}
	}
}

// handEditInvalid commits, signed, straight to main, an edit of the
// rendered InferenceService that its CRD's schema rejects, as a careless
// hand would.
func (s *story) handEditInvalid() {
	s.t.Helper()
	p := filepath.Join(s.reg, "rendered", environment, model+".yaml")
	b, err := os.ReadFile(p)
	if err != nil {
		s.t.Fatal(err)
	}
	edited := strings.Replace(string(b), "\n  predictor:\n", "\n  predictor:\n    minReplicas: lots\n", 1)
	if edited == string(b) {
		s.t.Fatalf("no predictor to edit in %s:\n%s", p, b)
	}
	s.writeFile(p, edited)
	s.git("commit", "-q", "-S", "-am", "Scale "+model+" by hand")
	s.push()
}

func versionsOf(live map[string]*unstructured.Unstructured) []string {
	var out []string
	for k, o := range live {
		out = append(out, k+"@"+o.GetAnnotations()["modelgit.dev/version"])
	}
	return out
}

func sameVersions(a, b map[string]*unstructured.Unstructured) bool {
	for k, o := range a {
		if b[k] == nil || b[k].GetAnnotations()["modelgit.dev/version"] != o.GetAnnotations()["modelgit.dev/version"] ||
			b[k].GetAnnotations()["modelgit.dev/strategy"] != o.GetAnnotations()["modelgit.dev/strategy"] {
			return false
		}
	}
	return true
}

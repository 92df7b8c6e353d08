package gitops_test

import (
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/promote"
	"github.com/modelgit/modelgit/gitops/register"
	"github.com/modelgit/modelgit/gitops/signing"
)

// TestNoFluxURLSaysWhatToDo: a repository without a forge or an origin
// remote has no clone URL for Flux. Init says it did not lay out
// clusters/ and why; render and promote say how to give one; with an
// origin added, init lays clusters/ out and render works.
func TestNoFluxURLSaysWhatToDo(t *testing.T) {
	f := newFixture(t)
	o := f.options(base)
	o.Framework = "sklearn=1.5.2"
	if _, err := register.Register(ctx, f.reg, o); err != nil {
		t.Fatal(err)
	}
	const help = "set flux.url in modelgit.yaml to the URL your clusters clone this repository from (modelgit init --flux-url URL), or set forge.repository (modelgit init --github OWNER/NAME), or add a git remote origin Flux can clone (git remote add origin URL)"

	signer, err := signing.LoadSSHSigner(f.key)
	if err != nil {
		t.Fatal(err)
	}
	initOpts := register.InitOptions{Identity: alice, Signer: signer}
	res, err := register.Init(ctx, f.root, initOpts)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.NoClusters, "clusters/ was not laid out") || !strings.Contains(res.NoClusters, help) {
		t.Errorf("Init.NoClusters = %q, want why clusters/ was not laid out and %q", res.NoClusters, help)
	}

	_, err = f.reg.Render()
	mustContain(t, err, `rendering cluster "gpu-dev"`, help)
	_, err = f.reg.BuildCluster("gpu-prod")
	mustContain(t, err, help)
	_, err = promote.Promote(ctx, f.reg, promote.PromoteOptions{Ref: "fraud@0.1.0+data.1", Env: "dev", Identity: gitops.Identity{Signature: alice, Signer: f.signer}})
	mustContain(t, err, `promoting to "dev"`, `rendering cluster "gpu-dev"`, help)

	if err := f.reg.Repo().AddRemote("origin", "https://git.example.com/acme/models.git"); err != nil {
		t.Fatal(err)
	}
	res, err = register.Init(ctx, f.root, initOpts)
	if err != nil {
		t.Fatal(err)
	}
	if res.NoClusters != "" || !strings.Contains(strings.Join(res.Written, " "), "clusters/gpu-dev/kustomization.yaml") {
		t.Errorf("Init with an origin: NoClusters %q, wrote %v", res.NoClusters, res.Written)
	}
	f.reopen()
	if _, err := f.reg.Render(); err != nil {
		t.Errorf("Render with an origin: %v", err)
	}
}

// TestBuildClusterUnknown: an undeclared cluster is refused before
// rendering, listing the declared ones.
func TestBuildClusterUnknown(t *testing.T) {
	f := newFixture(t)
	_, err := f.reg.BuildCluster("nope")
	mustContain(t, err, `building cluster "nope": not declared in modelgit.yaml; declared clusters: gpu-dev, gpu-staging, gpu-prod`)
}

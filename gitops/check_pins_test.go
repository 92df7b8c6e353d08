package gitops_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/check"
	"github.com/modelgit/modelgit/gitops/promote"
	"github.com/modelgit/modelgit/gitops/register"
	"github.com/modelgit/modelgit/gitops/store/storetest"
	"github.com/modelgit/modelgit/manifests"
)

// TestCheckAndVerifyOCIPins: with an OCI store, a release whose storageUri
// (and rendered storageUri) was hand-edited to a foreign digest fails the
// rendered check and verify --deep, naming the file, the line, the URI
// found and the pin computed from the committed version; promote's own
// pin passes both. The registry is the real distribution registry.
func TestCheckAndVerifyOCIPins(t *testing.T) {
	reg := storetest.Start(t, t.TempDir(), false)
	t.Cleanup(reg.Kill)
	f := newFixture(t)
	cfgPath := filepath.Join(f.root, manifests.ConfigFile)
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	url := "oci://" + reg.Addr + "/ml/models"
	cfg2 := regexp.MustCompile(`(?m)^store:.*$`).ReplaceAllString(string(cfg), "store: "+url)
	if cfg2 == string(cfg) {
		t.Fatalf("no store line in %s:\n%s", manifests.ConfigFile, cfg)
	}
	writeFile(t, cfgPath, cfg2)
	git(t, f.root, "commit", "-q", "-S", "-am", "Store artifacts in the registry")
	f.reopen()
	o := f.options(base)
	o.Framework = "sklearn=1.5.2"
	if _, err := register.Register(ctx, f.reg, o); err != nil {
		t.Fatal(err)
	}
	git(t, f.root, "remote", "add", "origin", "https://git.example.com/acme/models.git")
	f.reopen()
	res, err := promote.Promote(ctx, f.reg, promote.PromoteOptions{Ref: "fraud@0.1.0+data.1", Env: "dev", Identity: gitops.Identity{Signature: alice, Signer: f.signer}})
	if err != nil {
		t.Fatal(err)
	}
	rel := git(t, f.root, "show", res.Branch+":environments/dev/fraud.yaml")
	pin := regexp.MustCompile(`storageUri: (oci://\S+@sha256:[0-9a-f]{64})`).FindStringSubmatch(rel)
	if pin == nil {
		t.Fatalf("the release pins no OCI manifest:\n%s", rel)
	}
	runCheck := func() *check.CheckReport {
		t.Helper()
		rep, err := check.Check(ctx, f.reg, check.CheckOptions{Base: "main", Head: res.Branch})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	verifyPinned := func() []check.Finding {
		t.Helper()
		rep, err := check.Verify(ctx, f.reg, check.VerifyOptions{Range: res.Branch, Deep: true})
		if err != nil {
			t.Fatal(err)
		}
		var out []check.Finding
		for _, fd := range rep.Findings {
			if fd.Check == "pinned" {
				out = append(out, fd)
			}
		}
		return out
	}
	wantStatus(t, runCheck(), check.CheckRendered, check.CheckPass)
	if fs := verifyPinned(); len(fs) != 0 {
		t.Errorf("verify --deep of promote's own pin: %v", fs)
	}

	// Point the release and its rendered file at a foreign manifest.
	foreign := url + "@sha256:" + strings.Repeat("ab", 32)
	git(t, f.root, "checkout", "-q", res.Branch)
	for _, p := range []string{"environments/dev/fraud.yaml", "rendered/dev/fraud.yaml"} {
		raw, err := os.ReadFile(filepath.Join(f.root, p))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(raw), pin[1]) {
			t.Fatalf("%s lacks the pin %s:\n%s", p, pin[1], raw)
		}
		writeFile(t, filepath.Join(f.root, p), strings.ReplaceAll(string(raw), pin[1], foreign))
	}
	git(t, f.root, "commit", "-q", "-S", "-am", "Deploy something else")
	git(t, f.root, "checkout", "-q", "main")
	f.reopen()

	rep := runCheck()
	wantStatus(t, rep, check.CheckRendered, check.CheckFail,
		"environments/dev/fraud.yaml:",
		`versions[0].storageUri of 0.1.0+data.1 is "`+foreign+`", want `+pin[1],
		"rendered/dev/fraud.yaml:",
		"storage URI "+foreign+" is not the pin of a version environments/dev/fraud.yaml releases (want "+pin[1]+")",
		"re-run modelgit promote")
	if rep.Passed {
		t.Error("a foreign storageUri passed the check")
	}
	fs := verifyPinned()
	if len(fs) != 2 {
		t.Fatalf("verify --deep: pinned findings %v, want the release and the rendered file", fs)
	}
	for i, want := range []string{"environments/dev/fraud.yaml", "rendered/dev/fraud.yaml"} {
		if fs[i].Path != want || !strings.Contains(fs[i].Message, "line ") || !strings.Contains(fs[i].Message, pin[1]) || !strings.Contains(fs[i].Message, foreign) {
			t.Errorf("finding %d = %+v, want %s with the line, the pin and the URI found", i, fs[i], want)
		}
	}
}

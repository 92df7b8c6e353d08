package modelgit_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The import graph, one allowlist per package, in the style of
// go-containerregistry's internal/depcheck: a package may import exactly
// the modelgit packages listed for it (standard library and third-party
// imports are not checked here). Imports point down:
//
//	cmd → action → monitor → promote → {check, audit, register} → ledger
//	    → gitops (core) → {repo, store, render, forge, signing, prom}
//	    → policies → manifests
//
// A new package must be given its line here before it builds into CI.
var (
	leaf     = []string{"manifests"}
	lower    = []string{"manifests", "policies", "templates", "gitops/internal/durable", "gitops/repo", "gitops/store", "gitops/render", "gitops/forge", "gitops/signing", "gitops/prom"}
	core     = append([]string{"gitops"}, lower...)
	overCore = append([]string{"gitops/ledger"}, core...)
	features = append([]string{"gitops/check", "gitops/audit", "gitops/register"}, overCore...)
	library  = append([]string{"gitops/promote", "gitops/monitor", "gitops/forge/githubfake", "gitops/prom/promtest", "gitops/fluxstatus"}, features...)
)

var allowedImports = map[string][]string{
	"manifests":                              nil,
	"policies":                               leaf,
	"templates":                              leaf,
	"gitops/internal/durable":                nil,
	"gitops/signing":                         leaf,
	"gitops/signing/signingtest":             nil,
	"gitops/repo":                            {"manifests", "gitops/internal/durable", "gitops/signing"},
	"gitops/store":                           {"manifests", "gitops/internal/durable"},
	"gitops/store/storetest":                 nil,
	"gitops/render":                          {"manifests", "policies", "gitops/internal/durable", "gitops/signing"},
	"gitops/fluxstatus":                      {"manifests", "gitops/repo", "gitops/render"},
	"gitops/forge":                           leaf,
	"gitops/forge/githubfake/githubfaketest": {"gitops/forge/githubfake"},
	"gitops/forge/githubfake":                {"manifests", "gitops/forge", "gitops/signing"},
	"gitops/prom":                            leaf,
	"gitops/prom/promtest":                   {"gitops/prom"},
	"gitops":                                 lower,
	"gitops/ledger":                          core,
	"gitops/check":                           overCore,
	"gitops/audit":                           overCore,
	"gitops/register":                        overCore,
	"gitops/promote":                         features,
	"gitops/monitor":                         append([]string{"gitops/promote"}, features...),
	"action":                                 library,
	"cmd/modelgit/cmdutil":                   append([]string{"action"}, library...),
	"cmd/modelgit/app":                       append([]string{"action", "cmd/modelgit/cmdutil"}, library...),
	"cmd/modelgit":                           {"cmd/modelgit/app"},
	"bench/auditgen":                         library,
	"bench/ocipush":                          library,
	"bench/rendergen":                        library,
	"bench/sha256pass":                       library,
}

// goPackage is the part of `go list -json` these tests read.
type goPackage struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// goList runs `go list -e -json=FIELDS ARGS…` in the module root.
func goList(t *testing.T, fields string, args ...string) (module string, pkgs []goPackage) {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list packages: %v", err)
	}
	modOut, err := exec.Command(goTool, "list", "-m").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	module = strings.TrimSpace(string(modOut))
	cmd := exec.Command(goTool, append([]string{"list", "-e", "-json=" + fields}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", args, err, stderr.String())
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("reading go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return module, pkgs
}

// TestImportAllowlists checks every import of every package of the module
// against its allowlist (tests excluded: an external _test package may
// reach anywhere).
func TestImportAllowlists(t *testing.T) {
	module, pkgs := goList(t, "ImportPath,Imports", "./...")
	checked := 0
	for _, p := range pkgs {
		from, ok := strings.CutPrefix(p.ImportPath, module+"/")
		if !ok {
			continue // the module root holds only tests
		}
		allowed, known := allowedImports[from]
		if !known {
			t.Errorf("package %s has no allowlist: add it to allowedImports in depcheck_test.go", from)
			continue
		}
		checked++
		for _, imp := range p.Imports {
			to, ok := strings.CutPrefix(imp, module+"/")
			if ok && !slices.Contains(allowed, to) {
				t.Errorf("%s imports %s, which its allowlist does not name (imports point down: see depcheck_test.go)", from, to)
			}
		}
	}
	// Guard against a vacuous pass (wrong directory, empty listing).
	if checked < 20 {
		t.Errorf("checked %d packages; the listing is incomplete", checked)
	}
}

// TestShippedBinaryHasNoTestHelpers keeps test-only code out of
// modelgit: quickstart's built-in GitHub is a product feature and must
// not need httptest or fluxcd's test git server.
func TestShippedBinaryHasNoTestHelpers(t *testing.T) {
	_, pkgs := goList(t, "ImportPath,Deps", "./cmd/modelgit")
	if len(pkgs) != 1 || len(pkgs[0].Deps) == 0 {
		t.Fatalf("go list -deps ./cmd/modelgit listed %d packages", len(pkgs))
	}
	for _, bad := range []string{"testing", "net/http/httptest", "github.com/fluxcd/pkg/gittestserver"} {
		if slices.Contains(pkgs[0].Deps, bad) {
			t.Errorf("./cmd/modelgit links %s, a test helper", bad)
		}
	}
}

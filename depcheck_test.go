package modelgit_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// rank orders the layers: a package may import only packages of a lower
// rank (imports point down: cmd → action → gitops → policies → manifests).
var rank = map[string]int{
	"manifests": 0,
	"policies":  1,
	"gitops":    2,
	"action":    3,
	"cmd":       4,
}

// Layers outside the chain:
//   - templates is data: any layer but manifests may import it, and it may
//     import only manifests.
//   - bench holds benchmarks across the module: it may import anything
//     except cmd, and nothing imports it.
const (
	templatesLayer = "templates"
	benchLayer     = "bench"
)

// layerOf returns the layer of a package path relative to the module root:
// its first element (gitops/store belongs to gitops).
func layerOf(rel string) string {
	top, _, _ := strings.Cut(rel, "/")
	return top
}

// checkImport returns nil when package from may import package to (both
// relative to the module root), and otherwise says which rule it breaks.
func checkImport(from, to string) error {
	lf, lt := layerOf(from), layerOf(to)
	for _, l := range []string{lf, lt} {
		if _, ok := rank[l]; !ok && l != templatesLayer && l != benchLayer {
			return fmt.Errorf("%s imports %s: layer %q is unknown; add it to the layers in depcheck_test.go", from, to, l)
		}
	}
	switch {
	case lf == lt:
		return nil // subpackages of one layer import each other freely
	case lf == "manifests":
		return fmt.Errorf("%s imports %s: manifests is the leaf and imports no modelgit package", from, to)
	case lt == "cmd":
		return fmt.Errorf("%s imports %s: nothing imports cmd", from, to)
	case lt == benchLayer:
		return fmt.Errorf("%s imports %s: nothing imports bench", from, to)
	case lt == templatesLayer:
		return nil
	case lf == templatesLayer:
		if lt == "manifests" {
			return nil
		}
		return fmt.Errorf("%s imports %s: templates is data and may import only manifests", from, to)
	case lf == benchLayer:
		return nil
	case rank[lf] > rank[lt]:
		return nil
	}
	return fmt.Errorf("%s imports %s: imports point down: cmd → action → gitops → policies → manifests", from, to)
}

func TestCheckImport(t *testing.T) {
	tests := []struct {
		from, to string
		ok       bool
	}{
		// Down the chain.
		{"cmd/modelgit/app", "gitops", true},
		{"cmd/modelgit/app", "manifests", true},
		{"cmd/modelgit/app", "action", true},
		{"action", "gitops/forge", true},
		{"gitops", "policies", true},
		{"gitops/store", "manifests", true},
		{"policies", "manifests", true},
		// Within a layer.
		{"gitops/store", "gitops/repo", true},
		{"gitops", "gitops/signing", true},
		{"cmd/modelgit", "cmd/modelgit/app", true},
		{"cmd/modelgit/app", "cmd/modelgit/cmdutil", true},
		// Templates are data.
		{"gitops", "templates", true},
		{"cmd/modelgit/app", "templates", true},
		{"policies", "templates", true},
		{"templates", "manifests", true},
		{"manifests", "templates", false},
		{"templates", "gitops", false},
		{"templates", "policies", false},
		// Up the chain.
		{"manifests", "policies", false},
		{"manifests", "gitops/store", false},
		{"policies", "gitops", false},
		{"gitops/store", "action", false},
		{"gitops", "cmd/modelgit/cmdutil", false},
		{"action", "cmd/modelgit/app", false},
		// Benchmarks.
		{"bench", "gitops", true},
		{"bench", "cmd/modelgit/app", false},
		{"gitops", "bench", false},
		// Unknown layers must be placed first.
		{"internal/x", "manifests", false},
		{"gitops", "tools/gen", false},
	}
	for _, tt := range tests {
		err := checkImport(tt.from, tt.to)
		if (err == nil) != tt.ok {
			t.Errorf("checkImport(%q, %q) = %v, want allowed=%v", tt.from, tt.to, err, tt.ok)
		}
	}
}

// goPackage is the part of `go list -json` this test reads.
type goPackage struct {
	ImportPath string
	Imports    []string
}

// TestDependencyDirection checks every import of every package of the
// module (tests excluded: an external _test package may reach upward).
func TestDependencyDirection(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list packages: %v", err)
	}
	modOut, err := exec.Command(goTool, "list", "-m").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	module := strings.TrimSpace(string(modOut))

	// -e: a package that does not compile still lists its imports.
	cmd := exec.Command(goTool, "list", "-e", "-json=ImportPath,Imports", "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list ./...: %v\n%s", err, stderr.String())
	}
	rel := func(p string) (string, bool) {
		if p == module {
			return "", true
		}
		r, ok := strings.CutPrefix(p, module+"/")
		return r, ok
	}

	seen := map[string]bool{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("reading go list output: %v", err)
		}
		from, ok := rel(p.ImportPath)
		if !ok || from == "" {
			continue // the module root holds only this test
		}
		seen[layerOf(from)] = true
		for _, imp := range p.Imports {
			to, ok := rel(imp)
			if !ok {
				continue
			}
			if err := checkImport(from, to); err != nil {
				t.Error(err)
			}
		}
	}
	// Guard against a vacuous pass (wrong directory, empty listing).
	for _, l := range []string{"cmd", "manifests"} {
		if !seen[l] {
			t.Errorf("go list found no package in %s/; the check ran on nothing", l)
		}
	}
}

package e2e

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Where the parts are, found once by TestMain.
var (
	// partsDir holds etcd, kube-apiserver, source-controller,
	// kustomize-controller and crds/ (the Flux CRDs of those controllers).
	partsDir string
	// modelgitBin is the CLI built from this checkout.
	modelgitBin string
	// repoRoot is the modelgit checkout this module sits in.
	repoRoot string
)

func TestMain(m *testing.M) {
	// The GitHub fake's git server logs every request with the standard
	// logger.
	log.SetOutput(io.Discard)
	code, err := setup(m)
	if err != nil {
		// Never a skip: a missing part is a failure that says how to get it.
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	wd, err := os.Getwd()
	if err != nil {
		return 0, err
	}
	repoRoot = filepath.Dir(wd)
	tmp, err := os.MkdirTemp("", "modelgit-e2e-bin-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)

	partsDir = os.Getenv("MODELGIT_E2E_BIN")
	if partsDir == "" {
		// Built once into a cache keyed by tools/*/go.{mod,sum}; instant when there.
		out, err := run(repoRoot, nil, filepath.Join(repoRoot, "scripts", "e2e-build.sh"))
		if err != nil {
			return 0, fmt.Errorf("building the parts (scripts/e2e-build.sh): %w", err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		partsDir = lines[len(lines)-1]
	}
	for _, p := range []string{"etcd", "kube-apiserver", "source-controller", "kustomize-controller", "crds"} {
		if _, err := os.Stat(filepath.Join(partsDir, p)); err != nil {
			return 0, fmt.Errorf("%s is missing from %s: build it with scripts/e2e-build.sh", p, partsDir)
		}
	}
	for _, tool := range []string{"git", "ssh-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			return 0, fmt.Errorf("%s is not installed: apt-get install -y git openssh-client", tool)
		}
	}

	modelgitBin = filepath.Join(tmp, "modelgit")
	if _, err := run(repoRoot, nil, "go", "build", "-o", modelgitBin, "./cmd/modelgit"); err != nil {
		return 0, fmt.Errorf("building modelgit (go build ./cmd/modelgit): %w", err)
	}
	return m.Run(), nil
}

// run runs a command in dir and returns its stdout; the error carries
// stderr.
func run(dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

package store

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/modelgit/modelgit/gitops/store/storetest"
)

// Credentials of the registry started with auth.
const (
	testRegistryUser     = storetest.User
	testRegistryPassword = storetest.Password
)

// testRegistry is a real CNCF distribution registry (Debian package
// docker-registry) on a free 127.0.0.1 port, storing in a temp directory.
type testRegistry struct {
	reg  *storetest.Registry
	addr string
}

// startRegistry starts a registry, with htpasswd basic auth (bcrypt) when
// withAuth is set, and waits until /v2/ answers. It is stopped at the end
// of the test.
func startRegistry(t *testing.T, withAuth bool) *testRegistry {
	t.Helper()
	r := storetest.Start(t, t.TempDir(), withAuth)
	t.Cleanup(r.Kill)
	return &testRegistry{reg: r, addr: r.Addr}
}

// freeAddr returns a 127.0.0.1 address with a port nobody listens on.
func freeAddr(t *testing.T) string { return storetest.FreeAddr(t) }

func (r *testRegistry) start()                     { r.reg.Restart() }
func (r *testRegistry) kill()                      { r.reg.Kill() }
func (r *testRegistry) blobData(hex string) string { return r.reg.BlobData(hex) }
func (r *testRegistry) Log() string                { return r.reg.Log() }

func orasBin(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("oras"); err == nil {
		return p
	}
	if p, err := filepath.Abs("../../.bin/oras"); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatalf("the oras CLI is not installed: GOBIN=$PWD/.bin go install oras.land/oras/cmd/oras@v1.3.0 (scripts/test.sh does it)")
	return ""
}

// runOras runs the oras CLI with a private registry config.
func runOras(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(orasBin(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir(), "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("oras %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// newTestOCI returns a store on repository repo of r.
func newTestOCI(t *testing.T, r *testRegistry, repo string, opts OCIOptions) *OCI {
	t.Helper()
	o, err := NewOCI("oci://"+r.addr+"/"+repo, opts)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// addProgress calls fn with the running total of bytes reported.
type addProgress struct {
	mu    sync.Mutex
	total int64
	fn    func(total int64)
}

func (p *addProgress) Start(string, int64) {}
func (p *addProgress) Done()               {}
func (p *addProgress) Add(n int64) {
	p.mu.Lock()
	p.total += n
	t := p.total
	p.mu.Unlock()
	if p.fn != nil {
		p.fn(t)
	}
}

var _ = context.Background

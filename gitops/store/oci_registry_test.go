package store

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Credentials of the registry started with auth.
const (
	testRegistryUser     = "modelgit"
	testRegistryPassword = "s3cret-pa55word"
)

// testRegistry is a real CNCF distribution registry (Debian package
// docker-registry) on a free 127.0.0.1 port, storing in a temp directory.
type testRegistry struct {
	t    *testing.T
	addr string // 127.0.0.1:PORT
	root string // storage root directory
	cfg  string // config.yml
	mu   sync.Mutex
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startRegistry starts a registry, with htpasswd basic auth (bcrypt) when
// withAuth is set, and waits until /v2/ answers. It is stopped at the end
// of the test.
func startRegistry(t *testing.T, withAuth bool) *testRegistry {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Fatalf("docker-registry (the CNCF distribution registry) is not installed: apt-get install -y docker-registry (scripts/test.sh does it)")
	}
	_ = bin
	dir := t.TempDir()
	r := &testRegistry{t: t, addr: freeAddr(t), root: filepath.Join(dir, "storage"), cfg: filepath.Join(dir, "config.yml"), log: &syncBuffer{}}
	authCfg := ""
	if withAuth {
		if _, err := exec.LookPath("htpasswd"); err != nil {
			t.Fatalf("htpasswd is not installed: apt-get install -y apache2-utils (scripts/test.sh does it)")
		}
		out, err := exec.Command("htpasswd", "-Bbn", testRegistryUser, testRegistryPassword).Output()
		if err != nil {
			t.Fatalf("htpasswd -B: %v", err)
		}
		hp := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(hp, out, 0o600); err != nil {
			t.Fatal(err)
		}
		authCfg = fmt.Sprintf("auth:\n  htpasswd:\n    realm: modelgit-test\n    path: %s\n", hp)
	}
	// A fixed secret keeps upload sessions valid across a restart.
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
  secret: modelgit-test-secret
%s`, r.root, r.addr, authCfg)
	if err := os.WriteFile(r.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	r.start()
	t.Cleanup(r.kill)
	return r
}

// freeAddr returns a 127.0.0.1 address with a port nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// start runs the registry (again, on the same port and storage) and waits
// until it answers.
func (r *testRegistry) start() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	cmd := exec.Command("docker-registry", "serve", r.cfg)
	cmd.Stdout, cmd.Stderr = r.log, r.log
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("starting docker-registry: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	r.cmd, r.done = cmd, done
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + r.addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return
			}
		}
		select {
		case <-done:
			r.t.Fatalf("docker-registry exited:\n%s", r.log.String())
		default:
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("docker-registry did not answer on %s: %v\n%s", r.addr, err, r.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill stops the registry with SIGKILL, as a crash would.
func (r *testRegistry) kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.done
	r.cmd = nil
}

// blobData returns the path of a blob in the registry's storage.
func (r *testRegistry) blobData(hex string) string {
	return filepath.Join(r.root, "docker", "registry", "v2", "blobs", "sha256", hex[:2], hex, "data")
}

// orasBin finds the oras CLI: on PATH, or in the module's .bin.
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

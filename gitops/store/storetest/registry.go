// Package storetest runs the real parts the artifact-store tests need: the
// CNCF distribution registry (Debian's docker-registry) on a free
// 127.0.0.1 port, with or without htpasswd basic auth. It is used by tests
// only; nothing in modelgit's binary imports it.
package storetest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Credentials of a registry started with auth.
const (
	User     = "modelgit"
	Password = "s3cret-pa55word"
)

// Fataler is what the registry reports failures to: *testing.T and a
// testscript's *TestScript both are.
type Fataler interface {
	Fatalf(format string, args ...any)
}

// Registry is a running distribution registry storing under Root.
type Registry struct {
	t    Fataler
	Addr string // 127.0.0.1:PORT
	Root string // storage root directory
	cfg  string
	mu   sync.Mutex
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
}

// Start starts a registry whose files live under dir (config, storage,
// htpasswd), with htpasswd basic auth (bcrypt entries, htpasswd -B) when
// withAuth is set, and waits until /v2/ answers. Stop it with Kill.
func Start(t Fataler, dir string, withAuth bool) *Registry {
	if _, err := exec.LookPath("docker-registry"); err != nil {
		t.Fatalf("docker-registry (the CNCF distribution registry) is not installed: apt-get install -y docker-registry (scripts/test.sh does it)")
	}
	r := &Registry{t: t, Addr: FreeAddr(t), Root: filepath.Join(dir, "storage"), cfg: filepath.Join(dir, "config.yml"), log: &syncBuffer{}}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("creating %s: %v", dir, err)
	}
	authCfg := ""
	if withAuth {
		if _, err := exec.LookPath("htpasswd"); err != nil {
			t.Fatalf("htpasswd is not installed: apt-get install -y apache2-utils (scripts/test.sh does it)")
		}
		out, err := exec.Command("htpasswd", "-Bbn", User, Password).Output()
		if err != nil {
			t.Fatalf("htpasswd -B: %v", err)
		}
		hp := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(hp, out, 0o600); err != nil {
			t.Fatalf("writing %s: %v", hp, err)
		}
		authCfg = fmt.Sprintf("auth:\n  htpasswd:\n    realm: modelgit-test\n    path: %s\n", hp)
	}
	// The packaged config listens on :5000 with a broken htpasswd path;
	// this one is ours. A fixed secret keeps upload sessions valid across
	// a restart.
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
%s`, r.Root, r.Addr, authCfg)
	if err := os.WriteFile(r.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatalf("writing %s: %v", r.cfg, err)
	}
	r.Restart()
	return r
}

// FreeAddr returns a 127.0.0.1 address with a port nobody listens on.
func FreeAddr(t Fataler) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Restart runs the registry (again, on the same port and storage) and
// waits until it answers.
func (r *Registry) Restart() {
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
		resp, err := http.Get("http://" + r.Addr + "/v2/")
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
			r.t.Fatalf("docker-registry did not answer on %s: %v\n%s", r.Addr, err, r.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill stops the registry with SIGKILL, as a crash would.
func (r *Registry) Kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.done
	r.cmd = nil
}

// Log returns what the registry printed.
func (r *Registry) Log() string { return r.log.String() }

// BlobData returns the path of a blob in the registry's storage.
func (r *Registry) BlobData(hex string) string {
	return filepath.Join(r.Root, "docker", "registry", "v2", "blobs", "sha256", hex[:2], hex, "data")
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

package githubfake

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// GitServer serves the bare repositories under a root directory over
// git's smart HTTP protocol.
type GitServer interface {
	// URL is the base URL: the repository ROOT/PATH is at URL()+"/"+PATH.
	URL() string
	// Close stops the server.
	Close()
}

// ServeGit starts a GitServer over root; a non-empty token is required as
// the basic-auth password of user "x-access-token", as GitHub takes it.
type ServeGit func(root, token string) (GitServer, error)

// HTTPBackend serves root through git's own `git http-backend` (the CGI
// program git ships for smart HTTP) on a free 127.0.0.1 port: the git
// server of the fake when Options.ServeGit is nil, and so of quickstart.
func HTTPBackend(root, token string) (GitServer, error) {
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		return nil, fmt.Errorf("finding git http-backend: %w (install git: apt-get install -y git)", err)
	}
	backend := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(out)), "git-http-backend"),
		Env: []string{
			"GIT_PROJECT_ROOT=" + root,
			"GIT_HTTP_EXPORT_ALL=1",
			// Pushes are allowed, as on a forge: http-backend refuses
			// receive-pack to an unauthenticated user otherwise.
			"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.receivepack", "GIT_CONFIG_VALUE_0=true",
		},
	}
	h := http.Handler(backend)
	if token != "" {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			user, pass, ok := r.BasicAuth()
			if !ok || user != "x-access-token" || subtle.ConstantTimeCompare([]byte(pass), []byte(token)) != 1 {
				w.Header().Set("WWW-Authenticate", `Basic realm="githubfake"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
			backend.ServeHTTP(w, r)
		})
	}
	return listen(h)
}

// server is an http.Server on a loopback listener.
type server struct {
	url string
	srv *http.Server
}

func (s *server) URL() string { return s.url }
func (s *server) Close()      { _ = s.srv.Close() }

// listen serves h on a free 127.0.0.1 port.
func listen(h http.Handler) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening on 127.0.0.1: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &server{url: "http://" + ln.Addr().String(), srv: srv}, nil
}

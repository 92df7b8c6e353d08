package e2e

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// forgeFront is one loopback address for the in-process GitHub fake's API
// and a git smart-HTTP server (the real `git http-backend`) over the fake's
// bare repository, because modelgit renders the Flux GitRepository URL
// from the forge URL's host: https://<forge host>/OWNER/NAME.git, as it
// must for GitHub (or http:// for an http:// forge), and that URL,
// untouched, is what Flux clones.
//
//   - TLS (told by the first byte a client sends) is git;
//   - plain HTTP under /api/ is the fake's API (modelgit.yaml's forge.url
//     is http://ADDR/api/v3/), anything else git.
//
// The git side can be taken down and brought back (setGitDown) to test
// how Flux rides out an outage: its connections are then closed unanswered.
type forgeFront struct {
	ln      net.Listener
	caFile  string
	gitDown atomic.Bool
	plain   *chanListener
	tlsL    *chanListener
	wg      sync.WaitGroup
}

// startForgeFront serves apiURL's API and the bare repositories under
// gitRoot (OWNER/NAME.git) on one 127.0.0.1 port until the test ends. The
// TLS certificate, made here, is written to dir/git-ca.crt.
func startForgeFront(t testing.TB, dir, apiURL, gitRoot string) *forgeFront {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &forgeFront{ln: ln, caFile: filepath.Join(dir, "git-ca.crt"), plain: newChanListener(ln.Addr()), tlsL: newChanListener(ln.Addr())}
	cert, err := selfSigned(f.caFile)
	if err != nil {
		t.Fatal(err)
	}
	target, err := url.Parse(apiURL)
	if err != nil {
		t.Fatal(err)
	}
	target.Path = ""
	api := httputil.NewSingleHostReverseProxy(target)
	backend, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatalf("git --exec-path: %v", err)
	}
	gitLog, err := os.Create(filepath.Join(dir, "git-http.log"))
	if err != nil {
		t.Fatal(err)
	}
	git := &cgi.Handler{
		Path:   filepath.Join(strings.TrimSpace(string(backend)), "git-http-backend"),
		Env:    []string{"GIT_PROJECT_ROOT=" + gitRoot, "GIT_HTTP_EXPORT_ALL=1"},
		Stderr: gitLog,
	}
	gitOrDown := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.gitDown.Load() {
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
					return
				}
			}
			http.Error(w, "git server down", http.StatusServiceUnavailable)
			return
		}
		git.ServeHTTP(w, r)
	})
	plain := http.NewServeMux()
	plain.Handle("/api/", api)
	plain.Handle("/", gitOrDown)
	apiSrv := &http.Server{Handler: plain, ReadHeaderTimeout: 10 * time.Second}
	gitSrv := &http.Server{Handler: gitOrDown, ReadHeaderTimeout: 10 * time.Second}
	f.wg.Add(3)
	go func() { defer f.wg.Done(); _ = apiSrv.Serve(f.plain) }()
	go func() {
		defer f.wg.Done()
		_ = gitSrv.Serve(tls.NewListener(f.tlsL, &tls.Config{Certificates: []tls.Certificate{cert}}))
	}()
	go func() { defer f.wg.Done(); f.accept() }()
	t.Cleanup(func() {
		ln.Close()
		apiSrv.Close()
		gitSrv.Close()
		f.wg.Wait()
		gitLog.Close()
	})
	return f
}

// Addr is the host:port both servers answer on.
func (f *forgeFront) Addr() string { return f.ln.Addr().String() }

// setGitDown makes the git side refuse (close) every new connection, or
// serve again.
func (f *forgeFront) setGitDown(down bool) { f.gitDown.Store(down) }

func (f *forgeFront) accept() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			f.plain.close()
			f.tlsL.close()
			return
		}
		go func() {
			br := bufio.NewReader(c)
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			first, err := br.Peek(1)
			_ = c.SetReadDeadline(time.Time{})
			if err != nil {
				c.Close()
				return
			}
			pc := &peekedConn{Conn: c, r: br}
			if first[0] == 0x16 { // a TLS handshake record
				if f.gitDown.Load() {
					c.Close()
					return
				}
				f.tlsL.put(pc)
				return
			}
			f.plain.put(pc)
		}()
	}
}

// peekedConn is a connection whose first bytes were read ahead into r.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// chanListener is a net.Listener fed connections by forgeFront.accept.
type chanListener struct {
	addr   net.Addr
	conns  chan net.Conn
	done   chan struct{}
	closed sync.Once
}

func newChanListener(a net.Addr) *chanListener {
	return &chanListener{addr: a, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) put(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) close()         { l.closed.Do(func() { close(l.done) }) }
func (l *chanListener) Close() error   { l.close(); return nil }
func (l *chanListener) Addr() net.Addr { return l.addr }

// selfSigned makes a certificate for 127.0.0.1 and writes it, PEM, to
// caFile, for clients to trust.
func selfSigned(caFile string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "modelgit-e2e-git"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(caFile, certPEM, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
}

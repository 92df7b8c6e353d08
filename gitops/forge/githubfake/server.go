package githubfake

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/modelgit/modelgit/gitops/signing"
)

// TB is the part of testing.TB that New uses.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
}

// Options configures a Server.
type Options struct {
	// Owner and Repo name the repository; defaults "acme" and "models".
	Owner, Repo string
	// GitDir is an existing bare repository to serve. Empty: a new bare
	// repository with one commit on DefaultBranch, removed by Close.
	GitDir string
	// DefaultBranch of a new repository; default "main".
	DefaultBranch string
	// Token, when set, is required on every API request ("Bearer" or
	// "token") and for git over HTTP (user "x-access-token").
	Token string
	// Login is the user the token authenticates as: the author of PRs,
	// comments, statuses and reviews created through the API; default
	// "modelgit-bot".
	Login string
	// MergeSigner signs the merge (and squash) commits the fake makes, as
	// GitHub signs the commits it makes with its web-flow key. Nil: a new
	// ed25519 key of the server's own (see MergeKey).
	MergeSigner signing.Signer

	// DefaultPermission is the role (admin, maintain, write, triage, read,
	// none) of users that SetPermission was not called for; default
	// "write", so that reviewers in tests count as GitHub's required
	// reviews count them. "none" is what GitHub answers for a stranger
	// to a private repository.
	DefaultPermission string
	// ServeGit starts the git server of the repository; nil: HTTPBackend,
	// git's own http-backend. Tests pass githubfaketest.ServeGit, fluxcd's
	// test git server.
	ServeGit ServeGit
}

// Server is the fake GitHub API and its git server.
type Server struct {
	opts      Options
	api       *server
	git       GitServer
	gitDir    string
	repoPath  string
	removeDir string

	gitMu sync.Mutex // serializes merges (ref writes)

	mu               sync.Mutex
	pulls            []*pull // index number-1
	reviews          map[int][]*review
	comments         []*comment
	statuses         map[string][]*status
	labels           map[int][]string
	teams            map[string]map[string]bool
	userTypes        map[string]string
	userIDs          map[string]int64
	emails           map[string]string
	profiles         map[string]profile
	permissions      map[string]string
	protection       map[string]*Protection
	rulesets         []*Ruleset
	protectionDenied bool
	mergeMethods     []string // nil: merge and squash
	faults           []*fault
	delay            time.Duration
	delayN           int // -1: every request
	requests         []string
	nextID           int64
	rateRemaining    int
	rateReset        time.Time
}

type pull struct {
	Number               int
	Title, Body          string
	Head, Base           string
	HeadSHA              string
	State                string // open, closed
	Merged               bool
	MergeCommitSHA       string
	Author               string
	CreatedAt, UpdatedAt time.Time
	MergedAt, ClosedAt   *time.Time
	// BaseSHA is the PR's base.sha: as on GitHub, the base branch's tip
	// when the PR was opened or its head last pushed to (or, merged, the
	// base it was merged into). It does not follow the base branch: a
	// commit merged there later leaves it where it was.
	BaseSHA string
}

// profile is a user's public name and email.
type profile struct{ name, email string }

type review struct {
	ID          int64
	PR          int
	User        string
	State       string
	CommitID    string
	Body        string
	SubmittedAt time.Time
}

type comment struct {
	ID                   int64
	PR                   int
	User, Body           string
	CreatedAt, UpdatedAt time.Time
}

type status struct {
	ID                                     int64
	State, Context, Description, TargetURL string
	Creator                                string
	CreatedAt                              time.Time
}

type fault struct {
	method, pattern string
	status, left    int
}

// New starts a Server; with a non-nil tb it fails the test on error and
// closes the server at cleanup, with a nil tb it panics on error.
func New(tb TB, opts Options) *Server {
	if tb != nil {
		tb.Helper()
	}
	s, err := Start(opts)
	if err != nil {
		if tb == nil {
			panic(err)
		}
		tb.Fatalf("starting GitHub fake: %v", err)
	}
	if tb != nil {
		tb.Cleanup(s.Close)
	}
	return s
}

// Start starts a Server; the caller must Close it.
func Start(opts Options) (*Server, error) {
	opts, err := withDefaults(opts)
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts:          opts,
		reviews:       map[int][]*review{},
		statuses:      map[string][]*status{},
		labels:        map[int][]string{},
		teams:         map[string]map[string]bool{},
		userTypes:     map[string]string{},
		userIDs:       map[string]int64{},
		emails:        map[string]string{},
		profiles:      map[string]profile{},
		permissions:   map[string]string{},
		protection:    map[string]*Protection{},
		rateRemaining: 5000,
		rateReset:     time.Now().Add(time.Hour),
	}
	if err := s.setUpRepository(); err != nil {
		return nil, err
	}
	serve := opts.ServeGit
	if serve == nil {
		serve = HTTPBackend
	}
	// The served root holds the repository at repoPath.
	root := strings.TrimSuffix(s.gitDir, string(filepath.Separator)+filepath.FromSlash(s.repoPath))
	if s.git, err = serve(root, opts.Token); err != nil {
		if s.removeDir != "" {
			os.RemoveAll(s.removeDir)
		}
		return nil, fmt.Errorf("starting git server: %w", err)
	}
	if s.api, err = listen(s.handler()); err != nil {
		s.git.Close()
		return nil, err
	}
	return s, nil
}

// withDefaults fills in what opts leave out and checks the rest.
func withDefaults(opts Options) (Options, error) {
	if opts.Owner == "" {
		opts.Owner = "acme"
	}
	if opts.Repo == "" {
		opts.Repo = "models"
	}
	if opts.DefaultBranch == "" {
		opts.DefaultBranch = "main"
	}
	if opts.Login == "" {
		opts.Login = "modelgit-bot"
	}
	if opts.MergeSigner == nil {
		signer, err := newMergeSigner()
		if err != nil {
			return opts, err
		}
		opts.MergeSigner = signer
	}
	if opts.DefaultPermission == "" {
		opts.DefaultPermission = "write"
	}
	if !slices.Contains(roles, opts.DefaultPermission) {
		return opts, fmt.Errorf("starting GitHub fake: default permission %q is not valid; want one of %s", opts.DefaultPermission, strings.Join(roles, ", "))
	}
	return opts, nil
}

// setUpRepository serves Options.GitDir, or a new bare repository with
// one commit in a temporary directory that Close removes.
func (s *Server) setUpRepository() error {
	opts := s.opts
	if opts.GitDir != "" {
		dir, err := filepath.Abs(opts.GitDir)
		if err != nil {
			return fmt.Errorf("serving repository %q: %w", opts.GitDir, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "objects")); err != nil {
			return fmt.Errorf("serving repository %q: not a bare git repository (no objects directory): %w", opts.GitDir, err)
		}
		s.gitDir, s.repoPath = dir, filepath.Base(dir)
		return nil
	}
	root, err := os.MkdirTemp("", "githubfake-")
	if err != nil {
		return fmt.Errorf("creating the served repository: %w", err)
	}
	s.removeDir = root
	s.repoPath = opts.Owner + "/" + opts.Repo + ".git"
	s.gitDir = filepath.Join(root, opts.Owner, opts.Repo+".git")
	if err := initBare(s.gitDir, opts.DefaultBranch); err != nil {
		os.RemoveAll(s.removeDir)
		return err
	}
	return nil
}

// URL is the API base URL, ending in "/api/v3/" like GitHub Enterprise
// Server's (use it as forge.GitHubOptions.BaseURL or with go-github's
// WithEnterpriseURLs).
func (s *Server) URL() string { return s.api.URL() + "/api/v3/" }

// GitURL is the HTTP clone URL of the repository (no credentials; with
// Options.Token use basic auth "x-access-token" and the token).
func (s *Server) GitURL() string { return s.git.URL() + "/" + s.repoPath }

// GitDir is the served bare repository on disk.
func (s *Server) GitDir() string { return s.gitDir }

// MergeKey returns the public half of the key the fake signs its merge
// commits with: an authorized_keys line ("ssh-ed25519 AAAA…") for an SSH
// signer, else the armored OpenPGP public key. Add it to the Secret Flux
// verifies commits with (modelgit flux secret --forge-key) so that a
// cluster with verify mode HEAD follows merges made through the fake; it
// is also served at /web-flow.pub on the API host (GitHub serves its own
// at https://github.com/web-flow.gpg).
func (s *Server) MergeKey() string {
	sshKey, pgp, err := signing.PublicKey(s.opts.MergeSigner)
	if err != nil {
		return ""
	}
	if sshKey != "" {
		return sshKey + " " + mergeKeyComment + "\n"
	}
	return string(pgp)
}

// webFlowPath serves MergeKey without authentication, as github.com serves
// its web-flow key.
const webFlowPath = "/web-flow.pub"

// mergeKeyComment ends the fake's MergeKey line.
const mergeKeyComment = "githubfake-web-flow"

// newMergeSigner makes the fake's own ed25519 merge key.
func newMergeSigner() (signing.Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("making the merge signing key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, mergeKeyComment)
	if err != nil {
		return nil, fmt.Errorf("making the merge signing key: %w", err)
	}
	return signing.SSHSigner(pem.EncodeToMemory(block), nil)
}

// Repository is "owner/name".
func (s *Server) Repository() string { return s.opts.Owner + "/" + s.opts.Repo }

// Close stops both servers and removes a repository New created.
func (s *Server) Close() {
	s.api.Close()
	s.git.Close()
	if s.removeDir != "" {
		os.RemoveAll(s.removeDir)
	}
}

// liveHead returns the PR's head: for an open PR the branch tip read from
// the repository now (so a push after a check is seen), else the head it
// had when closed. A head that moved is GitHub's "synchronize": the PR's
// base.sha becomes the base branch's tip then. s.mu is held.
func (s *Server) liveHead(p *pull) string {
	if p.State != "open" {
		return p.HeadSHA
	}
	if sha, err := s.branchSHA(p.Head); err == nil && sha != "" && sha != p.HeadSHA {
		p.HeadSHA = sha
		if base, err := s.branchSHA(p.Base); err == nil && base != "" {
			p.BaseSHA = base
		}
	}
	return p.HeadSHA
}

func (s *Server) userType(login string) string {
	if t := s.userTypes[strings.ToLower(login)]; t != "" {
		return t
	}
	return "User"
}

func (s *Server) userJSON(login string) map[string]any {
	k := strings.ToLower(login)
	id, ok := s.userIDs[k]
	if !ok {
		id = int64(len(s.userIDs) + 1000)
		s.userIDs[k] = id
	}
	return map[string]any{"login": login, "id": id, "type": s.userType(login), "html_url": s.api.URL() + "/" + login}
}

func (s *Server) htmlURL(number int) string {
	return fmt.Sprintf("%s/%s/%s/pull/%d", s.api.URL(), s.opts.Owner, s.opts.Repo, number)
}

// handler wraps the routes with request logging, rate-limit headers,
// authentication, injected faults and delays.
func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	s.routes(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(r.URL.Path, "/api/v3")
		if p == "" {
			p = "/"
		}
		r.URL.Path = p
		r.URL.RawPath = ""
		s.mu.Lock()
		s.requests = append(s.requests, r.Method+" "+p)
		if s.rateRemaining > 1 {
			s.rateRemaining--
		}
		remaining, reset := s.rateRemaining, s.rateReset
		var f *fault
		for _, c := range s.faults {
			if c.left > 0 && matches(c.method, c.pattern, r.Method, p) {
				c.left--
				f = c
				break
			}
		}
		delay := time.Duration(0)
		if s.delayN != 0 && s.delay > 0 {
			delay = s.delay
			if s.delayN > 0 {
				s.delayN--
			}
		}
		s.mu.Unlock()

		h := w.Header()
		h.Set("X-RateLimit-Limit", "5000")
		h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
		h.Set("X-RateLimit-Used", strconv.Itoa(5000-remaining))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		h.Set("X-RateLimit-Resource", "core")
		h.Set("X-GitHub-Media-Type", "github.v3")

		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		if s.opts.Token != "" && p != webFlowPath {
			auth := r.Header.Get("Authorization")
			if auth != "Bearer "+s.opts.Token && auth != "token "+s.opts.Token {
				writeError(w, http.StatusUnauthorized, "Bad credentials")
				return
			}
		}
		if f != nil {
			switch f.status {
			case http.StatusForbidden, http.StatusTooManyRequests:
				reset := time.Now().Add(time.Minute)
				h.Set("X-RateLimit-Remaining", "0")
				h.Set("X-RateLimit-Used", "5000")
				h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
				if f.status == http.StatusTooManyRequests {
					h.Set("Retry-After", "60")
				}
				writeError(w, f.status, "API rate limit exceeded for user ID 1.")
			default:
				writeError(w, f.status, http.StatusText(f.status))
			}
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string, details ...map[string]any) {
	writeErrorDoc(w, code, msg, "https://docs.github.com/rest", details...)
}

// writeErrorDoc is writeError with GitHub's documentation_url for the
// error (protected-branch refusals point to the article about them).
func writeErrorDoc(w http.ResponseWriter, code int, msg, doc string, details ...map[string]any) {
	body := map[string]any{"message": msg, "documentation_url": doc}
	if len(details) > 0 {
		body["errors"] = details
	}
	writeJSON(w, code, body)
}

package cmdutil

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/modelgit/modelgit/action"
	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/gitops/repo"
	"github.com/modelgit/modelgit/gitops/store"
	"github.com/modelgit/modelgit/manifests"
)

// Factory builds what commands depend on. It is the only place that picks
// concrete implementations; tests replace its fields. Commands copy what
// they need into their Options in NewCmdXxx and call the functions only in
// RunE, so building the command tree costs nothing.
type Factory struct {
	// IOStreams is where commands read and print.
	IOStreams *IOStreams
	// Version is modelgit's version ("dev" when unknown).
	Version string
	// Commit is the VCS revision modelgit was built from ("" when unknown).
	Commit string
	// Executable is the path of the running modelgit binary.
	Executable string
	// RepoDir is the value of the global -C/--repo flag; "" means the
	// current directory. Read it through WorkDir.
	RepoDir string
	// RegistryConfig and PlainHTTP are the global --registry-config and
	// --plain-http flags, for an oci:// artifact store.
	RegistryConfig string
	PlainHTTP      bool
	// WorkDir returns the absolute directory the command works in: RepoDir
	// (relative to the current directory, like git -C) or the current
	// directory. It does not look for the repository root.
	WorkDir func() (string, error)
	// Now returns the current time.
	Now func() time.Time
	// CompletionTimeout bounds what shell completion may wait for the
	// forge (pull request numbers); 0 means two seconds.
	CompletionTimeout time.Duration

	// ---- Lazily built dependencies ------------------------------------
	// Each is called only in RunE, so commands that do not need it never
	// pay for it; tests replace them.

	// Repository opens the GitOps repository at WorkDir, with the store
	// named in its modelgit.yaml.
	Repository func() (*gitops.Repository, error)
	// Identity resolves who writes and the key that signs, from git config
	// or explicitKey (--signing-key).
	Identity func(explicitKey string) (gitops.Identity, error)
	// Forge returns the pull-request host modelgit.yaml names (GitHub,
	// token from GH_TOKEN or GITHUB_TOKEN); nil, nil when it names none.
	// Inside GitHub Actions (GITHUB_ACTIONS=true with GITHUB_API_URL and
	// GITHUB_REPOSITORY set) the runner's API URL and repository win over
	// modelgit.yaml's: there the work tree is a pull request's head, which
	// must not choose where the token is sent.
	Forge func(cfg *manifests.Config) (forge.Forge, error)
	// RemoteAuth returns the credentials for fetching from and pushing to
	// the named git remote: the forge token when the remote's URL has the
	// scheme, host and port of the forge cfg names (see forgeOrigins), nil
	// otherwise, so that go-git uses its defaults (the ssh agent for ssh
	// URLs; git's credential helpers are not consulted).
	RemoteAuth func(cfg *manifests.Config, remote string) transport.AuthMethod
}

// NewFactory returns the production Factory for the given version, over
// the process's standard streams.
func NewFactory(version string) *Factory {
	if version == "" {
		version = "dev"
	}
	f := &Factory{
		IOStreams: System(),
		Version:   version,
		Now:       time.Now,
	}
	if exe, err := os.Executable(); err == nil {
		f.Executable = exe
	} else {
		f.Executable = "modelgit"
	}
	f.WorkDir = func() (string, error) { return resolveWorkDir(f.RepoDir) }
	f.Repository = func() (*gitops.Repository, error) {
		dir, err := f.WorkDir()
		if err != nil {
			return nil, err
		}
		oci := store.OCIOptionsFromEnv()
		if f.RegistryConfig != "" {
			oci.RegistryConfig = f.RegistryConfig
		}
		oci.PlainHTTP = oci.PlainHTTP || f.PlainHTTP
		opts := []gitops.Option{
			gitops.WithOCIOptions(oci),
			gitops.WithClock(f.Now),
			gitops.WithLogger(gitops.WriterLogger{W: f.IOStreams.ErrOut}),
		}
		if f.IOStreams.IsStderrTTY() {
			opts = append(opts, gitops.WithProgress(func() store.Progress { return store.NewBar(f.IOStreams.ErrOut) }))
		}
		return gitops.Open(dir, opts...)
	}
	f.Forge = func(cfg *manifests.Config) (forge.Forge, error) {
		opts, ok := forgeOptions(cfg, action.FromEnv(os.Getenv), f.IOStreams)
		if !ok {
			return nil, nil
		}
		return forge.New(opts)
	}
	f.RemoteAuth = func(cfg *manifests.Config, remote string) transport.AuthMethod {
		token := forge.TokenFromEnv()
		if token == "" {
			return nil
		}
		dir, err := f.WorkDir()
		if err != nil {
			return nil
		}
		origin, ok := httpRemoteOrigin(dir, remote)
		if !ok {
			return nil
		}
		if !forgeOrigins(cfg, action.FromEnv(os.Getenv), os.Getenv("GITHUB_SERVER_URL"))[origin] {
			return nil
		}
		return &githttp.BasicAuth{Username: "x-access-token", Password: token}
	}
	f.Identity = func(explicitKey string) (gitops.Identity, error) {
		dir, err := f.WorkDir()
		if err != nil {
			return gitops.Identity{}, err
		}
		return gitops.ResolveIdentity(dir, explicitKey)
	}
	return f
}

// forgeOptions is where the forge is: modelgit.yaml's forge, except that
// inside GitHub Actions the runner's GITHUB_API_URL and GITHUB_REPOSITORY
// win (the forge is then GitHub even when modelgit.yaml names none), and a
// disagreement with modelgit.yaml is reported on ios.ErrOut. ok is false
// when there is no forge.
func forgeOptions(cfg *manifests.Config, env action.Env, ios *IOStreams) (opts forge.Options, ok bool) {
	var fc *manifests.Forge
	if cfg != nil {
		fc = cfg.Forge
	}
	if fc != nil {
		opts = forge.Options{Type: fc.Type, Repository: fc.Repository, URL: fc.URL}
	}
	if !env.Actions || env.APIURL == "" || env.Repository == "" {
		return opts, fc != nil
	}
	if fc != nil && (!strings.EqualFold(fc.Repository, env.Repository) || !sameAPIURL(fc.URL, env.APIURL)) {
		cfgURL := fc.URL
		if cfgURL == "" {
			cfgURL = defaultGitHubAPI
		}
		fmt.Fprintf(ios.ErrOut, "%s %s names the forge %s at %s, but this GitHub Actions job runs for %s at %s: using the job's (the work tree may be a pull request's head, which must not choose where the token goes)\n",
			ios.ColorScheme().WarningIcon(), manifests.ConfigFile, fc.Repository, Redact(cfgURL), env.Repository, Redact(env.APIURL))
	}
	return forge.Options{Type: "github", Repository: env.Repository, URL: env.APIURL}, true
}

// defaultGitHubAPI is the API URL an empty forge.url means.
const defaultGitHubAPI = "https://api.github.com"

// sameAPIURL reports whether two GitHub API URLs are the same, "" being
// api.github.com.
func sameAPIURL(a, b string) bool {
	norm := func(u string) string {
		if u == "" {
			u = defaultGitHubAPI
		}
		return strings.ToLower(strings.TrimRight(u, "/"))
	}
	return norm(a) == norm(b)
}

// httpRemoteOrigin returns the origin (forge.Origin) of the remote of
// the repository at dir (or above it) when its URL is http or https.
func httpRemoteOrigin(dir, remote string) (origin string, ok bool) {
	rp, err := repo.Open(dir)
	if err != nil {
		return "", false
	}
	remoteURL, err := rp.RemoteURL(remote)
	if err != nil || remoteURL == "" {
		return "", false
	}
	ep, err := transport.NewEndpoint(remoteURL)
	if err != nil || (ep.Protocol != "http" && ep.Protocol != "https") {
		return "", false
	}
	port := ep.Port
	if port == 0 {
		port = map[string]int{"http": 80, "https": 443}[ep.Protocol]
	}
	u := url.URL{Scheme: ep.Protocol, Host: net.JoinHostPort(ep.Host, strconv.Itoa(port))}
	origin = forge.Origin(u.String())
	return origin, origin != ""
}

// forgeOrigins are the origins (scheme, host and port, see forge.Origin)
// the forge token may be sent to with git: the forge's (https://github.com
// for api.github.com; a GitHub Enterprise or local API URL's own), and
// inside GitHub Actions the job's server. A remote elsewhere gets no
// token, as gh sends its token only to its hosts; nor does another port
// or plain HTTP on the forge's host, which may be someone else's service
// or readable on the way.
func forgeOrigins(cfg *manifests.Config, env action.Env, serverURL string) map[string]bool {
	origins := map[string]bool{}
	add := func(raw string) {
		o := forge.Origin(raw)
		if o == "https://api.github.com:443" {
			o = "https://github.com:443"
		}
		if o != "" {
			origins[o] = true
		}
	}
	if opts, ok := forgeOptions(cfg, env, &IOStreams{ErrOut: io.Discard}); ok {
		if opts.URL == "" {
			add(defaultGitHubAPI)
		}
		add(opts.URL)
	}
	if env.Actions {
		add(serverURL)
	}
	return origins
}

// resolveWorkDir makes dir absolute against the current directory and
// checks it is a directory.
func resolveWorkDir(dir string) (string, error) {
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", fmt.Errorf("getting current directory: %w", err)
		}
		return wd, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("resolving -C %q: %w", dir, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is already in the message
		}
		return "", fmt.Errorf("changing to directory %q: %w", dir, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("changing to directory %q: not a directory", dir)
	}
	return abs, nil
}

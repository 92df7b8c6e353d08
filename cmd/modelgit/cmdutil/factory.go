package cmdutil

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/forge"
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

	// ---- Lazily built dependencies ------------------------------------
	// Each is called only in RunE, so commands that do not need it never
	// pay for it; tests replace them.

	// Registry opens the GitOps repository at WorkDir, with the store
	// named in its modelgit.yaml.
	Registry func() (*gitops.Registry, error)
	// Identity resolves who writes and the key that signs, from git config
	// or explicitKey (--signing-key).
	Identity func(explicitKey string) (gitops.Identity, error)
	// Forge returns the pull-request host modelgit.yaml names (GitHub,
	// token from GH_TOKEN or GITHUB_TOKEN); nil, nil when it names none.
	Forge func(cfg *manifests.Config) (forge.Forge, error)
	// PushAuth returns the credentials for pushing to the git remote: the
	// forge token over HTTPS, nil otherwise (git's own helpers are not
	// consulted by go-git).
	PushAuth func() transport.AuthMethod
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
	f.Registry = func() (*gitops.Registry, error) {
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
		if cfg == nil || cfg.Forge == nil {
			return nil, nil
		}
		return forge.New(forge.Options{Type: cfg.Forge.Type, Repository: cfg.Forge.Repository, URL: cfg.Forge.URL})
	}
	f.PushAuth = func() transport.AuthMethod {
		if token := forge.TokenFromEnv(); token != "" {
			return &githttp.BasicAuth{Username: "x-access-token", Password: token}
		}
		return nil
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

package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/modelgit/modelgit/manifests"
)

// ErrUnreachable is wrapped by errors saying that the store itself, not
// one blob, cannot be read: its directory does not exist (a file:// store
// inside another clone, as in CI from a fresh clone), or its registry
// cannot be connected to or refuses the credentials (401) or the access
// (403). A blob really missing from a store that can be reached is
// ErrNotFound instead.
var ErrUnreachable = errors.New("cannot reach the store")

// Reacher is a store that can say whether it can be read at all.
type Reacher interface {
	// Reach returns an error wrapping ErrUnreachable when the store
	// cannot be read, nil when it can.
	Reach(ctx context.Context) error
}

// Reach returns an error wrapping ErrUnreachable, saying why and what to
// configure (UnreachableHint), when st cannot be read; nil when it can, or
// when st cannot tell (it is no Reacher).
func Reach(ctx context.Context, st Store) error {
	r, ok := st.(Reacher)
	if !ok {
		return nil
	}
	return r.Reach(ctx)
}

// Reach fails when the store's directory does not exist or is not a
// directory.
func (s *File) Reach(ctx context.Context) error {
	fi, err := os.Stat(s.dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w %s: directory %q does not exist; %s", ErrUnreachable, s.URL(), s.dir, UnreachableHint(s.URL()))
	case err != nil:
		return fmt.Errorf("%w %s: %v; %s", ErrUnreachable, s.URL(), err, UnreachableHint(s.URL()))
	case !fi.IsDir():
		return fmt.Errorf("%w %s: %q is not a directory; %s", ErrUnreachable, s.URL(), s.dir, UnreachableHint(s.URL()))
	}
	return nil
}

// reachProbe is the digest Reach asks the registry about: that of no
// bytes. Any answer but 404 or 200 says the repository cannot be read.
var reachProbe = manifests.FromBytes(nil)

// Reach asks the registry for a blob (HEAD) with the pull scope of the
// store's repository: an answer, found or not, means it can be read; no
// connection, 401 or 403 wrap ErrUnreachable.
func (o *OCI) Reach(ctx context.Context) error {
	_, err := o.Stat(ctx, reachProbe)
	if err == nil || errors.Is(err, ErrNotFound) {
		return nil
	}
	if errors.Is(err, ErrRegistryUnreachable) || errors.Is(err, ErrAuthRequired) || errors.Is(err, ErrDenied) {
		return fmt.Errorf("%w %s: %w; %s", ErrUnreachable, o.URL(), err, UnreachableHint(o.URL()))
	}
	return err
}

// UnreachableHint says what to configure so that a job — CI running on a
// fresh clone above all — can read the store at url.
func UnreachableHint(url string) string {
	if rest, ok := strings.CutPrefix(url, "oci://"); ok {
		host, _, _ := strings.Cut(rest, "/")
		return fmt.Sprintf("in CI configure the registry's credentials: %s=%s, %s and %s (from the CI secrets; with GitHub Actions and ghcr.io, %s=${{ github.actor }} and %s=${{ secrets.GITHUB_TOKEN }} with packages: read), or check that store: in %s names a registry the job can reach",
			EnvRegistryHost, host, EnvRegistryUsername, EnvRegistryPassword, EnvRegistryUsername, EnvRegistryPassword, manifests.ConfigFile)
	}
	return fmt.Sprintf("a file:// store is a directory on this machine, and one inside a clone (like the default, %s) exists only in the clone that registered: in CI configure a shared store: set store: in %s to oci://REGISTRY/REPO (modelgit store copy %s there from the clone that has the blobs) and give the job %s, %s and %s",
		DefaultURL, manifests.ConfigFile, url, EnvRegistryHost, EnvRegistryUsername, EnvRegistryPassword)
}

package gitops

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/modelgit/modelgit/gitops/store"
	"github.com/modelgit/modelgit/manifests"
)

// VersionChecker is a store that keeps one manifest per version (an OCI
// registry) and can check that the one under a version's tag is
// modelgit's manifest of that very version.
type VersionChecker interface {
	VersionResolver
	CheckVersion(ctx context.Context, mv *manifests.ModelVersion, manifestYAML []byte) (ocispec.Descriptor, error)
}

// pinnedStorageURI is where the serving runtime loads v from, pinned by
// digest, for a store that can say: oci://REGISTRY/REPO@sha256:… for the
// version's OCI manifest. The tag is not trusted: what it holds must be
// byte for byte the manifest computed from the committed version, or
// promotion fails. The release records the
// URI, so rendering stays a pure function of the repository. "" for other
// stores.
func (r *Repository) PinnedStorageURI(ctx context.Context, v *VersionRef) (string, error) {
	res, ok := r.store.(VersionChecker)
	if !ok {
		return "", nil
	}
	desc, err := res.CheckVersion(ctx, v.Manifest, v.Raw)
	if err != nil {
		if hint := RepublishHint(res, v, err); hint != "" {
			err = fmt.Errorf("%w\n%s", err, hint)
		}
		return "", fmt.Errorf("pinning %s: %w", v.Name(), err)
	}
	return "oci://" + res.Registry() + "/" + res.Repository() + "@" + desc.Digest.String(), nil
}

// RepublishHint says how to put v's manifest (back) in an OCI store after
// CheckVersion failed with err ("" when it cannot tell).
func RepublishHint(res VersionChecker, v *VersionRef, err error) string {
	url := "oci://" + res.Registry() + "/" + res.Repository()
	switch {
	case errors.Is(err, store.ErrTagMismatch):
		// PushVersion refuses to overwrite the tag: it must go first.
		tag, _ := store.TagFor(v.Manifest.Model, v.Manifest.Version)
		return fmt.Sprintf("if it should not be there, delete it (oras manifest delete %s/%s:%s), then republish every version: modelgit store copy %s %s (no blob the store holds is copied again)",
			res.Registry(), res.Repository(), tag, url, url)
	case errors.Is(err, store.ErrNotFound):
		return fmt.Sprintf("publish it: modelgit store copy SRC %s (SRC: a store holding its blobs, %s itself when it has them), or register again if it is the latest version", url, url)
	}
	return ""
}

// wantPin is the storage URI a release must pin for v when the store
// keeps one OCI manifest per version: oci://REGISTRY/REPO@ the digest of
// the OCI manifest computed from the committed version
// (store.BuildVersionManifest), which is what promote pins; nothing the
// registry's tag holds is trusted. "" for other stores.
func (r *Repository) WantPin(ctx context.Context, v *VersionRef) (string, error) {
	res, ok := r.store.(VersionChecker)
	if !ok {
		return "", nil
	}
	desc, _, err := store.BuildVersionManifest(ctx, r.store, v.Manifest, v.Raw)
	if err != nil {
		return "", fmt.Errorf("computing the OCI manifest of %s: %w", v.Name(), err)
	}
	return "oci://" + res.Registry() + "/" + res.Repository() + "@" + desc.Digest.String(), nil
}

// PinProblem is a storage URI that is not the pin of a released version.
type PinProblem struct {
	File    string
	Line    int
	Message string
}

// checkPins checks, for an OCI store, the storage URIs of the release of
// model in env as committed at rev against the pins computed from the
// committed versions (wantPin): each version of the release must pin its
// own, and every oci:// URI of rendered/<env>/<model>.yaml must be one of
// them, so that what Flux deploys is the version Git registered. Versions
// that do not resolve are left to the other checks. Nothing for other
// stores.
func (r *Repository) CheckPins(ctx context.Context, rev plumbing.Hash, env, model string) ([]PinProblem, error) {
	if _, ok := r.store.(VersionChecker); !ok {
		return nil, nil
	}
	relPath := manifests.ReleaseFile(env, model)
	raw, err := r.repo.ReadFile(rev, relPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rel, err := manifests.ParseRelease(relPath, raw)
	if err != nil {
		return nil, nil // reported by the manifests check
	}
	var out []PinProblem
	want := map[string]bool{}
	for i, rv := range rel.Versions {
		v, err := r.ReadVersion(rev, manifests.VersionFile(model, rv.Version.String()))
		if err != nil {
			continue // reported by the manifests check
		}
		pin, err := r.WantPin(ctx, v)
		if errors.Is(err, store.ErrNotFound) {
			out = append(out, PinProblem{File: relPath, Message: fmt.Sprintf("versions[%d] (%s): %v; the pin cannot be checked", i, rv.Version, err)})
			continue
		}
		if err != nil {
			return nil, err
		}
		want[pin] = true
		if rv.StorageURI == pin {
			continue
		}
		found := QuoteOrNone(rv.StorageURI)
		out = append(out, PinProblem{File: relPath, Line: LineOf(raw, rv.StorageURI), Message: fmt.Sprintf("versions[%d].storageUri of %s is %s, want %s (the OCI manifest computed from %s); re-run modelgit promote %s@%s --to %s, which pins it", i, rv.Version, found, pin, manifests.VersionFile(model, rv.Version.String()), model, rv.Version, env)})
	}
	rendered := manifests.RenderedFile(env, model)
	rraw, err := r.repo.ReadFile(rev, rendered)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	pins := slices.Sorted(maps.Keys(want))
	for i, line := range strings.Split(string(rraw), "\n") {
		at := strings.Index(line, "oci://")
		if at < 0 {
			continue
		}
		uri := strings.Trim(strings.Fields(line[at:])[0], `"'`)
		if want[uri] {
			continue
		}
		out = append(out, PinProblem{File: rendered, Line: i + 1, Message: fmt.Sprintf("storage URI %s is not the pin of a version %s releases (want %s); re-run modelgit promote %s@VERSION --to %s, which pins it and renders", uri, relPath, OrList(pins), model, env)})
	}
	return out, nil
}

// LineOf returns the 1-based line of raw holding s, 0 when s is empty or
// absent.
func LineOf(raw []byte, s string) int {
	if s == "" {
		return 0
	}
	for i, line := range strings.Split(string(raw), "\n") {
		if strings.Contains(line, s) {
			return i + 1
		}
	}
	return 0
}

// QuoteOrNone is s quoted, or "none" when empty.
func QuoteOrNone(s string) string {
	if s == "" {
		return "none"
	}
	return strconv.Quote(s)
}

// VersionResolver is a store that keeps one manifest per version (an OCI
// registry) and can name it by digest.
type VersionResolver interface {
	ResolveVersion(ctx context.Context, model string, v manifests.Version) (ocispec.Descriptor, error)
	Registry() string
	Repository() string
}

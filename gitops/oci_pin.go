package gitops

import (
	"context"
	"errors"
	"fmt"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/modelgit/modelgit/gitops/store"
	"github.com/modelgit/modelgit/manifests"
)

// versionChecker is a store that keeps one manifest per version (an OCI
// registry) and can check that the one under a version's tag is
// modelgit's manifest of that very version.
type versionChecker interface {
	versionResolver
	CheckVersion(ctx context.Context, mv *manifests.ModelVersion, manifestYAML []byte) (ocispec.Descriptor, error)
}

// pinnedStorageURI is where the serving runtime loads v from, pinned by
// digest, for a store that can say: oci://REGISTRY/REPO@sha256:… for the
// version's OCI manifest. The tag is not trusted: what it holds must be
// modelgit's manifest of v (normally byte for byte the one computed from
// the committed version), or promotion fails. The release records the
// URI, so rendering stays a pure function of the repository. "" for other
// stores.
func (r *Registry) pinnedStorageURI(ctx context.Context, v *VersionRef) (string, error) {
	res, ok := r.store.(versionChecker)
	if !ok {
		return "", nil
	}
	desc, err := res.CheckVersion(ctx, v.Manifest, v.Raw)
	if err != nil {
		if hint := republishHint(res, v, err); hint != "" {
			err = fmt.Errorf("%w\n%s", err, hint)
		}
		return "", fmt.Errorf("pinning %s: %w", v.Name(), err)
	}
	return "oci://" + res.Registry() + "/" + res.Repository() + "@" + desc.Digest.String(), nil
}

// republishHint says how to put v's manifest (back) in an OCI store after
// CheckVersion failed with err ("" when it cannot tell).
func republishHint(res versionChecker, v *VersionRef, err error) string {
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

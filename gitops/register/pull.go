package register

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/store"
	"github.com/modelgit/modelgit/manifests"
)

// Pulled is one artifact written by Pull.
type Pulled struct {
	Kind string `json:"kind"`
	manifests.Artifact
	// Dest is where it was written.
	Dest string `json:"dest"`
}

// Pull writes the artifacts of a version into dir, each under its
// registered name, verified against its digest as it is read. A file that
// fails verification is never left under its final name.
func (r *repository) Pull(ctx context.Context, v *gitops.VersionRef, dir string) ([]Pulled, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %q: %w", dir, err)
	}
	var out []Pulled
	var err error
	v.Manifest.Artifacts.Each(func(kind string, a *manifests.Artifact) {
		if err != nil {
			return
		}
		dest := filepath.Join(dir, filepath.Base(a.Path))
		r.Log().Actionf("pulling %s %s → %s", kind, a.Digest.Short(), dest)
		if err = store.Restore(ctx, r.Store(), a.Digest, a.MediaType, dest); err != nil {
			err = fmt.Errorf("pulling %s of %s: %w%s", kind, v.Name(), err, r.localStoreHint(err))
			return
		}
		out = append(out, Pulled{Kind: kind, Artifact: *a, Dest: dest})
	})
	return out, err
}

// localStoreHint explains a blob missing from a store local to one clone
// (the default): it was registered in another clone, whose store this one
// cannot see.
func (r *repository) localStoreHint(err error) string {
	url := r.Config().Store
	if !errors.Is(err, store.ErrNotFound) || !IsLocalStore(url) {
		return ""
	}
	if url == "" {
		url = store.DefaultURL
	}
	return fmt.Sprintf("\nthis store (%s) is local to one clone: in the clone that registered the version, modelgit store copy %s it to a shared store (oci://REGISTRY/REPO or file:///SHARED/DIR), or set store: in modelgit.yaml to one", url, url)
}

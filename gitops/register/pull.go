package register

import (
	"context"
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
			err = fmt.Errorf("pulling %s of %s: %w", kind, v.Name(), err)
			return
		}
		out = append(out, Pulled{Kind: kind, Artifact: *a, Dest: dest})
	})
	return out, err
}

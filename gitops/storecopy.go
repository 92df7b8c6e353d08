package gitops

import (
	"context"
	"fmt"

	"github.com/modelgit/modelgit/gitops/store"
)

// CopyResult says what CopyStore did.
type CopyResult struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
	Versions    int    `json:"versions"`
	Blobs       int    `json:"blobs"`
	Published   int    `json:"published"`
}

// OpenStore opens a store URL the way modelgit.yaml's store is opened:
// file:// paths relative to the repository root.
func (r *Registry) OpenStore(rawURL string) (store.Store, error) {
	oci := store.OCIOptionsFromEnv()
	if r.ociOptions != nil {
		oci = *r.ociOptions
	}
	return store.OpenWithOptions(rawURL, r.repo.Root, oci)
}

// CopyStore mirrors every version registered at HEAD from src to dst:
// each blob it needs (verified as read and as written, skipped when dst
// has it) and, for a store that keeps one manifest per version (OCI), the
// version's manifest. Running it again copies nothing.
func (r *Registry) CopyStore(ctx context.Context, src, dst store.Store, prog store.Progress) (*CopyResult, error) {
	res := &CopyResult{Source: src.URL(), Destination: dst.URL()}
	models, err := r.Models()
	if err != nil {
		return nil, err
	}
	var all []*VersionRef
	var blobs []store.Blob
	seen := map[string]bool{}
	for _, m := range models {
		versions, err := r.Versions(m)
		if err != nil {
			return nil, err
		}
		for _, v := range versions {
			bs, err := store.VersionBlobs(ctx, src, v.Manifest)
			if err != nil {
				return nil, fmt.Errorf("copying %s: %w", v.Name(), err)
			}
			for _, b := range bs {
				if !seen[b.Digest.String()] {
					seen[b.Digest.String()] = true
					blobs = append(blobs, b)
				}
			}
			all = append(all, v)
		}
	}
	res.Versions, res.Blobs = len(all), len(blobs)
	r.log.Actionf("copying %d blobs of %d versions from %s to %s", len(blobs), len(all), src.URL(), dst.URL())
	if err := store.CopyBlobs(ctx, dst, src, blobs, 0, prog); err != nil {
		return res, err
	}
	if p, ok := dst.(versionPublisher); ok {
		for _, v := range all {
			if _, err := p.PushVersion(ctx, v.Manifest, v.Raw); err != nil {
				return res, err
			}
			res.Published++
		}
	}
	return res, nil
}

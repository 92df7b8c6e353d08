package register

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/store"
	"github.com/modelgit/modelgit/manifests"
)

// CopyResult says what CopyStore did.
type CopyResult struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
	Versions    int    `json:"versions"`
	// Blobs is how many blobs the versions need; BlobsCopied of them were
	// copied and BlobsSkipped were in the destination already.
	Blobs        int   `json:"blobs"`
	BlobsCopied  int   `json:"blobsCopied"`
	BlobsSkipped int   `json:"blobsSkipped"`
	BytesCopied  int64 `json:"bytesCopied"`
	// Published counts the version manifests pushed to an OCI destination;
	// AlreadyPublished those it held already (nothing pushed).
	Published        int `json:"published"`
	AlreadyPublished int `json:"alreadyPublished"`
}

// versionPublishReporter is a store that keeps one manifest per version
// and says whether it held it already (an OCI registry).
type versionPublishReporter interface {
	PublishVersion(ctx context.Context, mv *manifests.ModelVersion, manifestYAML []byte) (ocispec.Descriptor, bool, error)
}

// CopyStore mirrors every version registered at HEAD from src to dst:
// each blob it needs (verified as read and as written, skipped when dst
// has it) and, for a store that keeps one manifest per version (OCI), the
// version's manifest. Running it again copies nothing: the result counts
// what was copied and what was there already.
func (r *repository) CopyStore(ctx context.Context, src, dst store.Store, prog store.Progress) (*CopyResult, error) {
	res := &CopyResult{Source: src.URL(), Destination: dst.URL()}
	if d, ok := src.(interface{ Dir() string }); ok {
		if _, err := os.Stat(d.Dir()); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("copying from %s: no such store: directory %q does not exist (file:// paths are relative to the repository root)", src.URL(), d.Dir())
		}
	}
	models, err := r.Models()
	if err != nil {
		return nil, err
	}
	var all []*gitops.VersionRef
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
	r.Log().Actionf("copying %s of %s from %s to %s", gitops.Count(len(blobs), "blob"), gitops.Count(len(all), "version"), src.URL(), dst.URL())
	stats, err := store.CopyBlobs(ctx, dst, src, blobs, 0, prog)
	res.BlobsCopied, res.BlobsSkipped, res.BytesCopied = stats.Copied, stats.Skipped, stats.CopiedBytes
	if err != nil {
		return res, err
	}
	if p, ok := dst.(versionPublishReporter); ok {
		for _, v := range all {
			_, existed, err := p.PublishVersion(ctx, v.Manifest, v.Raw)
			if err != nil {
				return res, err
			}
			if existed {
				res.AlreadyPublished++
			} else {
				res.Published++
			}
		}
	}
	return res, nil
}

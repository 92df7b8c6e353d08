package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/modelgit/modelgit/manifests"
)

// Blob is a blob to copy: its digest and size (-1 when unknown).
type Blob struct {
	Digest manifests.Digest
	Size   int64
}

// VersionBlobs lists every blob a model version needs, reading tree
// listings from st: each file artifact, each tree listing and every file
// of each tree, without duplicates.
func VersionBlobs(ctx context.Context, st Store, mv *manifests.ModelVersion) ([]Blob, error) {
	var out []Blob
	seen := map[manifests.Digest]bool{}
	add := func(d manifests.Digest, size int64) {
		if !seen[d] {
			seen[d] = true
			out = append(out, Blob{d, size})
		}
	}
	var err error
	mv.Artifacts.Each(func(kind string, a *manifests.Artifact) {
		if err != nil {
			return
		}
		if a.MediaType != manifests.MediaTypeTree {
			add(a.Digest, a.Size)
			return
		}
		var t Tree
		if t, err = ReadTree(ctx, st, a.Digest); err != nil {
			err = fmt.Errorf("listing blobs of %s %q: %w", kind, a.Path, err)
			return
		}
		add(a.Digest, int64(len(t.Listing())))
		for _, e := range t.Entries {
			add(e.Digest, e.Size)
		}
	})
	return out, err
}

// CopyStats says what CopyBlobs did.
type CopyStats struct {
	// Copied and Skipped count the blobs copied and those dst already had.
	Copied, Skipped int
	// CopiedBytes is the size of the blobs copied.
	CopiedBytes int64
}

// CopyBlobs copies blobs from src to dst, parallel at a time (0 means
// DefaultOCIParallel), skipping those dst has. Every blob is verified as
// it is read from src and, by dst, as it is written. prog, when not nil,
// gets Start with the total size, Add as blobs are read, and Done. The
// stats count what was done before an error too.
func CopyBlobs(ctx context.Context, dst, src Store, blobs []Blob, parallel int, prog Progress) (CopyStats, error) {
	if parallel <= 0 {
		parallel = DefaultOCIParallel
	}
	if prog == nil {
		prog = NoProgress
	}
	var total int64
	for _, b := range blobs {
		total += max(b.Size, 0)
	}
	prog.Start("copying to "+dst.URL(), total)
	defer prog.Done()
	var (
		mu    sync.Mutex
		stats CopyStats
	)
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(parallel)
	for _, b := range blobs {
		g.Go(func() error {
			if n, err := dst.Stat(ctx, b.Digest); err == nil && (b.Size < 0 || n == b.Size) {
				prog.Add(max(b.Size, 0))
				mu.Lock()
				stats.Skipped++
				mu.Unlock()
				return nil
			}
			rc, err := src.Open(ctx, b.Digest)
			if err != nil {
				return fmt.Errorf("copying from %s: %w", src.URL(), err)
			}
			defer rc.Close()
			cr := &copyReader{r: rc, prog: prog}
			if err := dst.Put(ctx, b.Digest, b.Size, cr); err != nil {
				return fmt.Errorf("copying from %s: %w", src.URL(), err)
			}
			mu.Lock()
			stats.Copied++
			stats.CopiedBytes += max(b.Size, cr.n)
			mu.Unlock()
			return nil
		})
	}
	err := g.Wait()
	return stats, err
}

// copyReader reports the bytes read from r to prog and counts them in n,
// and passes Seek through to r when r can seek (a blob of a file store):
// the uploader then sends a blob of known size as one streamed PUT, as
// `oras push` does, instead of chunks, and can rewind it to retry. Bytes
// read again after a rewind are not reported twice.
type copyReader struct {
	r    io.Reader
	prog Progress
	pos  int64 // position in r
	n    int64 // the furthest position reached
}

func (c *copyReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	if c.pos += int64(k); c.pos > c.n {
		c.prog.Add(c.pos - c.n)
		c.n = c.pos
	}
	return k, err
}

func (c *copyReader) Seek(offset int64, whence int) (int64, error) {
	s, ok := c.r.(io.Seeker)
	if !ok {
		return 0, fmt.Errorf("seeking a blob being copied: %w", errors.ErrUnsupported)
	}
	pos, err := s.Seek(offset, whence)
	if err == nil {
		c.pos = pos
	}
	return pos, err
}

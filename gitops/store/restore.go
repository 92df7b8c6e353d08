package store

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sync/errgroup"

	"github.com/modelgit/modelgit/gitops/internal/durable"
	"github.com/modelgit/modelgit/manifests"
)

// Restore writes artifact d from st to dest. For mediaType
// manifests.MediaTypeTree, d is a tree listing and its files are recreated
// under the directory dest (other files already there are left alone);
// for any other media type dest is the file to write. Every file is
// verified against its digest and size, written to a temp file next to it
// and renamed into place, so no partial file ever has a final name. Paths
// in a listing that would escape dest are refused, and symlinks already
// under dest are resolved as if dest were the root.
func Restore(ctx context.Context, st Store, d manifests.Digest, mediaType, dest string) error {
	return RestoreProgress(ctx, st, d, mediaType, dest, nil)
}

// RestoreProgress is Restore reporting the bytes it reads to prog (nil:
// none); the caller starts and ends the operation on prog.
func RestoreProgress(ctx context.Context, st Store, d manifests.Digest, mediaType, dest string, prog Progress) error {
	if prog == nil {
		prog = NoProgress
	}
	if mediaType != manifests.MediaTypeTree {
		if err := restoreFile(ctx, st, d, -1, dest, prog); err != nil {
			return fmt.Errorf("restoring %s to %q: %w", d, dest, err)
		}
		return nil
	}
	tree, err := readTree(ctx, st, d)
	if err != nil {
		return fmt.Errorf("restoring tree %s to %q: %w", d, dest, err)
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return fmt.Errorf("restoring tree %s: creating %q: %w", d, dest, unwrapPathError(err))
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.NumCPU())
	for _, e := range tree.Entries {
		g.Go(func() error {
			if err := checkPath(e.Path); err != nil { // ParseListing checked; be sure
				return fmt.Errorf("restoring tree %s: %w", d, err)
			}
			target, err := securejoin.SecureJoin(dest, filepath.FromSlash(e.Path))
			if err != nil {
				return fmt.Errorf("restoring %q under %q: %w", e.Path, dest, err)
			}
			if err := restoreFile(ctx, st, e.Digest, e.Size, target, prog); err != nil {
				return fmt.Errorf("restoring %q to %q: %w", e.Path, target, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// ReadTree returns the tree whose listing blob is d.
func ReadTree(ctx context.Context, st Store, d manifests.Digest) (Tree, error) {
	t, err := readTree(ctx, st, d)
	if err != nil {
		return Tree{}, fmt.Errorf("reading tree %s: %w", d, err)
	}
	return t, nil
}

func readTree(ctx context.Context, st Store, d manifests.Digest) (Tree, error) {
	rc, err := st.Open(ctx, d)
	if err != nil {
		return Tree{}, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return Tree{}, err
	}
	return ParseListing(b)
}

// restoreFile writes blob d (size bytes, or any if size < 0) to target via a
// temp file in the same directory, or clones it there.
func restoreFile(ctx context.Context, st Store, d manifests.Digest, size int64, target string, prog Progress) error {
	dir := filepath.Dir(target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %q: %w", dir, unwrapPathError(err))
	}
	rc, err := st.Open(ctx, d)
	if err != nil {
		return err
	}
	defer rc.Close()
	t, err := durable.CreateTemp(dir, tempPrefix, 0)
	if err != nil {
		return fmt.Errorf("creating temp file in %q: %w", dir, unwrapPathError(err))
	}
	defer t.Discard()
	// From a file store on a file system with reflinks, the file is a
	// clone of the blob (copy on write, no space used); the blob is still
	// read through rc, which verifies it, before the clone gets its name.
	var w io.Writer = &writebackWriter{f: t.File}
	if fst, isFile := st.(*File); isFile && cloneFile(t.File, fst.Path(d)) {
		w = onlyWriter{io.Discard} // our 1 MiB buffer, not Discard's 8 KiB ReadFrom
	}
	n, err := copyBuf(w, progressReader{ctxReader{ctx, rc}, prog})
	if err != nil {
		return err
	}
	if size >= 0 && n != size {
		return &DigestMismatchError{Want: d, Got: d, WantSize: size, GotSize: n}
	}
	return unwrapPathError(t.Commit(target, 0o644, nil))
}

// writebackWriter writes to a file and starts writing each 32 MiB to disk
// as soon as it is complete, so the disk works while the download goes on
// and the fsync before the rename has little left to wait for.
type writebackWriter struct {
	f       *os.File
	off     int64 // bytes written
	flushed int64 // bytes handed to writeback
}

const writebackChunk = 32 << 20

func (w *writebackWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.flushed >= writebackChunk {
		startWriteback(w.f, w.flushed, w.off-w.flushed)
		w.flushed = w.off
	}
	return n, err
}

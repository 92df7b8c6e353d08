package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/modelgit/modelgit/gitops/internal/durable"
	"github.com/modelgit/modelgit/manifests"
)

const (
	// ingestBufSize and ingestBufs bound Ingest's memory (4 MiB, pooled)
	// whatever the size of what it stores. Large buffers keep O_DIRECT
	// writes efficient.
	ingestBufSize = 1 << 20
	ingestBufs    = 4
	// tempPrefix marks files being written; they never hold a final name.
	tempPrefix = ".tmp-"
	// staleTemp is the age after which a leftover temp file (from a crash)
	// is removed.
	staleTemp = time.Hour
)

// File is the file-system store: blob d lives at DIR/blobs/sha256/<hex>,
// read-only. Writes go to a temp file in the same directory, are fsynced,
// renamed into place and the directory fsynced, so a crash at any point
// leaves either the whole blob or none under its final name (package
// durable). The bytes stored under a name are the bytes hashed to make it:
// each buffer read is hashed and written as it is, and a clone is hashed
// by reading the clone. On Linux blob data is written with O_DIRECT where
// the file system allows it, so the disk write overlaps hashing without
// costing CPU or page cache.
type File struct {
	dir     string
	clean   sync.Once
	noClone atomic.Bool // the store's file system cannot clone
}

var (
	_ Store    = (*File)(nil)
	_ Ingester = (*File)(nil)
)

// NewFile returns the store rooted at dir. Nothing is created until the
// first write.
func NewFile(dir string) *File { return &File{dir: dir} }

// URL returns "file://" and the store directory.
func (s *File) URL() string { return "file://" + filepath.ToSlash(s.dir) }

// Dir returns the store directory.
func (s *File) Dir() string { return s.dir }

func (s *File) blobDir() string { return filepath.Join(s.dir, "blobs", manifests.Algorithm) }

// Path returns where blob d is (or would be) stored.
func (s *File) Path(d manifests.Digest) string { return filepath.Join(s.blobDir(), d.Hex()) }

// Stat returns the size of blob d.
func (s *File) Stat(ctx context.Context, d manifests.Digest) (int64, error) {
	if d.IsZero() {
		return 0, fmt.Errorf("statting blob: empty digest")
	}
	fi, err := os.Stat(s.Path(d))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("%w: %s in %s", ErrNotFound, d, s.URL())
	}
	if err != nil {
		return 0, fmt.Errorf("statting blob %s: %w", d, err)
	}
	return fi.Size(), nil
}

// Open returns blob d; the reader verifies digest and size at EOF.
func (s *File) Open(ctx context.Context, d manifests.Digest) (io.ReadCloser, error) {
	if d.IsZero() {
		return nil, fmt.Errorf("opening blob: empty digest")
	}
	f, err := os.Open(s.Path(d))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s in %s", ErrNotFound, d, s.URL())
	}
	if err != nil {
		return nil, fmt.Errorf("opening blob %s: %w", d, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("opening blob %s: %w", d, err)
	}
	return readSeekCloser{newVerifyReader(f, d, fi.Size()), f}, nil
}

// Put stores r under d unless d is already stored, in which case r is not
// read. The bytes are verified against d and size before the blob gets its
// final name.
func (s *File) Put(ctx context.Context, d manifests.Digest, size int64, r io.Reader) error {
	if d.IsZero() {
		return fmt.Errorf("storing blob: empty digest")
	}
	if got, err := s.Stat(ctx, d); err == nil {
		if size >= 0 && got != size {
			return fmt.Errorf("storing blob %s: %w", d, &DigestMismatchError{Want: d, Got: d, WantSize: size, GotSize: got})
		}
		return nil
	}
	_, _, err := s.write(ctx, r, func(got manifests.Digest, n int64) error {
		if got != d || (size >= 0 && n != size) {
			return &DigestMismatchError{Want: d, Got: got, WantSize: size, GotSize: n}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storing blob %s: %w", d, err)
	}
	return nil
}

// Ingest hashes r and stores it in the same pass, and returns its digest
// and size. When the blob is already stored the temp copy is discarded.
func (s *File) Ingest(ctx context.Context, r io.Reader) (manifests.Digest, int64, error) {
	d, n, err := s.write(ctx, r, nil)
	if err != nil {
		return manifests.Digest{}, 0, fmt.Errorf("ingesting blob: %w", err)
	}
	return d, n, nil
}

// write copies r into a temp file while hashing it, calls check (when not
// nil) with the digest and size, and renames the file to its final name,
// durably. Nothing is left under a final name on any error.
func (s *File) write(ctx context.Context, r io.Reader, check func(manifests.Digest, int64) error) (manifests.Digest, int64, error) {
	return s.store(check, func(f *os.File, direct bool) (*manifests.Digester, error) {
		return copyHashing(ctx, newDiskWriter(f, direct), r)
	})
}

// store creates a temp file, has fill write the blob into it and return
// its digester (direct tells fill whether the file was opened with
// O_DIRECT), calls check (when not nil) with the digest and size, and
// renames the file to its final name, durably. Nothing is left under a
// final name on any error.
func (s *File) store(check func(manifests.Digest, int64) error, fill func(f *os.File, direct bool) (*manifests.Digester, error)) (manifests.Digest, int64, error) {
	dir := s.blobDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return manifests.Digest{}, 0, fmt.Errorf("creating %q: %w", dir, err)
	}
	s.clean.Do(func() { removeStaleTemps(dir) })
	t, direct, err := createBlobTemp(dir)
	if err != nil {
		return manifests.Digest{}, 0, fmt.Errorf("creating temp file in %q: %w", dir, err)
	}
	defer t.Discard()
	dg, err := fill(t.File, direct)
	if err != nil {
		return manifests.Digest{}, 0, err
	}
	d, n := dg.Digest(), dg.Size()
	if check != nil {
		if err := check(d, n); err != nil {
			return d, n, err
		}
	}
	final := s.Path(d)
	if _, err := os.Stat(final); err == nil {
		return d, n, nil // deduplicated: the deferred Discard drops the temp file
	}
	if err := t.Commit(final, 0o444, nil); err != nil {
		return d, n, fmt.Errorf("storing %q as %q: %w", t.Name(), final, err)
	}
	return d, n, nil
}

// smallMax is the largest file stored through a Batch: read whole into
// one buffer, hashed, and that buffer written, with one sync for the whole
// batch instead of two per blob.
const smallMax = hashBufSize - 1

// ingestSmall stores the size bytes of r (at most smallMax) into batch b:
// it reads them into one buffer, hashes the buffer and writes the same
// buffer to a temp file that b renames to the blob's name once it has
// synced every file of the batch. A blob already stored is not written.
// It returns the digest and the number of bytes read (more than size, or
// fewer, when the file changed).
func (s *File) ingestSmall(ctx context.Context, r io.Reader, size int64, b *durable.Batch) (manifests.Digest, int64, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	p := (*bp)[:size+1]
	n, err := io.ReadFull(r, p)
	if err == nil {
		return manifests.Digest{}, int64(n), &changedError{before: size, after: int64(n)} // grew: at least one byte more
	}
	if err != io.ErrUnexpectedEOF && err != io.EOF {
		return manifests.Digest{}, int64(n), fmt.Errorf("reading: %w", err)
	}
	data := p[:n]
	d := manifests.FromBytes(data)
	final := s.Path(d)
	if _, err := os.Stat(final); err == nil {
		return d, int64(n), nil
	}
	if err := ctx.Err(); err != nil {
		return manifests.Digest{}, 0, err
	}
	dir := s.blobDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return manifests.Digest{}, 0, fmt.Errorf("creating %q: %w", dir, err)
	}
	s.clean.Do(func() { removeStaleTemps(dir) })
	t, err := durable.CreateTemp(dir, tempPrefix, 0)
	if err != nil {
		return manifests.Digest{}, 0, fmt.Errorf("creating temp file in %q: %w", dir, err)
	}
	defer t.Discard() // no-op once in the batch
	if _, err := t.Write(data); err != nil {
		return manifests.Digest{}, 0, fmt.Errorf("writing %q: %w", t.Name(), err)
	}
	if err := b.Add(t, final, 0o444); err != nil {
		return manifests.Digest{}, 0, fmt.Errorf("storing %q as %q: %w", t.Name(), final, err)
	}
	return d, int64(n), nil
}

// cloneMin is the smallest file worth trying to clone: below it the
// clone's extra open costs more than a copy.
const cloneMin = 1 << 20

// ingestClone stores src as a clone of it (FICLONE), where the store's file
// system has reflinks and src is on it: nothing is copied. The digest is
// of the clone, read back through its own descriptor, so the name is the
// hash of the bytes stored whatever happens to src meanwhile. cloned is
// false, with nothing stored, when src cannot be cloned; the caller then
// reads it through Ingest. After a refusal that says the store's file
// system cannot clone, it is not tried again.
func (s *File) ingestClone(ctx context.Context, src *os.File, prog Progress) (d manifests.Digest, n int64, cloned bool, err error) {
	if s.noClone.Load() {
		return manifests.Digest{}, 0, false, nil
	}
	d, n, err = s.store(nil, func(f *os.File, direct bool) (*manifests.Digester, error) {
		if err := cloneFrom(f, src); err != nil {
			if !errors.Is(err, errCrossDevice) {
				s.noClone.Store(true)
			}
			return nil, errNotCloned
		}
		c, err := os.Open(f.Name()) // not O_DIRECT: any buffer will do
		if err != nil {
			return nil, err
		}
		defer c.Close()
		dg := manifests.NewDigester()
		if _, err := copyBuf(dg, onlyReader{progressReader{c, prog}}); err != nil {
			return nil, fmt.Errorf("reading the clone %q: %w", f.Name(), err)
		}
		return dg, ctx.Err()
	})
	if errors.Is(err, errNotCloned) {
		return manifests.Digest{}, 0, false, nil
	}
	if err != nil {
		return manifests.Digest{}, 0, true, fmt.Errorf("ingesting blob: %w", err)
	}
	return d, n, true, nil
}

var errNotCloned = errors.New("not cloned")

var ingestPool = sync.Pool{New: func() any { b := alignedBuf(ingestBufSize); return &b }}

// copyHashing copies r to w and hashes it in one read of r. A reader
// goroutine fills large buffers, the hasher and the writer each run on
// their own goroutine, so the disk write overlaps hashing: reading,
// hashing and writing of successive buffers proceed in a pipeline.
func copyHashing(ctx context.Context, w *diskWriter, r io.Reader) (*manifests.Digester, error) {
	dg := manifests.NewDigester()
	free := make(chan []byte, ingestBufs)
	for range ingestBufs {
		b := ingestPool.Get().(*[]byte)
		defer ingestPool.Put(b)
		free <- *b
	}
	toHash := make(chan []byte, ingestBufs)
	toWrite := make(chan []byte, ingestBufs)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(toHash)
		for {
			var b []byte
			select {
			case b = <-free:
			case <-ctx.Done():
				return ctx.Err()
			}
			n, err := io.ReadFull(r, b)
			if n > 0 {
				toHash <- b[:n] // never blocks: at most ingestBufs buffers exist
			}
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("reading: %w", err)
			}
		}
	})
	g.Go(func() error {
		defer close(toWrite)
		for b := range toHash {
			dg.Write(b)
			toWrite <- b
		}
		return nil
	})
	g.Go(func() error {
		for b := range toWrite {
			if ctx.Err() != nil {
				continue // drain so the other stages can finish
			}
			if err := w.write(b); err != nil {
				return err
			}
			free <- b[:cap(b)]
		}
		return ctx.Err()
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return dg, nil
}

// removeStaleTemps deletes temp files left by writers that crashed more
// than staleTemp ago; younger ones may belong to a live writer.
func removeStaleTemps(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), tempPrefix) {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleTemp {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/modelgit/modelgit/gitops/internal/durable"
)

// directAlign is the buffer address and length alignment O_DIRECT needs
// (the logical block size, 512 or 4096 bytes).
const directAlign = 4096

// createBlobTemp creates a temp file for a blob, asking for O_DIRECT:
// blob writes then go from Ingest's buffers straight to the disk, without
// a copy into the page cache (CPU the hasher needs) or a pile of dirty
// pages for the final fsync to wait for. File systems that refuse
// O_DIRECT get an ordinary file.
func createBlobTemp(dir string) (*durable.Temp, bool, error) {
	t, err := durable.CreateTemp(dir, tempPrefix, unix.O_DIRECT)
	if errors.Is(err, unix.EINVAL) {
		t, err = durable.CreateTemp(dir, tempPrefix, 0)
		return t, false, err
	}
	return t, err == nil, err
}

// blobWriter writes a blob's bytes at their offsets (pwrite), from one
// goroutine or several at once. With O_DIRECT it drops the flag for a
// buffer that is not aligned (an unaligned tail) or when the file system
// rejects a direct write; without it, it starts writeback of each write at
// once (sync_file_range), so the final fsync has little left to do.
type blobWriter struct {
	f      *os.File
	fd     int
	direct atomic.Bool
}

func newBlobWriter(f *os.File, direct bool) *blobWriter {
	w := &blobWriter{f: f, fd: int(f.Fd())}
	w.direct.Store(direct)
	return w
}

// writeAt writes b at off. Its errors name the file.
func (w *blobWriter) writeAt(b []byte, off int64) error {
	if w.direct.Load() && (len(b)%directAlign != 0 || uintptr(unsafe.Pointer(unsafe.SliceData(b)))%directAlign != 0) {
		w.buffered()
	}
	for len(b) > 0 {
		n, err := unix.Pwrite(w.fd, b, off)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EINVAL) && w.direct.Load():
			w.buffered()
			continue
		case err != nil:
			return fmt.Errorf("writing %q: %w", w.f.Name(), &fs.PathError{Op: "write", Path: w.f.Name(), Err: err})
		case n == 0:
			return fmt.Errorf("writing %q: %w", w.f.Name(), io.ErrShortWrite)
		}
		if !w.direct.Load() {
			_ = unix.SyncFileRange(w.fd, off, int64(n), unix.SYNC_FILE_RANGE_WRITE) // only a hint
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}

// buffered switches the file from O_DIRECT to ordinary writes.
func (w *blobWriter) buffered() {
	if !w.direct.Swap(false) {
		return
	}
	if fl, err := unix.FcntlInt(uintptr(w.fd), unix.F_GETFL, 0); err == nil {
		_, _ = unix.FcntlInt(uintptr(w.fd), unix.F_SETFL, fl&^unix.O_DIRECT)
	}
}

// diskWriter writes a blob's buffers in order, as blobWriter does.
type diskWriter struct {
	*blobWriter
	off int64
}

func newDiskWriter(f *os.File, direct bool) *diskWriter {
	return &diskWriter{blobWriter: newBlobWriter(f, direct)}
}

// write writes b after what was written so far.
func (w *diskWriter) write(b []byte) error {
	if err := w.writeAt(b, w.off); err != nil {
		return err
	}
	w.off += int64(len(b))
	return nil
}

// alignedBuf returns a zeroed buffer of n bytes aligned for O_DIRECT.
func alignedBuf(n int) []byte {
	b := make([]byte, n+directAlign)
	off := int(uintptr(unsafe.Pointer(unsafe.SliceData(b))) % directAlign)
	if off != 0 {
		off = directAlign - off
	}
	return b[off : off+n : off+n]
}

// startWriteback asks the kernel to begin writing [off, off+n) of f to
// disk now (sync_file_range), so a later fsync has little left to wait
// for. It is only a hint; errors are ignored.
func startWriteback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}

// errCrossDevice is a clone refused because source and store are on
// different file systems (the store's may still clone other sources).
var errCrossDevice = unix.EXDEV

// cloneFrom makes dst share src's extents (FICLONE).
func cloneFrom(dst, src *os.File) error {
	return unix.IoctlFileClone(int(dst.Fd()), int(src.Fd()))
}

// cloneFile makes dst share src's extents (FICLONE), where the file system
// has reflinks (XFS, btrfs) and both are on it; false otherwise, with dst
// untouched.
func cloneFile(dst *os.File, src string) bool {
	s, err := os.Open(src)
	if err != nil {
		return false
	}
	defer s.Close()
	return unix.IoctlFileClone(int(dst.Fd()), int(s.Fd())) == nil
}

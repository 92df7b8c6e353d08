//go:build linux

package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"github.com/modelgit/modelgit/manifests"
)

const (
	// mapWindow is how much of a file is mapped by one mmap call. It costs
	// address space only: pages count towards the resident set while they
	// are hashed or written, and each chunk is unmapped once it is both.
	mapWindow = 64 << 20
	// mapChunk is the size of one O_DIRECT write and the unit in which
	// mapped pages are released. With mapWriters writes in flight and one
	// chunk being hashed, at most about three chunks per file are resident.
	mapChunk = 2 << 20
	// mapPiece is how much is hashed between two progress reports.
	mapPiece = 1 << 20
	// mapWriters is the number of blob writes in flight per file.
	mapWriters = 2
	// mapMin is the smallest file worth mapping: below it one read(2)
	// costs less than mmap, munmap (a TLB shootdown on every CPU running
	// the process) and the write's setup.
	mapMin = 1 << 20
)

// errFault is a failed read of mapped memory (SIGBUS, or EFAULT from a
// write): the file was truncated while it was mapped, or, if its size did
// not change, its page could not be read from the disk.
var errFault = errors.New("mapped file truncated")

// ingestFile is Ingest for src, a regular file of size bytes (its stat
// before it was opened), read through memory mappings rather than read(2):
// the sha256 pass reads the page cache in place, and the blob is written
// with O_DIRECT straight from the mapped pages, mapWriters writes in
// flight, while the hasher moves on. It reports each hashed piece to prog.
//
// mapped is false, with nothing read or stored, when src cannot be
// mapped (smaller than mapMin, a file system without mmap, a size that
// differs from size already): the caller then reads it through Ingest. A
// file that shrinks while it is mapped raises SIGBUS on the hashing
// goroutine, which is turned into a *changedError, as is any other change
// of size; nothing is stored then.
func (s *File) ingestFile(ctx context.Context, src *os.File, size int64, prog Progress) (d manifests.Digest, n int64, mapped bool, err error) {
	m, ok := mapFile(src, size)
	if !ok {
		return manifests.Digest{}, 0, false, nil
	}
	defer m.unmapAll()
	d, n, err = s.store(nil, func(f *os.File, direct bool) (*manifests.Digester, error) {
		return m.copyHashing(ctx, f, direct, prog)
	})
	if err != nil {
		return manifests.Digest{}, 0, true, fmt.Errorf("ingesting blob: %w", err)
	}
	return d, n, true, nil
}

// mapping is a file mapped window by window and cut into chunks.
type mapping struct {
	src    *os.File
	fd     int
	size   int64
	before cacheEntry // the file's stat when mapped
	mapped int64      // bytes of the file mapped so far
	chunks []*mchunk  // every chunk mapped so far, in file order
}

// mchunk is a piece of a mapping. It is unmapped when its last reference
// (one for the hasher, one for the writers) is released.
type mchunk struct {
	b    []byte
	off  int64
	wlen int // bytes of b the writers write; the rest is the unaligned tail
	refs atomic.Int32
}

func (c *mchunk) release() {
	if c.refs.Add(-1) == 0 {
		_ = unix.MunmapPtr(unsafe.Pointer(unsafe.SliceData(c.b)), uintptr(len(c.b)))
	}
}

// mapNext maps the next window of the file and cuts it into chunks.
func (m *mapping) mapNext() error {
	off := m.mapped
	n := min(int64(mapWindow), m.size-off)
	p, err := unix.MmapPtr(m.fd, off, nil, uintptr(n), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return err
	}
	win := unsafe.Slice((*byte)(p), int(n))
	_ = unix.Madvise(win, unix.MADV_SEQUENTIAL) // only a hint
	for o := 0; o < len(win); o += mapChunk {
		b := win[o:min(o+mapChunk, len(win))]
		c := &mchunk{b: b, off: off + int64(o), wlen: len(b)}
		c.refs.Store(2)
		m.chunks = append(m.chunks, c)
	}
	m.mapped += n
	return nil
}

// unmapAll unmaps what an interrupted copy left mapped. It runs once no
// goroutine uses the mapping any more.
func (m *mapping) unmapAll() {
	for _, c := range m.chunks {
		if c.refs.Load() > 0 {
			c.refs.Store(1)
			c.release()
		}
	}
	m.chunks = nil
}

// copyHashing hashes the mapped file into a digester on the calling
// goroutine and clones it into f (FICLONE), or else writes it to f from
// mapWriters goroutines. A chunk goes to the writers just before it is
// hashed, so the disk is busy from the first chunk on and hashing never
// runs more than one chunk ahead of the writes. With O_DIRECT an
// unaligned tail is written last, without it.
func (m *mapping) copyHashing(ctx context.Context, f *os.File, direct bool, prog Progress) (*manifests.Digester, error) {
	// On a file system with reflinks (XFS, btrfs) and source and store on
	// the same one, the blob shares the source's extents: nothing is
	// written, only hashed. The clone is taken after the stat that check
	// compares against, so a change of the source before or after it
	// fails the ingest as it does on the copying path.
	if unix.IoctlFileClone(int(f.Fd()), m.fd) == nil {
		return m.hashOnly(ctx, prog)
	}
	w := newBlobWriter(f, direct)
	dg := manifests.NewDigester()
	queue := make(chan *mchunk)
	g, gctx := errgroup.WithContext(ctx)
	for range mapWriters {
		g.Go(func() error {
			for c := range queue {
				if gctx.Err() != nil {
					continue // drain; unmapAll releases the chunk
				}
				if err := w.writeAt(c.b[:c.wlen], c.off); err != nil {
					return err
				}
				c.release()
			}
			return nil
		})
	}
	tail, herr := m.hash(gctx, dg, queue, direct, prog)
	close(queue)
	werr := g.Wait()
	err := herr
	if werr != nil && !errors.Is(herr, errFault) {
		err = werr // the cause; the hasher only saw the cancellation
	}
	if err == nil && tail != nil {
		err = w.writeAt(tail.b[tail.wlen:], tail.off+int64(tail.wlen)) // unaligned: without O_DIRECT
		tail.release()
	}
	if err := m.check(err); err != nil {
		return nil, err
	}
	return dg, nil
}

// check turns the error of a copy or hash of the mapping (nil, errFault
// or another) into what the caller reports. The file must not have
// changed while it was read: the reading path finds a change of size by
// reading to EOF; here the hasher and the writers read the same pages at
// different moments, so a write in place between the two would store
// bytes that are not what was hashed, and any change of mtime or ctime
// fails too.
func (m *mapping) check(err error) error {
	if err != nil && !errors.Is(err, errFault) {
		return err
	}
	after := m.before
	if fi, serr := m.src.Stat(); serr == nil {
		after = keyOf(fi)
	}
	if err != nil && after.Size == m.size {
		// The page could not be read although it is inside the file: an
		// I/O error, which read(2) would have returned.
		return &fs.PathError{Op: "read", Path: m.src.Name(), Err: unix.EIO}
	}
	if err != nil || after != m.before {
		return &changedError{before: m.size, after: after.Size}
	}
	return nil
}

// hashFile is the sha256 pass of Hasher.Hash over src, a regular file of
// size bytes, read through memory mappings: no copy out of the page cache.
// mapped is false, with nothing read, when src cannot be mapped; the
// caller then reads it.
func hashFile(ctx context.Context, src *os.File, size int64, prog Progress) (d manifests.Digest, mapped bool, err error) {
	m, ok := mapFile(src, size)
	if !ok {
		return manifests.Digest{}, false, nil
	}
	defer m.unmapAll()
	dg, err := m.hashOnly(ctx, prog)
	if err != nil {
		return manifests.Digest{}, true, err
	}
	return dg.Digest(), true, nil
}

// hashOnly hashes the mapped file without writing it anywhere.
func (m *mapping) hashOnly(ctx context.Context, prog Progress) (*manifests.Digester, error) {
	dg := manifests.NewDigester()
	_, err := m.hash(ctx, dg, nil, false, prog)
	if err := m.check(err); err != nil {
		return nil, err
	}
	return dg, nil
}

// mapFile maps the first window of src, a regular file of size bytes (its
// stat before it was opened); false when it cannot be mapped or is
// smaller than mapMin.
func mapFile(src *os.File, size int64) (*mapping, bool) {
	if size < mapMin || int64(int(size)) != size {
		return nil, false
	}
	fi, err := src.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != size {
		return nil, false
	}
	m := &mapping{src: src, fd: int(src.Fd()), size: size, before: keyOf(fi)}
	if err := m.mapNext(); err != nil {
		return nil, false
	}
	return m, true
}

// hash hands each chunk to the writers (when queue is not nil), then
// hashes it, mapping windows as it goes. With O_DIRECT it returns the last chunk, still referenced,
// when that chunk ends in an unaligned tail the writers left out. A read
// past the end of the file (SIGBUS) returns errFault.
func (m *mapping) hash(ctx context.Context, dg *manifests.Digester, queue chan<- *mchunk, direct bool, prog Progress) (*mchunk, error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	var tail *mchunk
	for i := 0; ; i++ {
		if i == len(m.chunks) {
			if m.mapped == m.size {
				return tail, nil
			}
			if err := m.mapNext(); err != nil {
				return nil, fmt.Errorf("mapping %q at offset %d: %w", m.src.Name(), m.mapped, err)
			}
		}
		c := m.chunks[i]
		last := c.off+int64(len(c.b)) == m.size
		if last && direct && len(c.b)%directAlign != 0 {
			c.wlen = len(c.b) &^ (directAlign - 1)
			tail = c
		}
		if queue == nil {
			c.release() // the writers' reference: there are none
		} else {
			select {
			case queue <- c:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		for o := 0; o < len(c.b); o += mapPiece {
			p := c.b[o:min(o+mapPiece, len(c.b))]
			if !hashMapped(dg, p) {
				return nil, errFault
			}
			prog.Add(int64(len(p)))
		}
		if c != tail {
			c.release()
		}
	}
}

// hashMapped hashes mapped memory on a goroutine that panics on faults,
// and reports false if b could not be read (its file was truncated).
func hashMapped(dg *manifests.Digester, b []byte) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			if _, fault := r.(interface{ Addr() uintptr }); !fault {
				panic(r)
			}
			ok = false
		}
	}()
	dg.Write(b)
	return true
}

var procs struct {
	sync.Mutex
	users int // ingests running with raised GOMAXPROCS
	saved int // GOMAXPROCS before it was raised
}

// boostProcs raises GOMAXPROCS while a directory is ingested by workers
// files at once, so that each hasher and each blob writer has a P, and
// returns the function that restores it once every ingest that raised it
// is done. The hashers keep every CPU busy; with only NumCPU Ps a writer
// whose O_DIRECT write returns waits for a P (up to a scheduler time
// slice) before it issues the next write, and the disk idles meanwhile.
// With spare Ps the kernel runs the writer threads at once: they need
// little CPU. On the 2-CPU machine this was measured on, it took a
// 2 GiB, 64-file directory from 1.45 s to 1.2-1.3 s. GOMAXPROCS chosen by
// the user (in the environment, or set to anything but the number of
// CPUs) is left alone; at most 4 × NumCPU Ps are asked for.
func boostProcs(workers int) (restore func()) {
	if os.Getenv("GOMAXPROCS") != "" {
		return func() {}
	}
	procs.Lock()
	defer procs.Unlock()
	if procs.users == 0 {
		cur, ncpu := runtime.GOMAXPROCS(0), runtime.NumCPU()
		if cur != ncpu {
			return func() {}
		}
		procs.saved = cur
		runtime.GOMAXPROCS(min(ncpu+workers*mapWriters, 4*ncpu))
	}
	procs.users++
	return sync.OnceFunc(func() {
		procs.Lock()
		defer procs.Unlock()
		if procs.users--; procs.users == 0 {
			runtime.GOMAXPROCS(procs.saved)
		}
	})
}

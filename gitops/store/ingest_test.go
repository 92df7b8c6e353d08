package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelgit/modelgit/manifests"
)

// patterned returns size bytes that differ from chunk to chunk.
func patterned(size int) []byte {
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7 + i>>20 + size)
	}
	return data
}

// writeAt overwrites path with b at off, in place.
func writeAt(path string, b []byte, off int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteAt(b, off)
	return err
}

// writeOld writes data to path and dates it an hour back, so that a write
// during the test changes its mtime even where the kernel's timestamps
// are as coarse as a clock tick.
func writeOld(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
}

// resizeProgress calls resize on path once after bytes have been
// reported, from the goroutine that reports them.
type resizeProgress struct {
	path   string
	after  int64
	resize func(path string) error
	done   atomic.Int64
	err    atomic.Pointer[error]
}

func (p *resizeProgress) Start(string, int64) {}
func (p *resizeProgress) Done()               {}
func (p *resizeProgress) Add(n int64) {
	if p.done.Add(n) >= p.after && p.done.Load()-n < p.after {
		if err := p.resize(p.path); err != nil {
			p.err.Store(&err)
		}
	}
}

// TestAddStoresWhatItHashes holds the content-addressed invariant: the
// bytes stored under a name are the bytes hashed to make it. A file
// written in place while it is added is read once; what was read is what
// is hashed and what is stored, so the blob's bytes are its digest's.
func TestAddStoresWhatItHashes(t *testing.T) {
	const size = 8 << 20
	src := filepath.Join(t.TempDir(), "weights.bin")
	old := patterned(size)
	writeOld(t, src, old)
	changed := append([]byte(nil), old...)
	copy(changed[6<<20:], "changed")
	st := NewFile(t.TempDir())
	p := &resizeProgress{path: src, after: 1 << 20, resize: func(p string) error { return writeAt(p, []byte("changed"), 6<<20) }}
	res, err := (&Hasher{Progress: p}).Add(context.Background(), st, src)
	if e := p.err.Load(); e != nil {
		t.Fatal(*e)
	}
	if err != nil {
		t.Fatalf("Add of a file written in place while read: %v", err)
	}
	blob, err := os.ReadFile(st.Path(res.Digest))
	if err != nil {
		t.Fatal(err)
	}
	if got := manifests.FromBytes(blob); got != res.Digest {
		t.Fatalf("blob %s holds bytes whose digest is %s", res.Digest, got)
	}
	if res.Digest != manifests.FromBytes(changed) {
		t.Errorf("digest %s: want the bytes as read, with the write (%s)", res.Digest, manifests.FromBytes(changed))
	}
	if files := blobFiles(t, st); len(files) != 1 {
		t.Errorf("blob dir = %v, want the one blob", files)
	}
}

// procsProgress records, while a directory is added, whether GOMAXPROCS
// changed and whether any of its files is memory-mapped.
type procsProgress struct {
	dir      string
	procs    int
	changed  atomic.Bool
	mapped   atomic.Bool
	reported atomic.Int64
}

func (p *procsProgress) Start(string, int64) {}
func (p *procsProgress) Done()               {}
func (p *procsProgress) Add(n int64) {
	p.reported.Add(n)
	if runtime.GOMAXPROCS(0) != p.procs {
		p.changed.Store(true)
	}
	if b, err := os.ReadFile("/proc/self/maps"); err == nil && strings.Contains(string(b), p.dir) {
		p.mapped.Store(true)
	}
}

// TestAddLeavesGOMAXPROCSAlone: adding a directory of large files neither
// changes GOMAXPROCS (setting it switches off the runtime's cgroup-aware
// updates for good) nor maps the files (a mapped page can change between
// hashing and writing).
func TestAddLeavesGOMAXPROCSAlone(t *testing.T) {
	if os.Getenv("GOMAXPROCS") != "" {
		t.Setenv("GOMAXPROCS", "") // the old boost held back when it was set
	}
	dir := t.TempDir()
	for i := range 4 {
		writeOld(t, filepath.Join(dir, "shard-"+string(rune('a'+i))+".bin"), patterned(3<<20+i))
	}
	p := &procsProgress{dir: dir, procs: runtime.GOMAXPROCS(0)}
	if _, err := (&Hasher{Progress: p}).Add(context.Background(), NewFile(t.TempDir()), dir); err != nil {
		t.Fatal(err)
	}
	if p.reported.Load() == 0 {
		t.Fatal("no progress reported")
	}
	if p.changed.Load() {
		t.Error("GOMAXPROCS changed while a directory was added")
	}
	if _, err := os.Stat("/proc/self/maps"); err == nil && p.mapped.Load() {
		t.Error("a file was memory-mapped while it was added")
	}
}

// TestAddDirOfSmallFilesAllOrNothing: the small files of a directory are
// stored as one batch (one sync for all): none gets its name in the store
// before every one is written, so a directory that fails half-way (here a
// file truncated while the others are read) leaves no blob and no temp
// file behind. Added again, it stores every blob with its bytes.
func TestAddDirOfSmallFilesAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	var names []string
	for i := range 50 {
		name := filepath.Join(dir, fmt.Sprintf("tok-%03d.bin", i))
		writeOld(t, name, patterned(4096+i))
		names = append(names, name)
	}
	last := names[len(names)-1]
	st := NewFile(t.TempDir())
	p := &resizeProgress{path: last, after: 1, resize: func(p string) error { return os.Truncate(p, 100) }}
	_, err := (&Hasher{Workers: 1, Progress: p}).Add(context.Background(), st, dir)
	if e := p.err.Load(); e != nil {
		t.Fatal(*e)
	}
	var ce *changedError
	if !errors.As(err, &ce) {
		t.Fatalf("Add of a directory with a file truncated while read = %v, want a changed-file error", err)
	}
	if files := blobFiles(t, st); len(files) != 0 {
		t.Errorf("blob dir after a failed add = %v, want empty", files)
	}

	writeOld(t, last, patterned(4096+49))
	res, err := (&Hasher{}).Add(context.Background(), st, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res.Tree.Entries {
		b, err := os.ReadFile(st.Path(e.Digest))
		if err != nil || manifests.FromBytes(b) != e.Digest || int64(len(b)) != e.Size {
			t.Fatalf("blob of %s: %d bytes, %v; want %d bytes hashing to %s", e.Path, len(b), err, e.Size, e.Digest)
		}
		if fi, err := os.Stat(st.Path(e.Digest)); err != nil || fi.Mode().Perm() != 0o444 {
			t.Errorf("blob of %s: mode %v (%v), want read-only", e.Path, fi.Mode().Perm(), err)
		}
	}
	if got := len(blobFiles(t, st)); got != 51 {
		t.Errorf("blob dir holds %d files, want 50 blobs and the listing", got)
	}
}

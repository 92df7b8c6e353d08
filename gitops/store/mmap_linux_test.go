//go:build linux

package store

import (
	"bytes"
	"context"
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

// mappedPaths returns the lines of /proc/self/maps that map path.
func mappedPaths(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for l := range strings.Lines(string(b)) {
		if strings.HasSuffix(strings.TrimSpace(l), path) {
			lines = append(lines, l)
		}
	}
	return lines
}

// patterned returns size bytes that differ from chunk to chunk.
func patterned(size int) []byte {
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7 + i>>20 + size)
	}
	return data
}

func TestIngestFileMapped(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, size := range []int{mapMin, mapMin + 1, mapMin + 4095, mapChunk, mapChunk + 4097, 3*mapChunk - 4096, mapWindow + mapChunk + 123} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			data := patterned(size)
			src := filepath.Join(dir, fmt.Sprintf("src-%d", size))
			f := writeOpen(t, src, data)
			st := NewFile(t.TempDir())
			p := &countProgress{}
			d, n, mapped, err := st.ingestFile(ctx, f, int64(size), p)
			if err != nil || !mapped {
				t.Fatalf("ingestFile = mapped %v, %v; want a mapped ingest", mapped, err)
			}
			if d != manifests.FromBytes(data) || n != int64(size) {
				t.Fatalf("ingestFile = %s, %d; want %s, %d", d, n, manifests.FromBytes(data), size)
			}
			if got, err := os.ReadFile(st.Path(d)); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("stored bytes differ (%d bytes read, %v)", len(got), err)
			}
			if p.done.Load() != int64(size) {
				t.Errorf("progress = %d bytes, want %d", p.done.Load(), size)
			}
			if files := blobFiles(t, st); len(files) != 1 {
				t.Errorf("blob dir = %v, want the one blob", files)
			}
			if m := mappedPaths(t, src); len(m) != 0 {
				t.Errorf("still mapped after ingest: %q", m)
			}

			// The hash-only pass (register --dry-run, --data) maps too.
			p = &countProgress{}
			hd, mapped, err := hashFile(ctx, f, int64(size), p)
			if err != nil || !mapped || hd != d {
				t.Fatalf("hashFile = %s, mapped %v, %v; want %s, mapped", hd, mapped, err, d)
			}
			if p.done.Load() != int64(size) {
				t.Errorf("hashFile progress = %d bytes, want %d", p.done.Load(), size)
			}
			if m := mappedPaths(t, src); len(m) != 0 {
				t.Errorf("still mapped after hashFile: %q", m)
			}
		})
	}
}

func TestIngestFileNotMapped(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, []byte("twelve bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st := NewFile(t.TempDir())
	for _, size := range []int64{0, 11, 12, 13} { // empty, too small to map, or not the size it has
		if _, _, mapped, err := st.ingestFile(ctx, f, size, NoProgress); mapped || err != nil {
			t.Errorf("size %d: ingestFile = mapped %v, %v; want a fallback to Ingest", size, mapped, err)
		}
		if _, mapped, err := hashFile(ctx, f, size, NoProgress); mapped || err != nil {
			t.Errorf("size %d: hashFile = mapped %v, %v; want a fallback to reading", size, mapped, err)
		}
	}
	if files := blobFiles(t, st); len(files) != 0 {
		t.Errorf("blob dir = %v, want empty", files)
	}
}

// TestMappedCopyBuffered covers file systems without O_DIRECT.
func TestMappedCopyBuffered(t *testing.T) {
	dir := t.TempDir()
	data := patterned(mapChunk + 4097)
	f := writeOpen(t, filepath.Join(dir, "src"), data)
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	m := &mapping{src: f, fd: int(f.Fd()), size: int64(len(data)), before: keyOf(fi)}
	if err := m.mapNext(); err != nil {
		t.Fatal(err)
	}
	defer m.unmapAll()
	dg, err := m.copyHashing(context.Background(), out, false, NoProgress)
	if err != nil {
		t.Fatal(err)
	}
	if dg.Digest() != manifests.FromBytes(data) {
		t.Errorf("digest %s, want %s", dg.Digest(), manifests.FromBytes(data))
	}
	if got, err := os.ReadFile(out.Name()); err != nil || !bytes.Equal(got, data) {
		t.Errorf("written bytes differ (%d bytes read, %v)", len(got), err)
	}
}

// resizeProgress changes the size of path once n bytes are reported.
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

// TestIngestFileChangedWhileMapped truncates (SIGBUS on the next read of
// the mapping) or extends a file while it is being ingested.
func TestIngestFileChangedWhileMapped(t *testing.T) {
	const size = 3*mapChunk + 4096
	for _, tc := range []struct {
		name   string
		resize func(path string) error
		after  int64
	}{
		{"truncated to nothing", func(p string) error { return os.Truncate(p, 0) }, 0},
		{"truncated mid-way", func(p string) error { return os.Truncate(p, mapChunk+mapPiece) }, mapChunk + mapPiece},
		{"extended", func(p string) error {
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.Write([]byte("more"))
			return err
		}, size + 4},
		// Same size, other bytes: hasher and writers read the page at
		// different moments, so this must fail rather than store a blob
		// whose bytes are not its digest.
		{"written in place", func(p string) error { return writeAt(p, []byte("changed"), 2*mapChunk) }, size},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "weights.bin")
			writeOld(t, src, patterned(size))
			st := NewFile(t.TempDir())
			p := &resizeProgress{path: src, after: mapPiece, resize: tc.resize}
			_, err := (&Hasher{Progress: p}).Add(context.Background(), st, src)
			checkChanged(t, "adding", tc.after, src, err, p)
			if files := blobFiles(t, st); len(files) != 0 {
				t.Errorf("blob dir = %v, want empty (nothing stored, no temp file left)", files)
			}
			if m := mappedPaths(t, src); len(m) != 0 {
				t.Errorf("still mapped after a failed ingest: %q", m)
			}

			// The same change during a hash-only pass.
			writeOld(t, src, patterned(size))
			p = &resizeProgress{path: src, after: mapPiece, resize: tc.resize}
			_, err = (&Hasher{Progress: p}).Hash(context.Background(), src)
			checkChanged(t, "hashing", tc.after, src, err, p)
			if m := mappedPaths(t, src); len(m) != 0 {
				t.Errorf("still mapped after a failed hash: %q", m)
			}
		})
	}
}

// writeOpen writes data to path and opens it for reading until the test
// ends.
func writeOpen(t *testing.T, path string, data []byte) *os.File {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
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
// are as coarse as a clock tick (before Linux 6.13's multigrain times).
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

// checkChanged asserts the error of an Add ("adding") or a Hash
// ("hashing") of src, a file of
// size bytes changed to after bytes while it was read.
func checkChanged(t *testing.T, verb string, after int64, src string, err error, p *resizeProgress) {
	t.Helper()
	const size = 3*mapChunk + 4096
	if e := p.err.Load(); e != nil {
		t.Fatalf("resizing %s: %v", src, *e)
	}
	want := fmt.Sprintf("%s %q: file changed while it was read (%d bytes, then %d): try again", verb, src, size, after)
	if after == size {
		want = fmt.Sprintf("%s %q: file changed while it was read (written to in place): try again", verb, src)
	}
	if err == nil || err.Error() != want {
		t.Fatalf("a file changed while read:\n got %v\nwant %s", err, want)
	}
}

func TestBoostProcs(t *testing.T) {
	before, ncpu := runtime.GOMAXPROCS(0), runtime.NumCPU()
	restore := boostProcs(2)
	during := runtime.GOMAXPROCS(0)
	inner := boostProcs(2)
	inner()
	if got := runtime.GOMAXPROCS(0); got != during {
		t.Errorf("GOMAXPROCS = %d after a nested restore, want %d until the last one", got, during)
	}
	restore()
	restore() // a second call does nothing
	if got := runtime.GOMAXPROCS(0); got != before {
		t.Errorf("GOMAXPROCS = %d after restore, want %d", got, before)
	}
	want := before
	if os.Getenv("GOMAXPROCS") == "" && before == ncpu {
		want = min(ncpu+2*mapWriters, 4*ncpu)
	}
	if during != want {
		t.Errorf("GOMAXPROCS = %d during the ingest, want %d", during, want)
	}
}

// procsProgress records GOMAXPROCS while files are being read.
type procsProgress struct{ max atomic.Int64 }

func (p *procsProgress) Start(string, int64) {}
func (p *procsProgress) Done()               {}
func (p *procsProgress) Add(int64) {
	n := int64(runtime.GOMAXPROCS(0))
	for {
		old := p.max.Load()
		if n <= old || p.max.CompareAndSwap(old, n) {
			return
		}
	}
}

// TestBoostOnlyForMappedDirs: GOMAXPROCS goes up while a directory of
// mapped files is added, not for one of small files (read, not mapped).
func TestBoostOnlyForMappedDirs(t *testing.T) {
	if os.Getenv("GOMAXPROCS") != "" || runtime.GOMAXPROCS(0) != runtime.NumCPU() {
		t.Skip("GOMAXPROCS is set: boostProcs leaves it alone")
	}
	for _, tc := range []struct {
		name      string
		files     int
		size      int
		wantBoost bool
	}{
		{"small files", 20, 4096, false},
		{"mapped files", 3, mapMin + 4096, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for i := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprint(i)), patterned(tc.size+i), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			p := &procsProgress{}
			if _, err := (&Hasher{Progress: p}).Add(context.Background(), NewFile(t.TempDir()), dir); err != nil {
				t.Fatal(err)
			}
			if boosted := p.max.Load() > int64(runtime.NumCPU()); boosted != tc.wantBoost {
				t.Errorf("GOMAXPROCS up to %d while adding (NumCPU %d): boosted %v, want %v", p.max.Load(), runtime.NumCPU(), boosted, tc.wantBoost)
			}
			if got := runtime.GOMAXPROCS(0); got != runtime.NumCPU() {
				t.Errorf("GOMAXPROCS = %d after the add, want %d", got, runtime.NumCPU())
			}
		})
	}
}

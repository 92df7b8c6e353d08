package store

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/modelgit/modelgit/manifests"
)

// benchSize is the size of the file the benchmarks hash: 256 MiB, or
// MODELGIT_BENCH_SIZE bytes (suffixes K, M, G allowed).
func benchSize(b *testing.B) int64 {
	s := os.Getenv("MODELGIT_BENCH_SIZE")
	if s == "" {
		return 256 << 20
	}
	mult := int64(1)
	switch s[len(s)-1] {
	case 'K', 'k':
		mult, s = 1<<10, s[:len(s)-1]
	case 'M', 'm':
		mult, s = 1<<20, s[:len(s)-1]
	case 'G', 'g':
		mult, s = 1<<30, s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		b.Fatalf("MODELGIT_BENCH_SIZE=%q: want a positive number of bytes, e.g. 2G", os.Getenv("MODELGIT_BENCH_SIZE"))
	}
	return n * mult
}

// writeRandomFile writes size pseudo-random bytes to path.
func writeRandomFile(tb testing.TB, path string, size int64, seed uint64) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	if _, err := io.CopyN(f, rng, size); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

func benchFile(b *testing.B) (string, int64) {
	size := benchSize(b)
	path := filepath.Join(b.TempDir(), "weights.bin")
	writeRandomFile(b, path, size, 1)
	return path, size
}

// BenchmarkSHA256Plain is the yardstick: one plain sha256 pass over a file
// (page-cached), with a 1 MiB read buffer.
func BenchmarkSHA256Plain(b *testing.B) {
	path, size := benchFile(b)
	buf := make([]byte, 1<<20)
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(manifests.NewDigester(), onlyReader{f}, buf); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

// BenchmarkIngest hashes and stores the same file, fsync included; the
// blob is removed between iterations so every one really writes.
func BenchmarkIngest(b *testing.B) {
	path, size := benchFile(b)
	st := NewFile(b.TempDir())
	ctx := context.Background()
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		d, _, err := st.Ingest(ctx, f)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
		b.StopTimer()
		if err := os.Remove(st.Path(d)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkHashDir64Files hashes a directory of 64 files totalling the
// benchmark size, one file at a time and then on every CPU.
func BenchmarkHashDir64Files(b *testing.B) {
	size := benchSize(b)
	dir := b.TempDir()
	for i := range 64 {
		writeRandomFile(b, filepath.Join(dir, fmt.Sprintf("shard-%02d.bin", i)), size/64, uint64(i))
	}
	for _, workers := range []int{1, runtime.NumCPU()} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			h := &Hasher{Workers: workers}
			b.SetBytes(size / 64 * 64)
			for b.Loop() {
				if _, err := h.Hash(context.Background(), dir); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStatCacheHit re-checks an unchanged file through a warm stat
// cache: a stat and a map lookup, whatever the file size.
func BenchmarkStatCacheHit(b *testing.B) {
	path, _ := benchFile(b)
	c, err := OpenStatCache(filepath.Join(b.TempDir(), "stat.json"))
	if err != nil {
		b.Fatal(err)
	}
	c.now = func() time.Time { return time.Now().Add(time.Hour) } // the file is outside the racy window
	h := &Hasher{Cache: c}
	ctx := context.Background()
	want, err := h.Hash(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		got, err := h.Hash(ctx, path)
		if err != nil || got.Digest != want.Digest {
			b.Fatal(got, err)
		}
	}
}

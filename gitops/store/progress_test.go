package store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestBar(t *testing.T) {
	var out bytes.Buffer
	clock := time.Unix(1000, 0)
	b := NewBar(&out).(*bar)
	b.now = func() time.Time { return clock }
	b.Start("weights.bin", 4<<20)
	clock = clock.Add(time.Second)
	b.Add(1 << 20)
	b.Add(1 << 20) // throttled: less than 100 ms since the last draw
	clock = clock.Add(time.Second)
	b.Add(2 << 20)
	b.Done()
	got := out.String()
	lines := strings.Split(got, "\r")
	if len(lines) != 5 { // "", start, first Add, third Add, Done
		t.Errorf("draws = %d, want 4 (throttled):\n%q", len(lines)-1, got)
	}
	for _, want := range []string{
		"weights.bin [>                             ]   0% 0 B/4.0 MiB",
		"weights.bin [=======>                      ]  25% 1.0 MiB/4.0 MiB 1.0 MiB/s",
		"weights.bin [==============================] 100% 4.0 MiB/4.0 MiB 2.0 MiB/s\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output %q\nlacks %q", got, want)
		}
	}
}

func TestBarConcurrentAdd(t *testing.T) {
	var out bytes.Buffer
	b := NewBar(&out)
	b.Start("x", 0)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				b.Add(10)
			}
		})
	}
	wg.Wait()
	b.Done()
	if !strings.HasSuffix(out.String(), "x 78.1 KiB\n") && !strings.Contains(out.String(), "x 78.1 KiB ") {
		t.Errorf("final line of %q lacks the total", out.String())
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 3 << 30: "3.0 GiB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestBarSkippedBytesAreNotARate: a stat-cache hit used to be drawn as a
// throughput of the whole file over the microseconds it took to look it
// up (13.0 TiB/s); skipped bytes now count toward the total only.
func TestBarSkippedBytesAreNotARate(t *testing.T) {
	var out bytes.Buffer
	clock := time.Unix(1000, 0)
	b := NewBar(&out).(*bar)
	b.now = func() time.Time { return clock }
	b.Start("weights.bin", 4<<20)
	clock = clock.Add(time.Millisecond)
	AddSkipped(b, 4<<20)
	b.Done()
	if got := out.String(); !strings.HasSuffix(got, "weights.bin [==============================] 100% 4.0 MiB/4.0 MiB unchanged (stat cache)\n") || strings.Contains(got, "/s") {
		t.Errorf("all skipped: %q", got)
	}

	out.Reset()
	b.Start("model", 4<<20)
	clock = clock.Add(time.Second)
	b.Skip(2 << 20)
	b.Add(1 << 20)
	clock = clock.Add(time.Second)
	b.Add(1 << 20)
	b.Done()
	if got := out.String(); !strings.HasSuffix(got, "100% 4.0 MiB/4.0 MiB 1.0 MiB/s, 2.0 MiB unchanged\n") {
		t.Errorf("half skipped: %q", got)
	}
}

// recordProgress records what a Hasher reports.
type recordProgress struct {
	mu          sync.Mutex
	added, skip int64
}

func (r *recordProgress) Start(string, int64) {}
func (r *recordProgress) Add(n int64)         { r.mu.Lock(); r.added += n; r.mu.Unlock() }
func (r *recordProgress) Skip(n int64)        { r.mu.Lock(); r.skip += n; r.mu.Unlock() }
func (r *recordProgress) Done()               {}

// TestHasherReportsCacheHitsAsSkipped: the second hash of an unchanged
// file is a stat-cache hit, reported through Skip, not Add.
func TestHasherReportsCacheHitsAsSkipped(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "w.bin")
	if err := os.WriteFile(p, []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	cache := openTestCache(t, filepath.Join(dir, "cache.json"))
	for i, want := range [][2]int64{{10, 0}, {0, 10}} {
		rec := &recordProgress{}
		h := &Hasher{Cache: cache, Progress: rec}
		res, err := h.Hash(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		cache.Set(p, mustStat(t, p), res.Digest)
		if rec.added != want[0] || rec.skip != want[1] {
			t.Errorf("hash %d: added %d, skipped %d; want %d, %d", i+1, rec.added, rec.skip, want[0], want[1])
		}
	}
}

func mustStat(t *testing.T, p string) os.FileInfo {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

package store

import (
	"bytes"
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

package store

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Progress receives progress of a long operation. Add may be called from
// many goroutines at once.
type Progress interface {
	// Start begins an operation over total bytes (0 if unknown).
	Start(label string, total int64)
	// Add reports n more bytes done.
	Add(n int64)
	// Done ends the operation.
	Done()
}

// Skipper is an optional extension of Progress: Skip reports n bytes
// done without reading them (a stat-cache hit: the file is unchanged since
// it was hashed), so a bar can count them toward the total but not toward
// the throughput, which would otherwise read e.g. 13.0 TiB/s.
type Skipper interface {
	Skip(n int64)
}

// AddSkipped reports n skipped bytes to p: through Skip when p is a
// Skipper, else as done (Add).
func AddSkipped(p Progress, n int64) {
	if s, ok := p.(Skipper); ok {
		s.Skip(n)
		return
	}
	p.Add(n)
}

// NoProgress discards progress.
var NoProgress Progress = noProgress{}

type noProgress struct{}

func (noProgress) Start(string, int64) {}
func (noProgress) Add(int64)           {}
func (noProgress) Done()               {}

// redrawEvery throttles the bar to about ten redraws a second.
const redrawEvery = 100 * time.Millisecond

// bar draws a one-line progress bar with carriage returns.
type bar struct {
	w     io.Writer
	done  atomic.Int64 // bytes done, skipped ones included
	skip  atomic.Int64 // bytes skipped (Skip): done without being read
	next  atomic.Int64 // unix ns of the next allowed redraw
	mu    sync.Mutex   // guards the fields below and writes to w
	label string
	total int64
	start time.Time
	width int // length of the last line drawn, to blank it out
	now   func() time.Time
}

// NewBar returns a Progress that draws a single-line bar with throughput on
// w, redrawn at most ten times a second. Use it only when w is a terminal.
func NewBar(w io.Writer) Progress { return &bar{w: w, now: time.Now} }

func (b *bar) Start(label string, total int64) {
	b.mu.Lock()
	b.label, b.total, b.start, b.width = label, total, b.now(), 0
	b.mu.Unlock()
	b.done.Store(0)
	b.skip.Store(0)
	b.next.Store(0)
	b.draw(false)
}

func (b *bar) Add(n int64) {
	b.done.Add(n)
	now := b.now().UnixNano()
	next := b.next.Load()
	if now < next || !b.next.CompareAndSwap(next, now+int64(redrawEvery)) {
		return
	}
	b.draw(false)
}

// Skip counts n bytes as done without reading them: they do not count
// toward the rate.
func (b *bar) Skip(n int64) {
	b.skip.Add(n)
	b.Add(n)
}

func (b *bar) Done() { b.draw(true) }

func (b *bar) draw(final bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	line := b.line(b.done.Load(), b.skip.Load(), b.now().Sub(b.start))
	pad := ""
	if len(line) < b.width {
		pad = strings.Repeat(" ", b.width-len(line))
	}
	b.width = len(line)
	end := ""
	if final {
		end = "\n"
	}
	fmt.Fprintf(b.w, "\r%s%s%s", line, pad, end)
}

// line renders e.g. "weights.bin [=======>      ]  55% 1.1 GiB/2.0 GiB 512.0 MiB/s".
// The rate counts only bytes read, not skipped ones: when every byte so
// far was skipped it says "unchanged", and when some were, how many.
func (b *bar) line(done, skipped int64, elapsed time.Duration) string {
	rate := ""
	switch read := done - skipped; {
	case skipped > 0 && read == 0:
		rate = " unchanged (stat cache)"
	case elapsed.Seconds() > 0:
		rate = " " + formatBytes(int64(float64(read)/elapsed.Seconds())) + "/s"
		if skipped > 0 {
			rate += ", " + formatBytes(skipped) + " unchanged"
		}
	}
	if b.total <= 0 {
		return fmt.Sprintf("%s %s%s", b.label, formatBytes(done), rate)
	}
	const cells = 30
	frac := min(float64(done)/float64(b.total), 1)
	full := int(frac * cells)
	bar := strings.Repeat("=", full)
	if full < cells {
		bar += ">" + strings.Repeat(" ", cells-full-1)
	}
	return fmt.Sprintf("%s [%s] %3.0f%% %s/%s%s", b.label, bar, frac*100, formatBytes(done), formatBytes(b.total), rate)
}

// formatBytes renders n in binary units, e.g. "1.5 GiB".
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// progressReader reports what is read from r to p. It also hides any
// WriteTo of r, so copies use the caller's buffer size.
type progressReader struct {
	r io.Reader
	p Progress
}

func (pr progressReader) Read(b []byte) (int, error) {
	n, err := pr.r.Read(b)
	if n > 0 {
		pr.p.Add(int64(n))
	}
	return n, err
}

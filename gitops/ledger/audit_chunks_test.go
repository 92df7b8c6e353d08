package ledger

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/modelgit/modelgit/manifests"
)

// chunkEvents are n events, oldest first, two per hour, the first From
// shared by all (stored once per chunk).
func chunkEvents(n int) []AuditEvent {
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	shared := &ReleaseState{Strategy: "replace"}
	var events []AuditEvent
	for i := range n {
		events = append(events, AuditEvent{Time: base.Add(time.Duration(i/2) * time.Hour), Commit: fmt.Sprintf("%040d", i), ApprovedBy: []string{}, From: shared, To: &ReleaseState{Strategy: "canary"}})
	}
	return events
}

// writeTestCache writes a cache file holding events (oldest first) as
// branch main's, in chunks of cacheChunkEvents.
func writeTestCache(t testing.TB, file string, events []AuditEvent) {
	t.Helper()
	w, err := newCacheWriter(file, false)
	if err != nil {
		t.Fatal(err)
	}
	e := &auditCacheBranch{Tip: fmt.Sprintf("%040d", 99)}
	for len(events) > 0 {
		n := min(len(events), cacheChunkEvents)
		raw, err := encodeChunk(events[:n])
		if err != nil {
			t.Fatal(err)
		}
		e.Chunks = append(e.Chunks, w.addChunk(raw, events[0].Time, n))
		events = events[n:]
	}
	w.index.Branches["main"] = e
	c, err := w.finish()
	if err != nil {
		t.Fatal(err)
	}
	c.close()
}

// openMain opens the cache file and its branch main.
func openMain(t *testing.T, file string) *branchChunks {
	t.Helper()
	c := openAuditCache(file)
	e := c.index.Branches["main"]
	if e == nil {
		c.close()
		return nil
	}
	return &branchChunks{file: c, refs: e.Chunks}
}

func commits(evs []*AuditEvent) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Commit[38:])
	}
	return out
}

// TestCacheChunks (#16): the cache's events round-trip through the file's
// chunks; reading forward yields them oldest first and resumes where it
// stopped; walking back yields them newest first, decodes only as far
// back as asked, and skips whole the chunks after the moment asked.
func TestCacheChunks(t *testing.T) {
	defer func(n int) { cacheChunkEvents = n }(cacheChunkEvents)
	cacheChunkEvents = 3
	file := filepath.Join(t.TempDir(), "audit-cache")
	events := chunkEvents(10)
	writeTestCache(t, file, events)
	h := openMain(t, file)
	if h == nil {
		t.Fatal("the cache just written reads as empty")
	}
	defer h.close()
	if len(h.refs) != 4 || !h.refs[1].First.Equal(events[3].Time) || h.refs[3].Events != 1 {
		t.Fatalf("chunks %+v; want 4, the second from 01:00, the last of one event", h.refs)
	}
	forward := func(next int, stopAt int) ([]string, int) {
		var got []*AuditEvent
		if !h.forward(&next, func(ev *AuditEvent, err error) bool {
			got = append(got, ev)
			return len(got) < stopAt
		}) {
			t.Fatal("a chunk does not decode")
		}
		return commits(got), next
	}
	all, next := forward(0, 100)
	if want := []string{"00", "01", "02", "03", "04", "05", "06", "07", "08", "09"}; !slices.Equal(all, want) || next != 10 {
		t.Errorf("oldest first: %v (next %d), want %v", all, next, want)
	}
	if got, next := forward(4, 2); !slices.Equal(got, []string{"04", "05"}) || next != 6 {
		t.Errorf("from 4, two: %v, next %d; want 04 05, next 6", got, next)
	}
	var one *AuditEvent
	h.forward(new(int), func(ev *AuditEvent, err error) bool { one = ev; return false })
	if one.From.Strategy != "replace" || one.To.Strategy != "canary" || one.ApprovedBy == nil {
		t.Errorf("release states or approvers lost: %+v", one)
	}
	back := func(before time.Time, below, stopAt int) []string {
		var got []*AuditEvent
		if !h.back(before, &below, func(ev *AuditEvent) bool {
			got = append(got, ev)
			return len(got) < stopAt
		}) {
			t.Fatal("a chunk does not decode")
		}
		return commits(got)
	}
	noLimit := int(^uint(0) >> 1)
	if got, want := back(time.Time{}, noLimit, 100), []string{"09", "08", "07", "06", "05", "04", "03", "02", "01", "00"}; !slices.Equal(got, want) {
		t.Errorf("newest first: %v, want %v", got, want)
	}
	if got, want := back(time.Time{}, noLimit, 2), []string{"09", "08"}; !slices.Equal(got, want) {
		t.Errorf("stopped after two: %v, want %v", got, want)
	}
	if got, want := back(time.Time{}, 5, 100), []string{"04", "03", "02", "01", "00"}; !slices.Equal(got, want) {
		t.Errorf("below 5: %v, want %v", got, want)
	}
	// Before 01:00: the chunks from 03 (01:00) on are after it; the
	// chunk 00–02 is read whole (02 is at 01:00, which the caller skips).
	if got, want := back(events[0].Time.Add(59*time.Minute), noLimit, 100), []string{"02", "01", "00"}; !slices.Equal(got, want) {
		t.Errorf("before 00:59: %v, want %v", got, want)
	}
}

// TestCacheChunkCopied (#16): a chunk copied into a new file (what a
// write after new commits does with the chunks already cached) reads
// back as the same events.
func TestCacheChunkCopied(t *testing.T) {
	defer func(n int) { cacheChunkEvents = n }(cacheChunkEvents)
	cacheChunkEvents = 3
	dir := t.TempDir()
	old, file := filepath.Join(dir, "old"), filepath.Join(dir, "new")
	writeTestCache(t, old, chunkEvents(7))
	src := openAuditCache(old)
	defer src.close()
	w, err := newCacheWriter(file, false)
	if err != nil {
		t.Fatal(err)
	}
	w.write([]byte("some other branch's chunk")) // the copies move
	e := *src.index.Branches["main"]
	e.Chunks = nil
	for _, ref := range src.index.Branches["main"].Chunks {
		e.Chunks = append(e.Chunks, w.copyChunk(src.src, ref))
	}
	w.index.Branches["main"] = &e
	c, err := w.finish()
	if err != nil {
		t.Fatal(err)
	}
	c.close()
	h := openMain(t, file)
	if h == nil {
		t.Fatal("the new file reads as empty")
	}
	defer h.close()
	var got []*AuditEvent
	if !h.forward(new(int), func(ev *AuditEvent, err error) bool { got = append(got, ev); return true }) {
		t.Fatal("a copied chunk does not decode")
	}
	if want := []string{"00", "01", "02", "03", "04", "05", "06"}; !slices.Equal(commits(got), want) {
		t.Errorf("copied: %v, want %v", commits(got), want)
	}
}

// TestCacheDamaged (#16): a cache file with a byte changed in its index,
// truncated, of an older version or format, reads as empty; a chunk
// whose bytes changed does not decode (the history is then scanned
// again), and the events before it are still the right ones.
func TestCacheDamaged(t *testing.T) {
	defer func(n int) { cacheChunkEvents = n }(cacheChunkEvents)
	cacheChunkEvents = 3
	dir := t.TempDir()
	file := filepath.Join(dir, "audit-cache")
	writeTestCache(t, file, chunkEvents(10))
	good, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	h := openMain(t, file)
	refs := h.refs
	h.close()
	indexAt := int(binary.BigEndian.Uint64(good[len(good)-trailerLen:]))
	reindexed := func(version int) []byte {
		// The same chunks under an index of another version, summed.
		var ib bytes.Buffer
		idx := cacheIndex{Version: version, Branches: map[string]*auditCacheBranch{"main": {Tip: fmt.Sprintf("%040d", 99), Chunks: refs}}}
		if err := gob.NewEncoder(&ib).Encode(&idx); err != nil {
			t.Fatal(err)
		}
		out := append([]byte{}, good[:indexAt]...)
		out = append(out, ib.Bytes()...)
		trailer := make([]byte, 16)
		binary.BigEndian.PutUint64(trailer[:8], uint64(indexAt))
		binary.BigEndian.PutUint64(trailer[8:], uint64(ib.Len()))
		return append(append(out, trailer...), manifests.FromBytes(ib.Bytes()).String()...)
	}
	flip := func(i int) []byte {
		b := slices.Clone(good)
		b[i] ^= 0x20
		return b
	}
	if h := openMain(t, writeBytes(t, dir, "same version", reindexed(auditCacheVersion))); h == nil {
		t.Fatal("the test's own index does not read")
	} else {
		h.close()
	}
	for name, data := range map[string][]byte{
		"a byte of the index":   flip(indexAt + 10),
		"a byte of the trailer": flip(len(good) - 1),
		"a byte of the magic":   flip(2),
		"truncated":             good[:len(good)/2],
		"truncated at the end":  good[:len(good)-1],
		"an older version":      reindexed(auditCacheVersion - 1),
		"empty":                 {},
		"version 6's format":    append([]byte(auditCacheMagic+manifests.FromBytes([]byte("x")).String()), "x"...),
	} {
		if h := openMain(t, writeBytes(t, dir, name, data)); h != nil {
			h.close()
			t.Errorf("%s: reads as a branch", name)
		}
	}
	// A byte changed in the third chunk: the first two decode, the third
	// does not.
	h = openMain(t, writeBytes(t, dir, "chunk", flip(int(refs[2].Offset+refs[2].Length/2))))
	if h == nil {
		t.Fatal("a changed chunk made the index unreadable")
	}
	defer h.close()
	var got []*AuditEvent
	next := 0
	if h.forward(&next, func(ev *AuditEvent, err error) bool { got = append(got, ev); return true }) {
		t.Error("a changed chunk decoded")
	}
	if want := []string{"00", "01", "02", "03", "04", "05"}; !slices.Equal(commits(got), want) || next != 6 {
		t.Errorf("before the changed chunk: %v (next %d), want %v", commits(got), next, want)
	}
	// Read again from a good file, from where it stopped.
	again := openMain(t, file)
	defer again.close()
	got = nil
	again.forward(&next, func(ev *AuditEvent, err error) bool { got = append(got, ev); return true })
	if want := []string{"06", "07", "08", "09"}; !slices.Equal(commits(got), want) {
		t.Errorf("resumed: %v, want %v", commits(got), want)
	}
	below := int(^uint(0) >> 1)
	got = nil
	if h.back(time.Time{}, &below, func(ev *AuditEvent) bool { got = append(got, ev); return true }) {
		t.Error("walking back, a changed chunk decoded")
	}
	if want := []string{"09"}; !slices.Equal(commits(got), want) || below != 9 {
		t.Errorf("back to the changed chunk: %v (below %d), want %v", commits(got), below, want)
	}
}

func writeBytes(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	f := filepath.Join(dir, name)
	if err := os.WriteFile(f, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestCacheInMemory (#16): when the cache file cannot be written (a
// read-only clone), the chunks are kept in memory and read back from
// there, and no file is left.
func TestCacheInMemory(t *testing.T) {
	dir := t.TempDir()
	blocked := filepath.Join(dir, "file")
	if err := os.WriteFile(blocked, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(blocked, "audit-cache") // under a file: no directory can be made
	w, err := newCacheWriter(file, false)
	if err == nil {
		t.Fatal("a cache under a file could be written")
	}
	events := chunkEvents(3)
	raw, err := encodeChunk(events)
	if err != nil {
		t.Fatal(err)
	}
	w.index.Branches["main"] = &auditCacheBranch{Tip: fmt.Sprintf("%040d", 99), Chunks: []chunkRef{w.addChunk(raw, events[0].Time, 3)}}
	c, err := w.finish()
	if err != nil || c == nil {
		t.Fatalf("finish in memory: %v", err)
	}
	h := &branchChunks{file: c, refs: c.index.Branches["main"].Chunks}
	defer h.close()
	var got []*AuditEvent
	if !h.forward(new(int), func(ev *AuditEvent, err error) bool { got = append(got, ev); return true }) || len(got) != 3 {
		t.Errorf("read back from memory: %d events", len(got))
	}
	if _, err := os.Stat(file); err == nil {
		t.Error("a file was written")
	}
}

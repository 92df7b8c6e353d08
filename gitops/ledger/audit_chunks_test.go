package ledger

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestCacheChunks (#16): the cache's events round-trip through chunks,
// walking back yields them newest first, decodes only as far back as
// asked, and skips whole the chunks after the moment asked.
func TestCacheChunks(t *testing.T) {
	defer func(n int) { cacheChunkEvents = n }(cacheChunkEvents)
	cacheChunkEvents = 3
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	shared := &ReleaseState{Strategy: "replace"}
	var events []AuditEvent
	for i := range 10 {
		events = append(events, AuditEvent{Time: base.Add(time.Duration(i/2) * time.Hour), Commit: fmt.Sprintf("%040d", i), ApprovedBy: []string{}, From: shared, To: &ReleaseState{Strategy: "canary"}})
	}
	chunks, firsts, err := encodeChunks(events)
	if err != nil {
		t.Fatal(err)
	}
	if len(chunks) != 4 || len(firsts) != 4 || !firsts[1].Equal(base.Add(time.Hour)) {
		t.Fatalf("%d chunks, firsts %v; want 4, the second from 01:00", len(chunks), firsts)
	}
	e := &auditCacheBranch{Chunks: chunks, Firsts: firsts}
	all, ok := e.all()
	if !ok || len(all) != 10 || all[9].Commit != events[9].Commit || all[4].From.Strategy != "replace" || all[4].To.Strategy != "canary" {
		t.Fatalf("all: ok %v, %d events", ok, len(all))
	}
	back := func(before time.Time, stopAt int) []string {
		var got []string
		if !e.eachBack(before, func(ev *AuditEvent) bool {
			got = append(got, ev.Commit[38:])
			return len(got) < stopAt
		}) {
			t.Fatal("a chunk does not decode")
		}
		return got
	}
	if got, want := back(time.Time{}, 100), []string{"09", "08", "07", "06", "05", "04", "03", "02", "01", "00"}; !slices.Equal(got, want) {
		t.Errorf("newest first: %v, want %v", got, want)
	}
	if got, want := back(time.Time{}, 2), []string{"09", "08"}; !slices.Equal(got, want) {
		t.Errorf("stopped after two: %v, want %v", got, want)
	}
	// Before 01:00: the chunks from 03 (01:00) on are after it; the
	// chunk 00–02 is read whole (02 is at 01:00, which the caller skips).
	if got, want := back(base.Add(59*time.Minute), 100), []string{"02", "01", "00"}; !slices.Equal(got, want) {
		t.Errorf("before 00:59: %v, want %v", got, want)
	}
	// A damaged chunk says so.
	e.Chunks[0] = []byte("junk")
	if e.eachBack(time.Time{}, func(*AuditEvent) bool { return true }) {
		t.Error("a damaged chunk decoded")
	}
}

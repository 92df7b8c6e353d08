package ledger

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// Whatever bytes the audit cache file holds (it is local state a crash,
// a full disk or a hand may damage), reading its index and every chunk it
// names never panics, and a chunk read as events holds as many as the
// index says; a damaged file or chunk reads as missing (the history is
// scanned again).
func FuzzAuditCacheFile(f *testing.F) {
	file := filepath.Join(f.TempDir(), "audit-cache")
	defer func(n int) { cacheChunkEvents = n }(cacheChunkEvents)
	cacheChunkEvents = 2 // several chunks
	writeTestCache(f, file, chunkEvents(5))
	good, err := os.ReadFile(file)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte(auditCacheMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, ok := readCacheIndex(bytes.NewReader(data), int64(len(data)))
		if !ok {
			return
		}
		var buf []byte
		for name, e := range c.index.Branches {
			for _, ref := range e.Chunks {
				if evs, ok := c.events(ref, &buf); ok && len(evs) != ref.Events {
					t.Errorf("branch %s: a chunk read as %d events, its index says %d", name, len(evs), ref.Events)
				}
			}
		}
	})
}

// Any bytes that decode as a chunk encode again to a chunk that decodes
// to the same events: what the cache gives back is what it was given.
func FuzzDecodeChunk(f *testing.F) {
	raw, err := encodeChunk(chunkEvents(3))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add(raw[:len(raw)-1])
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, ok := decodeChunk(data)
		if !ok || len(evs) == 0 {
			return
		}
		again, err := encodeChunk(evs)
		if err != nil {
			t.Fatalf("events decoded from a chunk do not encode: %v", err)
		}
		back, ok := decodeChunk(again)
		if !ok || !reflect.DeepEqual(back, evs) {
			t.Errorf("a chunk's events do not survive encoding again:\n%+v\n%+v", evs, back)
		}
	})
}

package store

import "testing"

// TestStreamBodyReleaseLeavesAUsableBuffer: release put &b.buf in the
// pool and then set b.buf to nil, so the pool held a pointer to a nil
// slice and the next Get (ingestSmall's (*bp)[:size+1]) panicked.
func TestStreamBodyReleaseLeavesAUsableBuffer(t *testing.T) {
	b := &streamBody{buf: *bufPool.Get().(*[]byte)}
	b.release()
	if got := bufPool.Get().(*[]byte); len(*got) != hashBufSize {
		t.Errorf("the pool gave a buffer of %d bytes after release, want %d", len(*got), hashBufSize)
	}
}

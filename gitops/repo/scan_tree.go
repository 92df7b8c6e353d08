package repo

import (
	"bytes"
	"errors"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
)

// fifo is an unbounded queue between two pipeline stages: a bounded one
// could deadlock, since `git cat-file --buffer` holds its answers until
// more questions come or its input ends. Only the first stage waits for
// room (pushBelow), and only after sending its questions.
type fifo[T any] struct {
	mu     sync.Mutex
	cond   *sync.Cond
	items  []T
	closed bool
}

func newFifo[T any]() *fifo[T] {
	q := &fifo[T]{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *fifo[T]) push(v T) {
	q.mu.Lock()
	q.items = append(q.items, v)
	q.mu.Unlock()
	q.cond.Signal()
}

// pushBelow pushes v once the queue holds fewer than max/2 items, when it
// holds max: flush, called before waiting, sends the questions whose
// answers the popping stage needs, so that it can drain the queue down
// to the answers cat-file still buffers (a few kilobytes: far fewer than
// max/2 items). False when the queue was closed meanwhile (the scan
// ended).
func (q *fifo[T]) pushBelow(v T, max int, flush func()) bool {
	q.mu.Lock()
	if len(q.items) >= max && !q.closed {
		q.mu.Unlock()
		flush()
		q.mu.Lock()
		for len(q.items) >= max/2 && !q.closed {
			q.cond.Wait()
		}
	}
	if q.closed {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, v)
	q.mu.Unlock()
	q.cond.Signal()
	return true
}

func (q *fifo[T]) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// pop waits for the next item; false once the queue is closed and empty.
func (q *fifo[T]) pop() (T, bool) { return q.popFlushing(nil) }

// popFlushing is pop, calling flush (when not nil) before it waits.
func (q *fifo[T]) popFlushing(flush func()) (T, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 && !q.closed && flush != nil {
		q.mu.Unlock()
		flush()
		q.mu.Lock()
	}
	for len(q.items) == 0 && !q.closed {
		q.cond.Wait()
	}
	var zero T
	if len(q.items) == 0 {
		return zero, false
	}
	v := q.items[0]
	q.items[0] = zero
	q.items = q.items[1:]
	q.cond.Signal() // a pusher waiting for room (pushBelow)
	return v, true
}

// treeEntries calls fn with each entry of a raw tree object.
func treeEntries(raw []byte, fn func(mode, name string, h plumbing.Hash)) error {
	for len(raw) > 0 {
		sp := bytes.IndexByte(raw, ' ')
		nul := bytes.IndexByte(raw, 0)
		if sp < 0 || nul < sp || len(raw) < nul+21 {
			return errors.New("malformed tree object")
		}
		var h plumbing.Hash
		copy(h[:], raw[nul+1:nul+21])
		fn(string(raw[:sp]), string(raw[sp+1:nul]), h)
		raw = raw[nul+21:]
	}
	return nil
}

// treeEntry is one entry of a raw tree object.
type treeEntry struct {
	name []byte
	dir  bool
	hash []byte
}

// nextEntry splits the first entry off a raw tree object.
func nextEntry(raw []byte) (treeEntry, []byte, error) {
	sp := bytes.IndexByte(raw, ' ')
	nul := bytes.IndexByte(raw, 0)
	if sp < 1 || nul < sp || len(raw) < nul+21 {
		return treeEntry{}, nil, errors.New("malformed tree object")
	}
	return treeEntry{name: raw[sp+1 : nul], dir: raw[0] == '4', hash: raw[nul+1 : nul+21]}, raw[nul+21:], nil
}

// compareEntries orders tree entries as git does: a directory's name
// sorts as if it ended with "/".
func compareEntries(a, b treeEntry) int {
	n := min(len(a.name), len(b.name))
	if c := bytes.Compare(a.name[:n], b.name[:n]); c != 0 {
		return c
	}
	ca, cb := byte(0), byte(0)
	if len(a.name) > n {
		ca = a.name[n]
	} else if a.dir {
		ca = '/'
	}
	if len(b.name) > n {
		cb = b.name[n]
	} else if b.dir {
		cb = '/'
	}
	return int(ca) - int(cb)
}

// diffTrees calls fn with each file (not directory) entry whose blob
// differs between two raw tree objects; a zero hash is an absent side.
// It merges the two sorted lists without building either.
func diffTrees(newT, oldT []byte, fn func(name []byte, newH, oldH plumbing.Hash)) error {
	var n, o treeEntry
	var err error
	hash := func(b []byte) (h plumbing.Hash) { copy(h[:], b); return h }
	for len(newT) > 0 || len(oldT) > 0 {
		// Most entries are the same on both sides: skip them whole.
		if nul := bytes.IndexByte(newT, 0); nul >= 0 && len(newT) >= nul+21 && len(oldT) >= nul+21 && bytes.Equal(newT[:nul+21], oldT[:nul+21]) {
			newT, oldT = newT[nul+21:], oldT[nul+21:]
			continue
		}
		c := 0
		switch {
		case len(newT) == 0:
			c = 1
		case len(oldT) == 0:
			c = -1
		default:
			if n, _, err = nextEntry(newT); err != nil {
				return err
			}
			if o, _, err = nextEntry(oldT); err != nil {
				return err
			}
			c = compareEntries(n, o)
		}
		if c <= 0 {
			if n, newT, err = nextEntry(newT); err != nil {
				return err
			}
		}
		if c >= 0 {
			if o, oldT, err = nextEntry(oldT); err != nil {
				return err
			}
		}
		switch {
		case c < 0:
			if !n.dir {
				fn(n.name, hash(n.hash), plumbing.ZeroHash)
			}
		case c > 0:
			if !o.dir {
				fn(o.name, plumbing.ZeroHash, hash(o.hash))
			}
		case n.dir != o.dir:
			if !n.dir {
				fn(n.name, hash(n.hash), plumbing.ZeroHash)
			}
			if !o.dir {
				fn(o.name, plumbing.ZeroHash, hash(o.hash))
			}
		case !n.dir && !bytes.Equal(n.hash, o.hash):
			fn(n.name, hash(n.hash), hash(o.hash))
		}
	}
	return nil
}

package repo

import "github.com/go-git/go-git/v5/plumbing"

// heldBlobs is the release blobs a scan has handed over that its caller
// may still hold parsed, so that the scan does not read them again: what
// a caller keeps grows with the history unless the scan bounds it. Two
// kinds are held:
//
//   - carried: the old side of each release file's last change, which is
//     the new side of that file's next (older) change, since no commit
//     between the two changes it. One per release file, held until then.
//   - recent: the blobs used in the last generation or two (cur, prev),
//     for a content that comes back soon (a rollback, a revert): once cur
//     holds a generation's worth of blobs, those of prev not used again
//     in cur are let go and cur becomes prev.
//
// A blob let go is listed in the FPCommit it was let go at (Forget), and
// read again when a later commit needs it.
type heldBlobs struct {
	gen       int
	cur, prev map[plumbing.Hash]bool
	carried   map[string]plumbing.Hash // release file → its old side at its last change
	pins      map[plumbing.Hash]int    // how many release files carry each blob
	forget    []plumbing.Hash
}

// heldGeneration is how many blobs one generation of heldBlobs holds: a
// recent blob is held until at least that many blobs were used after it
// (at most twice that). On the benchmark repository (38,740 changes of
// 605 release files, 34,823 blobs, 3,887 uses of a blob again besides
// the carried ones) 2,048 re-reads 13 blobs and holds at most 4,700.
const heldGeneration = 2048

func newHeldBlobs(gen int) *heldBlobs {
	if gen <= 0 {
		gen = heldGeneration
	}
	return &heldBlobs{gen: gen, cur: map[plumbing.Hash]bool{}, prev: map[plumbing.Hash]bool{}, carried: map[string]plumbing.Hash{}, pins: map[plumbing.Hash]int{}}
}

// use notes a use of blob h and reports whether the caller holds it: when
// not, the scan hands it over with this commit.
func (b *heldBlobs) use(h plumbing.Hash) (held bool) {
	held = b.cur[h] || b.prev[h] || b.pins[h] > 0
	b.cur[h] = true
	return held
}

// carry notes that file's last change so far (newest first) has old on
// its old side: the new side of the file's next change.
func (b *heldBlobs) carry(file string, old plumbing.Hash) {
	if o, ok := b.carried[file]; ok {
		if b.pins[o]--; b.pins[o] == 0 {
			delete(b.pins, o)
			if !b.cur[o] && !b.prev[o] {
				b.forget = append(b.forget, o)
			}
		}
	}
	if old.IsZero() {
		delete(b.carried, file)
		return
	}
	b.carried[file] = old
	b.pins[old]++
}

// done ends the uses of one commit and returns the blobs the caller may
// let go of once done with that commit: none of them was used by it.
func (b *heldBlobs) done() []plumbing.Hash {
	if len(b.cur) >= b.gen {
		for h := range b.prev {
			if !b.cur[h] && b.pins[h] == 0 {
				b.forget = append(b.forget, h)
			}
		}
		b.cur, b.prev = b.prev, b.cur
		clear(b.cur)
	}
	f := b.forget
	b.forget = nil
	return f
}

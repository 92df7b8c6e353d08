package gitops

import (
	"cmp"
	"encoding/binary"
	"slices"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/modelgit/modelgit/gitops/repo"
)

// trustStates holds the signers in force after each commit the chain has
// computed. Those of the first-parent line prepareLine computes (62,000
// commits on the benchmark repository, a map of them 8 MB) are kept along
// the line itself, which the command holds anyway (repo.FirstParentTimes):
// per position an index into the distinct sets of signers, and the
// positions sorted by hash to find a commit's. Any other commit (a merged
// branch walked back to the line, a whole history listed) is in a map.
type trustStates struct {
	line   []repo.FPTime // the first-parent line, newest first; not changed
	byHash []linePos     // the positions of line, sorted by hash prefix
	at     []int32       // per position of line, its index in keys; -1: not known yet
	keys   []trustKey    // each set of signers in force on the line, once
	index  map[trustKey]int32
	other  map[plumbing.Hash]trustKey
}

func newTrustStates() trustStates {
	return trustStates{index: map[trustKey]int32{}, other: map[plumbing.Hash]trustKey{}}
}

// linePos is a position of the line keyed by the first 8 bytes of its
// commit's hash. Sorting these compares integers held in the slice: sorting
// the positions by the hashes they point to (bytes.Compare through the
// line) took 25 ms of a cold which's CPU on 62,000 commits.
type linePos struct {
	prefix uint64
	i      int32
}

func hashPrefix(h plumbing.Hash) uint64 { return binary.BigEndian.Uint64(h[:8]) }

// setLine makes line (newest first) the first-parent line whose states
// are kept along it; those already known of its commits move there.
func (s *trustStates) setLine(line []repo.FPTime) {
	s.line = line
	s.byHash = make([]linePos, len(line))
	s.at = make([]int32, len(line))
	for i := range line {
		s.byHash[i] = linePos{hashPrefix(line[i].Hash), int32(i)}
		s.at[i] = -1
	}
	slices.SortFunc(s.byHash, func(a, b linePos) int { return cmp.Compare(a.prefix, b.prefix) })
	for h, k := range s.other {
		if i, ok := s.pos(h); ok {
			s.at[i] = s.intern(k)
			delete(s.other, h)
		}
	}
}

// pos is h's position on the line. Hashes that share their first 8 bytes
// sit next to each other in byHash; each is compared whole.
func (s *trustStates) pos(h plumbing.Hash) (int, bool) {
	p := hashPrefix(h)
	j, _ := slices.BinarySearchFunc(s.byHash, p, func(e linePos, p uint64) int { return cmp.Compare(e.prefix, p) })
	for ; j < len(s.byHash) && s.byHash[j].prefix == p; j++ {
		if i := s.byHash[j].i; s.line[i].Hash == h {
			return int(i), true
		}
	}
	return 0, false
}

func (s *trustStates) intern(k trustKey) int32 {
	x, ok := s.index[k]
	if !ok {
		x = int32(len(s.keys))
		s.keys = append(s.keys, k)
		s.index[k] = x
	}
	return x
}

// get is the signers in force after h, when known.
func (s *trustStates) get(h plumbing.Hash) (trustKey, bool) {
	if k, ok := s.other[h]; ok {
		return k, true
	}
	if i, ok := s.pos(h); ok && s.at[i] >= 0 {
		return s.keys[s.at[i]], true
	}
	return trustKey{}, false
}

// known reports whether the signers in force after h are known.
func (s *trustStates) known(h plumbing.Hash) bool {
	_, ok := s.get(h)
	return ok
}

// set records the signers in force after h.
func (s *trustStates) set(h plumbing.Hash, k trustKey) {
	if i, ok := s.pos(h); ok {
		s.at[i] = s.intern(k)
		return
	}
	s.other[h] = k
}

// knownAt, setAt and copyAt are known and set for the commit at position
// i of the line (copyAt: the signers in force after the commit at from).
func (s *trustStates) knownAt(i int) bool      { return s.at[i] >= 0 }
func (s *trustStates) setAt(i int, k trustKey) { s.at[i] = s.intern(k) }
func (s *trustStates) copyAt(i, from int)      { s.at[i] = s.at[from] }

// keysKnown lists the sets of signers in force after the commits known.
func (s *trustStates) keysKnown() (out []trustKey) {
	out = slices.Clone(s.keys)
	for _, k := range s.other {
		out = append(out, k)
	}
	return out
}

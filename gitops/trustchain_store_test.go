package gitops

import (
	"fmt"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/modelgit/modelgit/gitops/repo"
)

// TestTrustStates (#16): the signers in force after each commit read back
// as they were set, whether the commit is on the line (kept along it, found
// by hash) or not (the map), set before the line was known or after.
func TestTrustStates(t *testing.T) {
	hash := func(i int) plumbing.Hash { return plumbing.ComputeHash(plumbing.BlobObject, fmt.Appendf(nil, "%d", i)) }
	key := func(i int) trustKey { return trustKey{signers: hash(1000 + i%3), nobody: i%5 == 0} }
	var line []repo.FPTime
	for i := range 50 {
		line = append(line, repo.FPTime{Hash: hash(i)})
	}
	s := newTrustStates()
	s.set(hash(7), key(7))     // on the line, known before it
	s.set(hash(500), key(500)) // off the line
	s.setLine(line)
	if !s.knownAt(7) || len(s.other) != 1 {
		t.Fatalf("a state known before the line did not move onto it: known at 7 %v, %d off the line", s.knownAt(7), len(s.other))
	}
	for i := range line {
		switch {
		case i == 7:
		case i%2 == 0:
			s.setAt(i, key(i))
		default:
			s.set(hash(i), key(i))
		}
	}
	s.set(hash(501), key(501))
	for i := range 50 {
		if k, ok := s.get(hash(i)); !ok || k != key(i) {
			t.Errorf("commit %d on the line: %v, %v; want %v", i, k, ok, key(i))
		}
	}
	for _, i := range []int{500, 501} {
		if k, ok := s.get(hash(i)); !ok || k != key(i) {
			t.Errorf("commit %d off the line: %v, %v; want %v", i, k, ok, key(i))
		}
	}
	if s.known(hash(502)) || len(s.other) != 2 || len(s.keys) != 6 {
		t.Errorf("unknown commit known %v; %d off the line (want 2); %d distinct sets on it (want 6)", s.known(hash(502)), len(s.other), len(s.keys))
	}
	s.copyAt(3, 4)
	if k, _ := s.get(hash(3)); k != key(4) {
		t.Errorf("copied state %v, want %v", k, key(4))
	}
}

// TestTrustStatesSharedPrefix: commits whose hashes share their first 8
// bytes (the key the line's positions are sorted by) are each found, and a
// hash that shares the prefix but is not on the line is not.
func TestTrustStatesSharedPrefix(t *testing.T) {
	hash := func(prefix byte, last byte) plumbing.Hash {
		var h plumbing.Hash
		for i := range 8 {
			h[i] = prefix
		}
		h[19] = last
		return h
	}
	var line []repo.FPTime
	for i := range 12 {
		line = append(line, repo.FPTime{Hash: hash(byte(i%3), byte(i))})
	}
	s := newTrustStates()
	s.setLine(line)
	for i := range line {
		if got, ok := s.pos(line[i].Hash); !ok || got != i {
			t.Errorf("commit %d: position %d, %v", i, got, ok)
		}
	}
	for _, h := range []plumbing.Hash{hash(1, 200), hash(7, 1)} {
		if i, ok := s.pos(h); ok {
			t.Errorf("%s is not on the line, found at %d", h, i)
		}
	}
}

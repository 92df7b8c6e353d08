package repo

import (
	"bytes"
	"context"

	"github.com/go-git/go-git/v5/plumbing"
)

// noPos marks a commit of a line that the commit-graph does not hold (one
// made after it was written): its filter is unknown, so it may change
// anything.
const noPos = ^uint32(0)

// maxUngraphed bounds the commits at the newest end of a line that the
// commit-graph may lack before the line is not read from it: each costs a
// look-up in every layer.
const maxUngraphed = 4096

// linePositions places each commit of a first-parent line (n commits,
// newest first, the i-th named by id(i)) in the commit-graph: the newest
// ones it lacks are noPos, and from the first it holds on, the line must
// be the graph's own first-parent walk (each commit checked against it,
// one comparison each instead of a search). False when it is not, or
// when too many commits are missing.
func (g *commitGraph) linePositions(n int, id func(int) plumbing.Hash) ([]uint32, bool) {
	pos := make([]uint32, n)
	i := 0
	var start uint32
	for ; i < n; i++ {
		p, ok := g.find(id(i))
		if ok {
			start = p
			break
		}
		if i >= maxUngraphed {
			return nil, false
		}
		pos[i] = noPos
	}
	if i == n {
		return pos, true
	}
	matched := true
	ok := g.walk(start, func(l *graphLayer, li uint32) bool {
		h := id(i)
		if !bytes.Equal(l.oidl[li*graphHashLen:(li+1)*graphHashLen], h[:]) {
			matched = false
			return false
		}
		pos[i] = l.base + li
		i++
		return i < n
	})
	return pos, ok && matched && i == n
}

// LineFilter answers, from the commit-graph's changed-path Bloom filters,
// whether a commit of a first-parent line may change a path relative to
// its first parent. False proves it does not; true only says it may. It
// is not safe for concurrent use.
type LineFilter struct {
	pos  []uint32
	keys pathKeys
}

// pathKeys are the Bloom keys of paths, computed once per path, for
// asking one commit-graph's filters about them.
type pathKeys struct {
	g    *commitGraph
	keys map[string][]bloomKey // nil: the path has no key
}

func newPathKeys(g *commitGraph) pathKeys {
	return pathKeys{g: g, keys: map[string][]bloomKey{}}
}

// mayChange says whether the commit at pos may change path: false only
// when its filter proves it does not (a path without a key may change at
// any commit).
func (k pathKeys) mayChange(pos uint32, path string) bool {
	keys, ok := k.keys[path]
	if !ok {
		if keys, ok = k.g.keys(path); !ok {
			keys = nil
		}
		k.keys[path] = keys
	}
	return keys == nil || k.g.mayChange(pos, keys)
}

// LineFilter is the filter for line (a first-parent line, newest first);
// nil when the commit-graph cannot answer for it (none, no filters, or a
// line that is not the graph's).
func (r *Repo) LineFilter(ctx context.Context, line []plumbing.Hash) *LineFilter {
	g := r.openCommitGraph(ctx)
	if g == nil {
		return nil
	}
	if _, ok := g.keys("x"); !ok {
		return nil // no filters, or layers with different settings
	}
	pos, ok := r.linePositions(g, len(line), func(i int) plumbing.Hash { return line[i] })
	if !ok {
		return nil
	}
	return &LineFilter{pos: pos, keys: newPathKeys(g)}
}

// MayChange says whether the commit at index i of the line may change
// path (a file or a directory): false only when its filter proves it
// leaves path, and therefore everything under it, alone.
func (f *LineFilter) MayChange(i int, path string) bool {
	return f.pos[i] == noPos || f.keys.mayChange(f.pos[i], path)
}

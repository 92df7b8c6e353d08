package repo

// The first-parent line of a long history (the clock of audit and which,
// and the line the chain of trust is computed along) is read from the
// commit-graph when the repository has one, mapped into memory: 62,000
// first parents take a few milliseconds, while `git rev-list
// --first-parent --timestamp`, which reads the same file, takes 0.2 s to
// print them. go-git has a commit-graph reader
// (plumbing/format/commitgraph/v2), but it makes nine allocations and
// several reads per commit and took 72 ms for the same line; a
// first-parent walk needs only three fields of the format
// (gitformat-commit-graph: OIDF, OIDL and CDAT), read here directly. Commits newer than the
// commit-graph (made after it was written) are listed by git rev-list
// until the first one the commit-graph holds.
//
// The commit-graph says what git would say only when git would read it:
// not when core.commitGraph is false, in a shallow repository, with
// grafts or replace refs (git's commit_graph_compatible), or when the
// environment points git at other object, graft or shallow files. Then
// and on any doubt (a damaged file, a parent it lacks) the whole line
// comes from git rev-list, as before.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// commitGraph is the repository's commit-graph opened for reading: its
// layers, base first (one for a single file, more for a split chain).
// Positions number the commits of every layer in that order, as the
// parent fields of the file do.
type commitGraph struct {
	layers []graphLayer
	files  []*mappedFile
}

// graphLayer is one commit-graph file.
type graphLayer struct {
	base uint32 // commits in the layers below
	n    uint32 // commits in this one
	oidf []byte // 256 × big-endian uint32: commits whose first byte is ≤ i
	oidl []byte // n × 20-byte commit ids, sorted
	cdat []byte // n × (20-byte tree id, parent 1, parent 2, generation and time)
	// The changed-path Bloom filters, when the layer has them: bidx holds
	// n big-endian uint32s, the end of each commit's filter in bdat (after
	// bdat's header: hash version, number of hashes, bits per entry).
	bidx, bdat []byte
}

const (
	graphHashLen   = 20 // SHA-1: hash version 1
	graphCDATSize  = graphHashLen + 16
	graphNoParent  = 0x70000000
	graphOctopus   = 0x80000000
	graphTimeBits  = 34
	graphChunkSize = 12
)

// parseGraphLayer reads the header and chunk table of a commit-graph file
// and checks that the chunks a walk reads are where and as large as they
// must be.
func parseGraphLayer(data []byte, base uint32) (graphLayer, error) {
	l := graphLayer{base: base}
	if len(data) < 8 || !bytes.Equal(data[:4], []byte("CGPH")) || data[4] != 1 {
		return l, errors.New("not a commit-graph file of version 1")
	}
	if data[5] != 1 {
		return l, errors.New("not a SHA-1 commit-graph")
	}
	chunks := int(data[6])
	if len(data) < 8+(chunks+1)*graphChunkSize {
		return l, errors.New("truncated chunk table")
	}
	table := data[8 : 8+(chunks+1)*graphChunkSize]
	for i := 0; i < chunks; i++ {
		e := table[i*graphChunkSize:]
		start, end := binary.BigEndian.Uint64(e[4:12]), binary.BigEndian.Uint64(e[graphChunkSize+4:graphChunkSize+12])
		if start > end || end > uint64(len(data)) {
			return l, fmt.Errorf("chunk %q out of the file", e[:4])
		}
		chunk := data[start:end]
		switch string(e[:4]) {
		case "OIDF":
			l.oidf = chunk
		case "OIDL":
			l.oidl = chunk
		case "CDAT":
			l.cdat = chunk
		case "BIDX":
			l.bidx = chunk
		case "BDAT":
			l.bdat = chunk
		}
	}
	if len(l.oidf) != 256*4 {
		return l, errors.New("no fanout chunk (OIDF) of 256 entries")
	}
	prev := uint32(0)
	for i := 0; i < 256; i++ {
		v := binary.BigEndian.Uint32(l.oidf[i*4:])
		if v < prev {
			return l, errors.New("the fanout (OIDF) decreases")
		}
		prev = v
	}
	l.n = prev
	if uint64(len(l.oidl)) != uint64(l.n)*graphHashLen || uint64(len(l.cdat)) != uint64(l.n)*graphCDATSize {
		return l, errors.New("the commit ids (OIDL) or data (CDAT) do not hold the fanout's count")
	}
	if uint64(base)+uint64(l.n) >= graphNoParent {
		return l, errors.New("too many commits")
	}
	if uint64(len(l.bidx)) != uint64(l.n)*4 || len(l.bdat) < bloomHeader {
		l.bidx, l.bdat = nil, nil // no usable filters: every commit may change anything
	}
	return l, nil
}

// find is h's position in the layer, if it holds h.
func (l *graphLayer) find(h plumbing.Hash) (uint32, bool) {
	lo := uint32(0)
	if h[0] > 0 {
		lo = binary.BigEndian.Uint32(l.oidf[(int(h[0])-1)*4:])
	}
	hi := binary.BigEndian.Uint32(l.oidf[int(h[0])*4:])
	for lo < hi {
		mid := lo + (hi-lo)/2
		switch c := bytes.Compare(h[:], l.oidl[mid*graphHashLen:(mid+1)*graphHashLen]); {
		case c == 0:
			return l.base + mid, true
		case c < 0:
			hi = mid
		default:
			lo = mid + 1
		}
	}
	return 0, false
}

// find is h's position in the commit-graph, if it holds h.
func (g *commitGraph) find(h plumbing.Hash) (uint32, bool) {
	for i := len(g.layers) - 1; i >= 0; i-- {
		if pos, ok := g.layers[i].find(h); ok {
			return pos, true
		}
	}
	return 0, false
}

// at is the layer holding position pos and pos within it.
func (g *commitGraph) at(pos uint32) (*graphLayer, uint32, bool) {
	for i := len(g.layers) - 1; i >= 0; i-- {
		if l := &g.layers[i]; pos >= l.base {
			return l, pos - l.base, pos-l.base < l.n
		}
	}
	return nil, 0, false
}

// total is the number of commits the commit-graph holds.
func (g *commitGraph) total() uint32 {
	top := g.layers[len(g.layers)-1]
	return top.base + top.n
}

// The fields of the commit at index i of a layer: its id; its root tree;
// its parents' positions (graphNoParent: none; parent2 with graphOctopus
// set: more than two, in a chunk not read here); its committer time and
// generation number (0 when the file has none).
func (l *graphLayer) id(i uint32) (h plumbing.Hash) {
	copy(h[:], l.oidl[i*graphHashLen:])
	return h
}

func (l *graphLayer) tree(i uint32) (h plumbing.Hash) {
	copy(h[:], l.cdat[i*graphCDATSize:])
	return h
}

func (l *graphLayer) parents(i uint32) (parent1, parent2 uint32) {
	d := l.cdat[i*graphCDATSize+graphHashLen:]
	return binary.BigEndian.Uint32(d[0:4]), binary.BigEndian.Uint32(d[4:8])
}

func (l *graphLayer) timeGen(i uint32) (t int64, gen uint32) {
	v := binary.BigEndian.Uint64(l.cdat[i*graphCDATSize+graphHashLen+8:])
	return int64(v & (1<<graphTimeBits - 1)), uint32(v >> graphTimeBits)
}

// walk calls fn with each commit of the first-parent line from pos (its
// layer and index there), newest first, until fn returns false or the
// first commit has been called. False when the commit-graph cannot say: a
// first parent out of the file, or a line longer than the commits it
// holds (a damaged file's loop).
func (g *commitGraph) walk(pos uint32, fn func(l *graphLayer, i uint32) bool) bool {
	total := g.total()
	for n := uint32(0); ; n++ {
		l, i, ok := g.at(pos)
		if !ok || n >= total {
			return false
		}
		if !fn(l, i) {
			return true
		}
		parent1, _ := l.parents(i)
		if parent1 == graphNoParent {
			return true
		}
		pos = parent1
	}
}

// node is the commit at index i of layer l as the release scan lists it;
// ok is false when the commit-graph cannot say (an octopus merge, or a
// parent out of the file).
func (g *commitGraph) node(l *graphLayer, i uint32) (gn graphNode, ok bool) {
	gn = graphNode{hash: l.id(i), tree: l.tree(i), pos: l.base + i}
	gn.time, _ = l.timeGen(i)
	parent1, parent2 := l.parents(i)
	for _, p := range []uint32{parent1, parent2} {
		if p == graphNoParent {
			break
		}
		if p&graphOctopus != 0 {
			return gn, false
		}
		pl, pi, ok := g.at(p)
		if !ok {
			return gn, false
		}
		gn.parent[gn.parents] = pl.id(pi)
		gn.parents++
	}
	return gn, true
}

// scanNodes lists, as the release scan's path-limited log would, the
// commits of the first-parent line from `from` down to stop (excluded;
// zero: to the first commit) that may change path by their Bloom
// filters, newest first. Commits the filters cannot rule out but that
// leave path alone are listed too: the scan finds no change at them. ok
// is false when the commit-graph cannot list them all.
func (g *commitGraph) scanNodes(from, stop plumbing.Hash, path string) (nodes []graphNode, ok bool) {
	keys, ok := g.keys(path)
	if !ok {
		return nil, false
	}
	pos, ok := g.find(from)
	if !ok {
		return nil, false
	}
	failed := false
	ok = g.walk(pos, func(l *graphLayer, i uint32) bool {
		gn, ok := g.node(l, i)
		switch {
		case !ok:
			failed = true
			return false
		case gn.hash == stop && !stop.IsZero():
			return false
		case gn.parents == 0 || g.mayChange(l.base+i, keys):
			nodes = append(nodes, gn)
		}
		return true
	})
	if !ok || failed {
		return nil, false
	}
	return nodes, true
}

// graphNode is a scanNode as compact as the scan's list of them can be
// held, until each is handed to the scan.
type graphNode struct {
	hash, tree plumbing.Hash
	time       int64
	parent     [2]plumbing.Hash
	pos        uint32 // in the commit-graph
	parents    uint8
}

func (gn *graphNode) scanNode() *scanNode {
	return &scanNode{hash: gn.hash, tree: gn.tree, time: time.Unix(gn.time, 0), parents: slices.Clone(gn.parent[:gn.parents])}
}

// close unmaps the commit-graph's files.
func (g *commitGraph) close() {
	for _, f := range g.files {
		_ = f.Close()
	}
}

// graphEnv are the variables that point git at other objects, grafts,
// shallow or replace refs than the repository's own: with any of them set
// the commit-graph is not read here.
var graphEnv = []string{"GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_GRAFT_FILE", "GIT_SHALLOW_FILE", "GIT_REPLACE_REF_BASE", "GIT_DIR", "GIT_COMMON_DIR"}

// openCommitGraph is the repository's commit-graph (the single file or
// the layers of a chain) when git would read it too; nil when there is
// none, git would not, or a file is damaged. It is mapped once per Repo
// and shared (the clock, the chain of trust and the scan of one command
// read it at once: a mapping each would count its pages as many times),
// and mapped again when its files changed (written by modelgit or by git
// meanwhile); mappings are released when the Repo is collected. Callers
// do not close it.
func (r *Repo) openCommitGraph(ctx context.Context) *commitGraph {
	stamp := r.graphStamp()
	r.graphMu.Lock()
	defer r.graphMu.Unlock()
	if !r.graphRead || stamp != r.graphStampRead {
		r.graph, r.graphRead, r.graphStampRead = r.mapCommitGraph(ctx), true, stamp
		if r.graph != nil {
			runtime.AddCleanup(r, (*commitGraph).close, r.graph)
		}
	}
	return r.graph
}

// graphStamp names the state of the commit-graph's files: the single
// file's and the chain file's identity, size and time.
func (r *Repo) graphStamp() string {
	info := filepath.Join(r.commonDir, "objects", "info")
	var b strings.Builder
	for _, f := range []string{filepath.Join(info, "commit-graph"), filepath.Join(info, "commit-graphs", "commit-graph-chain")} {
		if fi, err := os.Stat(f); err == nil {
			fmt.Fprintf(&b, "%v %d %d;", fileID(fi), fi.Size(), fi.ModTime().UnixNano())
		} else {
			b.WriteString("-;")
		}
	}
	return b.String()
}

// mapCommitGraph maps the commit-graph for openCommitGraph.
func (r *Repo) mapCommitGraph(ctx context.Context) *commitGraph {
	for _, e := range graphEnv {
		if os.Getenv(e) != "" {
			return nil
		}
	}
	if !r.graphCompatible() || r.commitGraphOff(ctx) {
		return nil
	}
	files, err := r.commitGraphPaths(ctx)
	if err != nil || len(files) == 0 {
		return nil
	}
	g := &commitGraph{}
	base := uint32(0)
	for _, f := range files {
		m, err := mapFile(f)
		if err != nil {
			g.close()
			return nil
		}
		g.files = append(g.files, m)
		l, err := parseGraphLayer(m.data, base)
		if err != nil {
			g.close()
			return nil
		}
		g.layers = append(g.layers, l)
		base += l.n
	}
	return g
}

// graphCompatible mirrors git's commit_graph_compatible: no shallow file,
// no grafts, no replace refs (a reftable, whose refs are not read here,
// counts as having some).
func (r *Repo) graphCompatible() bool {
	for _, p := range []string{"shallow", filepath.Join("info", "grafts"), "reftable"} {
		if _, err := os.Lstat(filepath.Join(r.commonDir, p)); !errors.Is(err, os.ErrNotExist) {
			return false
		}
	}
	replace := false
	_ = filepath.WalkDir(filepath.Join(r.commonDir, "refs", "replace"), func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			replace = true
			return filepath.SkipAll
		}
		return nil
	})
	if replace {
		return false
	}
	packed, err := os.ReadFile(filepath.Join(r.commonDir, "packed-refs"))
	return errors.Is(err, os.ErrNotExist) || err == nil && !bytes.Contains(packed, []byte(" refs/replace/"))
}

// has reports whether the commit-graph holds h.
func (g *commitGraph) has(h plumbing.Hash) bool {
	_, ok := g.find(h)
	return ok
}

// line lists the first-parent line from h (h first), newest first, with
// committer times, down to stop (included) when stop is on it: reached
// says so. ok is false when the commit-graph cannot answer (it lacks h or
// a parent, or is damaged): the caller asks git instead.
func (g *commitGraph) line(h, stop plumbing.Hash) (list []FPTime, reached, ok bool) {
	pos, ok := g.find(h)
	if !ok {
		return nil, false, false
	}
	// The line is no longer than h's generation number (its longest path
	// to a root, plus one) when the file has one.
	l, i, _ := g.at(pos)
	if _, gen := l.timeGen(i); gen > 0 && gen <= g.total() {
		list = make([]FPTime, 0, gen)
	}
	ok = g.walk(pos, func(l *graphLayer, i uint32) bool {
		id := l.id(i)
		t, _ := l.timeGen(i)
		list = append(list, FPTime{Hash: id, Time: time.Unix(t, 0).UTC()})
		reached = id == stop && !stop.IsZero()
		return !reached
	})
	if !ok {
		return nil, false, false
	}
	return list, reached, true
}

// The changed-path Bloom filters (git's bloom.c): each first-parent
// commit's filter holds the paths it changes against its first parent and
// every leading directory of them, each set as numHashes bits from two
// murmur3 hashes of the path. A filter that lacks one of a path's bits
// proves the commit leaves the path alone; one that has them all only
// says it may not (about one time in a hundred with git's ten bits per
// path), so every "maybe" is checked against the trees.

const (
	bloomHeader = 12
	bloomSeed0  = 0x293ae76f
	bloomSeed1  = 0x7e646e2c
)

// bloomKey is a path's bit positions before the modulo by a filter's
// length: hash0 + i × hash1 for i < numHashes.
type bloomKey []uint32

// bloomSettings are a layer's hash version, number of hashes and bits
// per entry.
func (l *graphLayer) bloomSettings() (version, hashes uint32, ok bool) {
	if l.bdat == nil {
		return 0, 0, false
	}
	version = binary.BigEndian.Uint32(l.bdat[0:4])
	hashes = binary.BigEndian.Uint32(l.bdat[4:8])
	return version, hashes, (version == 1 || version == 2) && hashes > 0 && hashes <= 32
}

// newBloomKey is path's key for numHashes hashes. Both of git's murmur3
// versions hash ASCII alike (version 1 read bytes as signed chars): a path
// with other bytes has no key here.
func newBloomKey(path string, hashes uint32) (bloomKey, bool) {
	for i := 0; i < len(path); i++ {
		if path[i] >= 0x80 {
			return nil, false
		}
	}
	h0, h1 := murmur3([]byte(path), bloomSeed0), murmur3([]byte(path), bloomSeed1)
	k := make(bloomKey, hashes)
	for i := range k {
		k[i] = h0 + uint32(i)*h1
	}
	return k, true
}

// keys are the Bloom keys of path and of each of its leading directories,
// all of which a change under path puts in a filter; false when the
// filters cannot answer for it: a layer without them, layers with
// different settings, or a path that has no key here.
func (g *commitGraph) keys(path string) ([]bloomKey, bool) {
	version, hashes, ok := g.layers[0].bloomSettings()
	if !ok {
		return nil, false
	}
	for i := range g.layers {
		if v, h, ok := g.layers[i].bloomSettings(); !ok || v != version || h != hashes {
			return nil, false
		}
	}
	var keys []bloomKey
	for p := path; ; {
		k, ok := newBloomKey(p, hashes)
		if !ok {
			return nil, false
		}
		keys = append(keys, k)
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			return keys, true
		}
		p = p[:i]
	}
}

// mayChange says whether the commit at pos may change the paths whose
// keys are given (a directory and each of its leading directories, all of
// which a change under it puts in the filter): false only when its filter
// proves it does not.
func (g *commitGraph) mayChange(pos uint32, keys []bloomKey) bool {
	l, i, ok := g.at(pos)
	if !ok || l.bidx == nil {
		return true
	}
	start := uint32(0)
	if i > 0 {
		start = binary.BigEndian.Uint32(l.bidx[(i-1)*4:])
	}
	end := binary.BigEndian.Uint32(l.bidx[i*4:])
	data := l.bdat[bloomHeader:]
	if start >= end || uint64(end) > uint64(len(data)) {
		return true // no filter, or a damaged index
	}
	filter := data[start:end]
	bits := uint64(len(filter)) * 8
	for _, k := range keys {
		for _, h := range k {
			b := uint64(h) % bits
			if filter[b/8]&(1<<(b%8)) == 0 {
				return false
			}
		}
	}
	return true
}

// murmur3 is the 32-bit MurmurHash3 of data with seed, as git's
// murmur3_seeded_v2.
func murmur3(data []byte, seed uint32) uint32 {
	const c1, c2 = 0xcc9e2d51, 0x1b873593
	h := seed
	n := len(data) / 4 * 4
	for i := 0; i < n; i += 4 {
		k := binary.LittleEndian.Uint32(data[i:])
		k *= c1
		k = k<<15 | k>>17
		k *= c2
		h ^= k
		h = h<<13 | h>>19
		h = h*5 + 0xe6546b64
	}
	var k uint32
	switch len(data) - n {
	case 3:
		k ^= uint32(data[n+2]) << 16
		fallthrough
	case 2:
		k ^= uint32(data[n+1]) << 8
		fallthrough
	case 1:
		k ^= uint32(data[n])
		k *= c1
		k = k<<15 | k>>17
		k *= c2
		h ^= k
	}
	h ^= uint32(len(data))
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// touchingFromGraph is FirstParentTouching from the commit-graph's
// Bloom filters: the commits of line (tip's first-parent line, newest
// first) whose filter may hold dir (and those the commit-graph does not
// hold) are checked by reading dir's tree id at them and at their first
// parent. ok is false when the commit-graph cannot answer: no filters,
// different settings across layers, a path without a key, or a line that
// is not the graph's.
func (r *Repo) touchingFromGraph(ctx context.Context, line []FPTime, dir string) (set map[plumbing.Hash]bool, ok bool, err error) {
	g := r.openCommitGraph(ctx)
	if g == nil {
		return nil, false, nil
	}
	keys, ok := g.keys(dir)
	if !ok {
		return nil, false, nil
	}
	pos, ok := r.linePositions(g, len(line), func(i int) plumbing.Hash { return line[i].Hash })
	if !ok {
		return nil, false, nil
	}
	var maybe []int
	for i, p := range pos {
		if p == noPos || g.mayChange(p, keys) {
			maybe = append(maybe, i)
		}
	}
	// dir's tree at each commit that may change it and at its first
	// parent: absent when it has none.
	var names []string
	seen := map[int]bool{}
	for _, i := range maybe {
		for _, j := range []int{i, i + 1} {
			if j < len(line) && !seen[j] {
				seen[j] = true
				names = append(names, line[j].Hash.String()+":"+dir)
			}
		}
	}
	objs, err := r.ReadNamed(ctx, names)
	if err != nil {
		return nil, false, err
	}
	idOf := func(i int) (plumbing.Hash, bool) {
		if i >= len(line) {
			return plumbing.ZeroHash, false
		}
		o, ok := objs[line[i].Hash.String()+":"+dir]
		return o.Hash, ok
	}
	set = map[plumbing.Hash]bool{}
	for _, i := range maybe {
		a, okA := idOf(i)
		b, okB := idOf(i + 1)
		if okA != okB || a != b {
			set[line[i].Hash] = true
		}
	}
	return set, true, nil
}

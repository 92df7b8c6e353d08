package gitops

// How the chain of trust computes the signers in force after each commit:
// along a first-parent line (prepareLine), by walking back to what is
// known (walk), or over a whole history (prepareFull), and the trust
// files it reads for that, through git cat-file where it can (prefetch).

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/modelgit/modelgit/gitops/repo"
	"github.com/modelgit/modelgit/manifests"
)

// stateOf computes the signers in force after h. The first commit asked
// has its first-parent line computed at once (prepareLine); any other is
// computed parents first back to commits already known (walk), and when
// such walks grow long, the whole history is (prepareFull).
func (ch *TrustChain) stateOf(h plumbing.Hash) (trustKey, error) {
	if k, ok := ch.state.get(h); ok {
		return k, nil
	}
	if !ch.lined {
		ch.lined = true
		if err := ch.prepareLine(h); err != nil {
			return trustKey{}, err
		}
		if k, ok := ch.state.get(h); ok {
			return k, nil
		}
	}
	return ch.compute(h)
}

// compute is walk, but once the walks have computed walkBudget commits
// one by one, the signers after every commit of h's history are listed
// at once instead (prepareFull), which costs two git processes over the
// whole history: a history whose merged branches are long.
func (ch *TrustChain) compute(h plumbing.Hash) (trustKey, error) {
	k, err := ch.walk(h, !ch.full)
	if !errors.Is(err, errWalkBudget) {
		return k, err
	}
	ch.full = true
	if err := ch.prepareFull(h); err != nil {
		return trustKey{}, err
	}
	return ch.walk(h, false)
}

// walkBudget is how many commits walks compute one by one (two trees read
// each) before the whole history is listed.
const walkBudget = 2000

var errWalkBudget = errors.New("walk budget spent")

// walk computes the signers in force after h, parents first, without
// recursion (histories are long). With budget, it stops with
// errWalkBudget once the walks have computed walkBudget commits; what it
// computed stays known.
func (ch *TrustChain) walk(h plumbing.Hash, budget bool) (trustKey, error) {
	if k, ok := ch.state.get(h); ok {
		return k, nil
	}
	commits := map[plumbing.Hash]*object.Commit{}
	stack := []plumbing.Hash{h}
	for len(stack) > 0 {
		top := stack[len(stack)-1]
		if ch.state.known(top) {
			stack = stack[:len(stack)-1]
			delete(commits, top)
			continue
		}
		if ch.pinned[top] {
			k, err := ch.filesAt(ch.root.Commit)
			if err != nil {
				return trustKey{}, err
			}
			ch.state.set(top, k)
			stack = stack[:len(stack)-1]
			continue
		}
		if budget && ch.walked >= ch.budget {
			return trustKey{}, errWalkBudget
		}
		c := commits[top]
		if c == nil {
			var err error
			if c, err = ch.commitObject(top); err != nil {
				return trustKey{}, fmt.Errorf("reading commit %s for the chain of trust (a shallow clone lacks it: fetch the whole history, or pin a trust root it has): %w", top, err)
			}
			commits[top] = c
		}
		waiting := false
		for _, p := range c.ParentHashes {
			if !ch.state.known(p) {
				stack = append(stack, p)
				waiting = true
			}
		}
		if waiting {
			continue
		}
		k, err := ch.step(c)
		if err != nil {
			return trustKey{}, err
		}
		ch.state.set(top, k)
		ch.walked++
		delete(commits, top)
		stack = stack[:len(stack)-1]
	}
	k, _ := ch.state.get(h)
	return k, nil
}

// prepareLine computes the signers in force after every commit of tip's
// first-parent line from two git processes run at once: the line itself
// (shared with the clock of the same command: repo.FirstParentTimes) and
// its commits that change something under policies/ relative to their
// first parent (answered from the commit-graph's changed-path Bloom
// filters). Every other commit of the line has its first parent's trust
// files, so step would give it its first parent's signers: it gets them
// without being read. Only the commits listed (and the first) are decoded
// and judged in Go, their merged branches with them (compute). Commits
// off the line are computed when asked (stateOf).
func (ch *TrustChain) prepareLine(tip plumbing.Hash) error {
	ctx := context.Background()
	var line []repo.FPTime
	var lineErr error
	var wg sync.WaitGroup
	wg.Go(func() { line, lineErr = ch.r.repo.FirstParentTimes(ctx, tip) })
	touching, err := ch.r.repo.FirstParentTouching(ctx, tip, manifests.PoliciesDir)
	wg.Wait()
	if lineErr != nil {
		return fmt.Errorf("listing the history of %s for the chain of trust: %w", Short(tip), lineErr)
	}
	if err != nil {
		return fmt.Errorf("listing the changes to %s/: %w", manifests.PoliciesDir, err)
	}
	var judged []plumbing.Hash
	for i, ft := range line {
		if touching[ft.Hash] || i == len(line)-1 {
			judged = append(judged, ft.Hash)
		}
	}
	if err := ch.prefetch(ctx, judged); err != nil {
		return err
	}
	ch.state.setLine(line)
	for i := len(line) - 1; i >= 0; i-- {
		h := line[i].Hash
		if ch.state.knownAt(i) {
			continue
		}
		switch {
		case ch.pinned[h]:
			k, err := ch.filesAt(ch.root.Commit)
			if err != nil {
				return err
			}
			ch.state.setAt(i, k)
			continue
		case ch.shallow[h]:
			return shallowEdge(h)
		case i < len(line)-1 && !touching[h]:
			ch.state.copyAt(i, i+1)
			continue
		}
		if _, err := ch.compute(h); err != nil {
			return err
		}
	}
	return nil
}

func shallowEdge(h plumbing.Hash) error {
	return fmt.Errorf("commit %s is the edge of a shallow clone: the chain of trust needs the history before it; fetch the whole history (git fetch --unshallow, or fetch-depth: 0 in actions/checkout), or pin a trust root it contains (--trust-root, git config modelgit.trustRoot)", Short(h))
}

// prepareFull computes the signers in force after every commit of tip's
// history from two git processes: the commits with their parents in
// topological order, and those that touch the trust files. Only the
// latter (and root commits) are decoded and judged in Go; every other
// commit keeps its first parent's signers. Decoding every commit and tree
// in Go instead took tens of seconds on 50,000 commits.
func (ch *TrustChain) prepareFull(tip plumbing.Hash) error {
	ctx := context.Background()
	lines, err := ch.r.repo.TopoParents(ctx, tip)
	if err != nil {
		return fmt.Errorf("listing the history of %s for the chain of trust: %w", Short(tip), err)
	}
	touching, err := ch.r.repo.Touching(ctx, tip, manifests.AllowedSignersFile, manifests.AllowedKeysFile)
	if err != nil {
		return fmt.Errorf("listing the changes to %s: %w", manifests.AllowedSignersFile, err)
	}
	for _, l := range lines {
		h, parents := l[0], l[1:]
		if ch.state.known(h) {
			continue
		}
		if ch.pinned[h] {
			k, err := ch.filesAt(ch.root.Commit)
			if err != nil {
				return err
			}
			ch.state.set(h, k)
			continue
		}
		if ch.shallow[h] {
			return shallowEdge(h)
		}
		known := true
		for _, p := range parents {
			if !ch.state.known(p) {
				known = false // a parent a shallow clone lacks: walk says so
			}
		}
		if !known {
			return nil
		}
		if len(parents) > 0 && !touching[h] {
			k, _ := ch.state.get(parents[0])
			ch.state.set(h, k)
			continue
		}
		c, err := ch.commitObject(h)
		if err != nil {
			return fmt.Errorf("reading commit %s: %w", h, err)
		}
		k, err := ch.step(c)
		if err != nil {
			return err
		}
		ch.state.set(h, k)
	}
	return nil
}

// step is the signers in force after c, its parents' being known.
func (ch *TrustChain) step(c *object.Commit) (trustKey, error) {
	own, err := ch.filesOf(c)
	if err != nil {
		return trustKey{}, err
	}
	if c.NumParents() == 0 {
		if ch.pinned != nil {
			return trustKey{nobody: true}, nil
		}
		t, err := ch.trust(own)
		if err != nil {
			return trustKey{}, fmt.Errorf("reading the allowed signers of the first commit %s: %w", Short(c.Hash), err)
		}
		if ch.root.Key != "" {
			s := SignatureOf(c, t)
			if !s.Trusted || !strings.EqualFold(s.Key, ch.root.Key) {
				return trustKey{nobody: true}, nil
			}
		}
		return own, nil
	}
	first, _ := ch.state.get(c.ParentHashes[0])
	parentFiles, err := ch.filesAt(c.ParentHashes[0])
	if err != nil {
		return trustKey{}, err
	}
	if own == parentFiles {
		return first, nil
	}
	if own == first {
		return own, nil
	}
	if _, err := ch.trust(own); err != nil {
		return first, nil // a file that does not parse never comes into force
	}
	t, err := ch.trust(first)
	if err != nil {
		return trustKey{}, err
	}
	if SignatureOf(c, t).Trusted {
		return own, nil
	}
	for _, p := range c.ParentHashes[1:] {
		pf, err := ch.filesAt(p)
		if err != nil {
			return trustKey{}, err
		}
		if k, _ := ch.state.get(p); pf == own && k == own {
			return own, nil
		}
	}
	return first, nil
}

// prefetch reads through git, in three batches, what step reads for
// commits: the commits, their policies/ trees and their parents', and the
// trust files these name; commitObject, filesAt and trust then find them.
// Commits it cannot read are left to go-git, which says why.
func (ch *TrustChain) prefetch(ctx context.Context, commits []plumbing.Hash) error {
	if len(commits) == 0 {
		return nil
	}
	names := make([]string, len(commits))
	for i, h := range commits {
		names[i] = h.String()
	}
	objs, err := ch.r.repo.ReadNamed(ctx, names)
	if err != nil {
		return err
	}
	ch.commits = map[plumbing.Hash]*object.Commit{}
	var trees []string         // <commit>:policies
	var treeOf []plumbing.Hash // each one's commit
	seen := map[plumbing.Hash]bool{}
	for _, h := range commits {
		o, ok := objs[h.String()]
		if !ok || o.Type != plumbing.CommitObject {
			continue
		}
		c, err := repo.DecodeCommit(h, o.Data)
		if err != nil {
			return err
		}
		ch.commits[h] = c
		for _, x := range append([]plumbing.Hash{h}, c.ParentHashes...) {
			if _, ok := ch.own[x]; !ok && !seen[x] {
				seen[x] = true
				trees = append(trees, x.String()+":"+manifests.PoliciesDir)
				treeOf = append(treeOf, x)
			}
		}
	}
	if objs, err = ch.r.repo.ReadNamed(ctx, trees); err != nil {
		return err
	}
	ch.blobs = map[plumbing.Hash][]byte{}
	var blobs []string
	for i, name := range trees {
		h := treeOf[i]
		o, ok := objs[name]
		switch {
		case !ok && ch.commits[h] == nil:
			continue // a parent without policies/, or missing: go-git says which
		case !ok || o.Type != plumbing.TreeObject:
			// No policies/ there, or not a directory: no trust files,
			// as readFiles finds.
			ch.own[h] = trustKey{}
			continue
		}
		k, ok := ch.files[o.Hash]
		if !ok {
			t, err := repo.DecodeTree(o.Hash, o.Data)
			if err != nil {
				return err
			}
			k = policiesKey(t)
			ch.files[o.Hash] = k
			for _, b := range []plumbing.Hash{k.signers, k.keys} {
				if !b.IsZero() {
					blobs = append(blobs, b.String())
				}
			}
		}
		ch.own[h] = k
	}
	if objs, err = ch.r.repo.ReadNamed(ctx, blobs); err != nil {
		return err
	}
	for _, o := range objs {
		if o.Type == plumbing.BlobObject {
			ch.blobs[o.Hash] = o.Data
		}
	}
	return nil
}

// commitObject reads commit h, read ahead or through go-git.
func (ch *TrustChain) commitObject(h plumbing.Hash) (*object.Commit, error) {
	if c, ok := ch.commits[h]; ok {
		return c, nil
	}
	return ch.r.repo.CommitObject(h)
}

// blob reads blob h, read ahead or through go-git.
func (ch *TrustChain) blob(h plumbing.Hash) ([]byte, error) {
	if b, ok := ch.blobs[h]; ok {
		return b, nil
	}
	return ch.r.repo.ReadBlob(h)
}

// filesAt is the trust files' blobs in commit h's tree.
func (ch *TrustChain) filesAt(h plumbing.Hash) (trustKey, error) {
	if k, ok := ch.own[h]; ok {
		return k, nil
	}
	c, err := ch.commitObject(h)
	if err != nil {
		return trustKey{}, fmt.Errorf("reading commit %s: %w", h, err)
	}
	return ch.filesOf(c)
}

// filesOf is the trust files' blobs in c's tree, read once per commit
// and parsed once per policies/ tree.
func (ch *TrustChain) filesOf(c *object.Commit) (trustKey, error) {
	if k, ok := ch.own[c.Hash]; ok {
		return k, nil
	}
	k, err := ch.readFiles(c)
	if err == nil {
		ch.own[c.Hash] = k
	}
	return k, err
}

func (ch *TrustChain) readFiles(c *object.Commit) (trustKey, error) {
	h := c.Hash
	tree, err := ch.r.repo.TreeObject(c.TreeHash) // c may be read ahead, without go-git's storer
	if err != nil {
		return trustKey{}, fmt.Errorf("reading the tree of %s: %w", Short(h), err)
	}
	e, err := tree.FindEntry(manifests.PoliciesDir)
	if err != nil || e.Mode != filemode.Dir {
		return trustKey{}, nil
	}
	if k, ok := ch.files[e.Hash]; ok {
		return k, nil
	}
	pt, err := ch.r.repo.TreeObject(e.Hash)
	if err != nil {
		return trustKey{}, fmt.Errorf("reading %s/ of %s: %w", manifests.PoliciesDir, Short(h), err)
	}
	k := policiesKey(pt)
	ch.files[e.Hash] = k
	return k, nil
}

// policiesKey names the trust files a policies/ tree holds.
func policiesKey(pt *object.Tree) trustKey {
	var k trustKey
	for _, te := range pt.Entries {
		if !te.Mode.IsFile() {
			continue
		}
		switch manifests.PoliciesDir + "/" + te.Name {
		case manifests.AllowedSignersFile:
			k.signers = te.Hash
		case manifests.AllowedKeysFile:
			k.keys = te.Hash
		}
	}
	return k
}

// trust parses the signers k names, once.
func (ch *TrustChain) trust(k trustKey) (*Trust, error) {
	if t, ok := ch.parsed[k]; ok {
		return t, nil
	}
	if err, ok := ch.bad[k]; ok {
		return nil, err
	}
	var signers, keys []byte
	var err error
	if !k.nobody && !k.signers.IsZero() {
		if signers, err = ch.blob(k.signers); err != nil {
			return nil, err
		}
	}
	if !k.nobody && !k.keys.IsZero() {
		if keys, err = ch.blob(k.keys); err != nil {
			return nil, err
		}
	}
	t, err := parseTrust(signers, keys)
	if err != nil {
		ch.bad[k] = err
		return nil, err
	}
	ch.parsed[k] = t
	return t, nil
}

package repo

import (
	"container/heap"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// Resolve turns a revision (hash, branch, tag, "HEAD", "HEAD~2", …) into a
// commit hash.
func (r *Repo) Resolve(rev string) (plumbing.Hash, error) {
	h, err := r.git.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("resolving revision %q: %w", rev, err)
	}
	return *h, nil
}

// tree returns the root tree of commit rev.
func (r *Repo) tree(rev plumbing.Hash) (*object.Tree, error) {
	c, err := r.git.CommitObject(rev)
	if err != nil {
		return nil, fmt.Errorf("reading commit %s: %w", rev, err)
	}
	t, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("reading tree of commit %s: %w", rev, err)
	}
	return t, nil
}

// ReadFile returns the content of path at commit rev. A missing path gives
// an error matching fs.ErrNotExist.
func (r *Repo) ReadFile(rev plumbing.Hash, path string) ([]byte, error) {
	t, err := r.tree(rev)
	if err != nil {
		return nil, err
	}
	e, err := t.FindEntry(strings.Trim(path, "/"))
	if err != nil {
		return nil, fmt.Errorf("reading %q at %s: %w", path, short(rev), fs.ErrNotExist)
	}
	if e.Mode == filemode.Dir || e.Mode == filemode.Submodule {
		return nil, fmt.Errorf("reading %q at %s: is a directory", path, short(rev))
	}
	b, err := r.git.BlobObject(e.Hash)
	if err != nil {
		return nil, fmt.Errorf("reading %q at %s: %w", path, short(rev), err)
	}
	rd, err := b.Reader()
	if err != nil {
		return nil, fmt.Errorf("reading %q at %s: %w", path, short(rev), err)
	}
	defer rd.Close()
	data, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("reading %q at %s: %w", path, short(rev), err)
	}
	return data, nil
}

// ListDir returns the sorted names of the entries of directory dir ("" for
// the root) at commit rev. A missing directory gives an error matching
// fs.ErrNotExist.
func (r *Repo) ListDir(rev plumbing.Hash, dir string) ([]string, error) {
	h := rev
	t, err := r.tree(h)
	if err != nil {
		return nil, err
	}
	dir = strings.Trim(dir, "/")
	if dir != "" {
		t, err = t.Tree(dir)
		if err != nil {
			return nil, fmt.Errorf("listing %q at %s: %w", dir, short(h), fs.ErrNotExist)
		}
	}
	names := make([]string, 0, len(t.Entries))
	for _, e := range t.Entries {
		names = append(names, e.Name)
	}
	sort.Strings(names)
	return names, nil
}

func short(h plumbing.Hash) string { return h.String()[:12] }

// Log calls fn for every commit reachable from from (zero: HEAD) that
// touches any of the path prefixes (none: every commit), newest committer
// time first, over the whole history. A commit touches a prefix when the
// tree entry at that prefix differs from its first parent's (for a root
// commit: exists); only tree hashes are compared, no diffs are made. Every
// parent is walked. fn may return storer.ErrStop to end the walk early.
func (r *Repo) Log(from plumbing.Hash, paths []string, fn func(*object.Commit) error) error {
	if from.IsZero() {
		h, _, err := r.Head()
		if err != nil {
			return err
		}
		if h.IsZero() {
			return nil
		}
		from = h
	}
	pt := &pathTrees{r: r, cache: map[plumbing.Hash][]plumbing.Hash{}}
	for _, p := range paths {
		pt.prefixes = append(pt.prefixes, strings.Trim(p, "/"))
	}
	start, err := r.git.CommitObject(from)
	if err != nil {
		return fmt.Errorf("reading commit %s: %w", from, err)
	}
	q := &CommitQueue{}
	seen := map[plumbing.Hash]bool{from: true}
	heap.Push(q, start)
	for q.Len() > 0 {
		c := heap.Pop(q).(*object.Commit)
		var first *object.Commit
		for i, ph := range c.ParentHashes {
			p, err := r.git.CommitObject(ph)
			if err != nil {
				return fmt.Errorf("reading parent %s of commit %s: %w", ph, c.Hash, err)
			}
			if i == 0 {
				first = p
			}
			if !seen[ph] {
				seen[ph] = true
				heap.Push(q, p)
			}
		}
		touches, err := pt.touches(c, first)
		if err != nil {
			return err
		}
		if !touches {
			continue
		}
		if err := fn(c); err != nil {
			if errors.Is(err, storer.ErrStop) {
				return nil
			}
			return err
		}
	}
	return nil
}

// pathTrees compares the trees of commits at a few path prefixes. cache
// holds the prefix entry hashes of each tree seen, so that a parent's
// tree is looked up once even though its child asks first.
type pathTrees struct {
	r        *Repo
	prefixes []string
	cache    map[plumbing.Hash][]plumbing.Hash
}

// touches reports whether c differs from its first parent (nil: none) at
// any prefix; with no prefixes, every commit does.
func (pt *pathTrees) touches(c, first *object.Commit) (bool, error) {
	if len(pt.prefixes) == 0 {
		return true, nil
	}
	mine, err := pt.entries(c)
	if err != nil {
		return false, err
	}
	var theirs []plumbing.Hash
	if first != nil {
		if theirs, err = pt.entries(first); err != nil {
			return false, err
		}
	}
	for i := range mine {
		var t plumbing.Hash
		if theirs != nil {
			t = theirs[i]
		}
		if mine[i] != t {
			return true, nil
		}
	}
	return false, nil
}

// entries returns the hash of each prefix in c's tree (zero when absent).
func (pt *pathTrees) entries(c *object.Commit) ([]plumbing.Hash, error) {
	if v, ok := pt.cache[c.TreeHash]; ok {
		return v, nil
	}
	t, err := pt.r.git.TreeObject(c.TreeHash)
	if err != nil {
		return nil, fmt.Errorf("reading tree of commit %s: %w", c.Hash, err)
	}
	v := make([]plumbing.Hash, len(pt.prefixes))
	for i, p := range pt.prefixes {
		if p == "" {
			v[i] = c.TreeHash
			continue
		}
		e, err := t.FindEntry(p)
		if err == nil {
			v[i] = e.Hash
		} else if !errors.Is(err, object.ErrEntryNotFound) && !errors.Is(err, object.ErrDirectoryNotFound) && !errors.Is(err, plumbing.ErrObjectNotFound) {
			return nil, fmt.Errorf("reading %q in commit %s: %w", p, c.Hash, err)
		}
	}
	pt.cache[c.TreeHash] = v
	return v, nil
}

// CommitQueue is a container/heap of commits, newest committer time first
// (ties by hash, so walks are deterministic): the order git log walks in.
type CommitQueue []*object.Commit

// Len implements heap.Interface.
func (q CommitQueue) Len() int { return len(q) }

// Less implements heap.Interface.
func (q CommitQueue) Less(i, j int) bool {
	if !q[i].Committer.When.Equal(q[j].Committer.When) {
		return q[i].Committer.When.After(q[j].Committer.When)
	}
	return q[i].Hash.String() < q[j].Hash.String()
}

// Swap implements heap.Interface.
func (q CommitQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }

// Push implements heap.Interface.
func (q *CommitQueue) Push(x any) { *q = append(*q, x.(*object.Commit)) }

// Pop implements heap.Interface.
func (q *CommitQueue) Pop() any {
	old := *q
	c := old[len(old)-1]
	*q = old[:len(old)-1]
	return c
}

// Dirty returns the sorted paths under the given prefixes (none: all) that
// differ between HEAD, the index and the worktree, untracked files
// included (ignored ones not).
func (r *Repo) Dirty(paths []string) ([]string, error) {
	wt, err := r.git.Worktree()
	if err != nil {
		return nil, fmt.Errorf("reading worktree status: %w", err)
	}
	st, err := wt.StatusWithOptions(git.StatusOptions{Strategy: git.Preload})
	if err != nil {
		return nil, fmt.Errorf("reading worktree status: %w", err)
	}
	var out []string
	for p, s := range st {
		if s.Staging == git.Unmodified && s.Worktree == git.Unmodified {
			continue
		}
		if matchesPrefix(p, paths) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

func matchesPrefix(p string, prefixes []string) bool {
	if len(prefixes) == 0 {
		return true
	}
	for _, pre := range prefixes {
		pre = strings.Trim(pre, "/")
		if pre == "" || p == pre || strings.HasPrefix(p, pre+"/") {
			return true
		}
	}
	return false
}

// RangeCommits returns the commits reachable from head and not from base
// (git's base..head), newest first. It walks both sides by commit time
// and stops once every commit left to visit is reachable from base, so a
// pull request near the tip of a long history costs a few commits, not
// the whole history. Only with skewed clocks (a commit older than its
// parent) may it include a commit of base; it never leaves out one of the
// range: it errs on checking more.
func (r *Repo) RangeCommits(base, head plumbing.Hash) ([]*object.Commit, error) {
	type mark struct {
		uninteresting bool
		commit        *object.Commit
		popped        bool
	}
	marks := map[plumbing.Hash]*mark{}
	q := &CommitQueue{}
	push := func(h plumbing.Hash, uninteresting bool) error {
		if m, ok := marks[h]; ok {
			if uninteresting && !m.uninteresting {
				m.uninteresting = true
				if m.popped {
					// Walked as interesting already: walk it again, so
					// that its parents are marked too.
					m.popped = false
					heap.Push(q, m.commit)
				}
			}
			return nil
		}
		c, err := r.git.CommitObject(h)
		if err != nil {
			return fmt.Errorf("reading commit %s: %w", h, err)
		}
		marks[h] = &mark{uninteresting: uninteresting, commit: c}
		heap.Push(q, c)
		return nil
	}
	if err := push(head, false); err != nil {
		return nil, err
	}
	if !base.IsZero() {
		if err := push(base, true); err != nil {
			return nil, err
		}
	}
	var out []*object.Commit
	var oldest time.Time // the oldest commit in out
	// The walk goes on while a commit left to visit is interesting, or
	// could still reach one in out from base: one not older than the
	// oldest of them (commits of the same second pop in hash order, so a
	// descendant can come after its ancestor).
	undecided := func() bool {
		for _, c := range *q {
			if !marks[c.Hash].uninteresting || (len(out) > 0 && !c.Committer.When.Before(oldest)) {
				return true
			}
		}
		return false
	}
	for q.Len() > 0 && undecided() {
		c := heap.Pop(q).(*object.Commit)
		marks[c.Hash].popped = true
		un := marks[c.Hash].uninteresting
		if !un {
			out = append(out, c)
			if len(out) == 1 || c.Committer.When.Before(oldest) {
				oldest = c.Committer.When
			}
		}
		for _, p := range c.ParentHashes {
			if err := push(p, un); err != nil {
				return nil, err
			}
		}
	}
	// A commit first met as interesting and later reached from base is
	// not in the range.
	return slices.DeleteFunc(out, func(c *object.Commit) bool { return marks[c.Hash].uninteresting }), nil
}

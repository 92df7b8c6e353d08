package gitops

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/modelgit/modelgit/gitops/repo"
	"github.com/modelgit/modelgit/manifests"
)

// rangeCommits returns the commits reachable from head and not from base
// (git's base..head), newest first. It walks both sides by commit time
// and stops once every commit left to visit is reachable from base, so a
// pull request near the tip of a long history costs a few commits, not
// the whole history. Only with skewed clocks (a commit older than its
// parent) may it include a commit of base; it never leaves out one of the
// range: it errs on checking more.
func (r *Registry) rangeCommits(base, head plumbing.Hash) ([]*object.Commit, error) {
	type mark struct {
		uninteresting bool
		commit        *object.Commit
		popped        bool
	}
	marks := map[plumbing.Hash]*mark{}
	q := &repo.CommitQueue{}
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
		c, err := r.repo.Git.CommitObject(h)
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

// mergeBase returns the best common ancestor of base and head, as `git
// merge-base` picks it: a pull request's changes are what head changes
// since then, so that what the base gained after the pull request forked
// (another promotion merged meanwhile) is not taken for something the
// pull request removes. It asks git rather than go-git, whose MergeBase
// indexes the whole history of one side; git answers from the commit
// graph in milliseconds on long histories.
func (r *Registry) mergeBase(ctx context.Context, base, head plumbing.Hash) (*object.Commit, error) {
	out, err := gitCmd(ctx, r.repo.Root, "merge-base", base.String(), head.String())
	if err != nil {
		var xe *exec.ExitError
		if errors.As(err, &xe) && xe.ExitCode() == 1 { // git merge-base found none
			return nil, fmt.Errorf("checking: the base %s and the head %s share no history; open the pull request from a branch of the base", short(base), short(head))
		}
		return nil, fmt.Errorf("checking: finding the merge base of %s and %s: %w (a shallow clone lacks it: fetch with --unshallow, or fetch-depth: 0 in actions/checkout)", short(base), short(head), err)
	}
	h := plumbing.NewHash(out)
	c, err := r.repo.Git.CommitObject(h)
	if err != nil {
		return nil, fmt.Errorf("checking: reading the merge base %s: %w", h, err)
	}
	return c, nil
}

// checkConfigCommit checks a commit that changes modelgit.yaml and no
// governed directory (checkCommit judges the others) as checkCommit
// would: modelgit.yaml decides the environments, their order and the
// clusters, so a change to it must be signed by a signer t trusts, unless
// it is a forge's merge that brings nothing of its own.
func (r *Registry) checkConfigCommit(c *object.Commit, t *trust) (governed bool, findings []Finding, err error) {
	h, err := subtree(c, manifests.ConfigFile)
	if err != nil {
		return false, nil, err
	}
	var ph plumbing.Hash
	if c.NumParents() > 0 {
		p, err := c.Parent(0)
		if err != nil {
			return false, nil, err
		}
		if ph, err = subtree(p, manifests.ConfigFile); err != nil {
			return false, nil, err
		}
	}
	if h == ph {
		return false, nil, nil
	}
	s := signatureInfo(c, t)
	if !s.Trusted && !s.Signed {
		neutral, err := mergeAddsNothing(c)
		if err != nil {
			return true, nil, err
		}
		s.Trusted = neutral
	}
	if !s.Trusted {
		reason := s.Reason
		if reason == "" {
			reason = "not signed by an allowed signer"
		}
		findings = append(findings, Finding{Commit: c.Hash.String(), Path: manifests.ConfigFile, Check: "signature", Message: fmt.Sprintf("%s (%s)", reason, firstLine(c.Message))})
	}
	return true, findings, nil
}

// changedPath is one file a pull request adds, modifies or deletes.
type changedPath struct {
	Path    string
	Deleted bool
}

// changedPaths lists the files under dirs (and the top-level files named
// in dirs) that differ between the trees of a and b, sorted. Equal
// subtrees are skipped by hash, so it costs what changed, not the size of
// the repository.
func (r *Registry) changedPaths(a, b *object.Commit, dirs []string) ([]changedPath, error) {
	ta, err := a.Tree()
	if err != nil {
		return nil, err
	}
	tb, err := b.Tree()
	if err != nil {
		return nil, err
	}
	var out []changedPath
	for _, d := range dirs {
		ea, errA := ta.FindEntry(d)
		eb, errB := tb.FindEntry(d)
		var ha, hb plumbing.Hash
		var da, db bool
		if errA == nil {
			ha, da = ea.Hash, ea.Mode == filemode.Dir
		}
		if errB == nil {
			hb, db = eb.Hash, eb.Mode == filemode.Dir
		}
		if err := r.diffEntries(d, ha, da, hb, db, &out); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(x, y changedPath) int { return strings.Compare(x.Path, y.Path) })
	return out, nil
}

// diffEntries compares one path's entry on both sides (zero hash: absent).
func (r *Registry) diffEntries(p string, ha plumbing.Hash, dirA bool, hb plumbing.Hash, dirB bool, out *[]changedPath) error {
	if ha == hb && dirA == dirB {
		return nil
	}
	if !dirA && !dirB {
		*out = append(*out, changedPath{Path: p, Deleted: hb.IsZero()})
		return nil
	}
	entries := map[string][2]object.TreeEntry{}
	for side, h := range []plumbing.Hash{ha, hb} {
		dir := []bool{dirA, dirB}[side]
		if h.IsZero() {
			continue
		}
		if !dir { // a file on one side, a directory on the other
			*out = append(*out, changedPath{Path: p, Deleted: side == 0})
			continue
		}
		t, err := r.repo.Git.TreeObject(h)
		if err != nil {
			return fmt.Errorf("reading tree %s of %q: %w", h, p, err)
		}
		for _, e := range t.Entries {
			pair := entries[e.Name]
			pair[side] = e
			entries[e.Name] = pair
		}
	}
	for name, pair := range entries {
		if err := r.diffEntries(p+"/"+name, pair[0].Hash, pair[0].Mode == filemode.Dir, pair[1].Hash, pair[1].Mode == filemode.Dir, out); err != nil {
			return err
		}
	}
	return nil
}

// servingQuery asks since when a model version has been serving in an
// environment.
type servingQuery struct {
	Env, Model string
	Version    manifests.Version
}

// servingRun is the answer to a servingQuery: the first-parent commit at
// which the version's latest run began (zero when it never served), and
// whether it still serves at the revision asked.
type servingRun struct {
	Since  time.Time
	Commit plumbing.Hash
	Now    bool
}

// servingRuns answers queries from the first-parent history of rev (the
// branch as merged, where a promotion takes effect when its pull request
// merges): for each, when the version's latest uninterrupted run in the
// environment began, by the committer time of the commit that started it.
// Like the audit scan it asks git for the commits that change the release
// files (`git log --first-parent --raw`), which is many times faster than
// decoding every commit with go-git on long histories; only the release
// blobs are read and parsed, each once.
func (r *Registry) servingRuns(ctx context.Context, rev plumbing.Hash, queries []servingQuery) ([]servingRun, error) {
	out := make([]servingRun, len(queries))
	if len(queries) == 0 || rev.IsZero() {
		return out, nil
	}
	type event struct {
		commit plumbing.Hash
		when   time.Time
		blob   plumbing.Hash
	}
	events := map[string][]event{}
	args := []string{"log", "--first-parent", "--root", "--no-renames", "--raw", "--no-abbrev", "--format=C %H %ct", rev.String(), "--"}
	for _, q := range queries {
		args = append(args, manifests.ReleaseFile(q.Env, q.Model))
	}
	raw, err := gitCmd(ctx, r.repo.Root, args...)
	if err != nil {
		return nil, fmt.Errorf("reading the release history: %w", err)
	}
	var cur event
	for _, line := range strings.Split(raw, "\n") {
		switch {
		case strings.HasPrefix(line, "C "):
			f := strings.Fields(line)
			if len(f) != 3 {
				continue
			}
			secs, _ := strconv.ParseInt(f[2], 10, 64)
			cur = event{commit: plumbing.NewHash(f[1]), when: time.Unix(secs, 0)}
		case strings.HasPrefix(line, ":"):
			meta, p, ok := strings.Cut(line, "\t")
			f := strings.Fields(meta)
			if !ok || len(f) < 5 {
				continue
			}
			ev := cur
			ev.blob = plumbing.NewHash(f[3])
			events[p] = append(events[p], ev)
		}
	}
	parsed := map[plumbing.Hash]*manifests.Release{}
	serving := func(p string, blob plumbing.Hash, v manifests.Version) bool {
		if blob.IsZero() {
			return false
		}
		rel, ok := parsed[blob]
		if !ok {
			rel, _ = r.parseReleaseBlob(blob, p)
			parsed[blob] = rel
		}
		return slices.Contains(Serving(rel), v)
	}
	for i, q := range queries {
		p := manifests.ReleaseFile(q.Env, q.Model)
		evs := events[p]
		inRun := false
		for j, ev := range evs {
			s := serving(p, ev.blob, q.Version)
			if s {
				inRun = true
				out[i].Since, out[i].Commit = ev.when, ev.commit
				out[i].Now = out[i].Now || j == 0
			} else if inRun {
				break
			}
		}
	}
	return out, nil
}

// parseReleaseBlob parses a release file's blob; an invalid release
// serves nothing.
func (r *Registry) parseReleaseBlob(h plumbing.Hash, p string) (*manifests.Release, error) {
	b, err := r.repo.Git.BlobObject(h)
	if err != nil {
		return nil, err
	}
	rd, err := b.Reader()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	raw, err := io.ReadAll(rd)
	if err != nil {
		return nil, err
	}
	return manifests.ParseRelease(p, raw)
}

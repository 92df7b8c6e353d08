package ledger

import (
	"context"
	"fmt"
	"iter"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/repo"
	"github.com/modelgit/modelgit/manifests"
)

// AuditCacheFile is where audit keeps, under the git directory, the events
// it found on each followed branch, keyed by the tip they were read at.
// It is only ever a shortcut: when the cached tip is on the first-parent
// history of the current tip, only the commits after it are scanned;
// otherwise (a rebase, a force-push, another trust root, a damaged or
// deleted file) the history is scanned again and the cache rewritten.
// The signature verdicts it keeps are by the signers in force at each
// commit's first parent (gitops.HistoryJudge), which the commits after it
// cannot change: they depend on the history before the commit and on the
// trust root only.
const AuditCacheFile = "modelgit/audit-cache"

// auditCacheVersion changes whenever the events or their encoding do.
// 6: signatures judged by the signers in force at each commit's first
// parent (the chain of trust), no longer by those at the tip; the events
// in chunks.
// 7: the file is the chunks' own bytes and an index of them (each
// chunk's place, first time and sha256), no longer one gob holding every
// chunk: a read checks the index only and each chunk as it is decoded,
// and new commits append chunks without the others being encoded again
// (audit_cache_file.go).
// 8: a chunk is its own compact encoding with a table of its strings
// (audit_chunk_codec.go), no longer a gob.
const auditCacheVersion = 8

// auditCacheBranch is one branch's entry in the index: its events,
// oldest first, in chunks of up to cacheChunkEvents encoded apart, so
// that audit decodes one chunk at a time, which (walking back from the
// newest) decodes only the chunks it reaches, and new commits add a chunk
// without decoding or encoding the older ones again.
type auditCacheBranch struct {
	Tip string
	// TipTime is the tip's time on the first-parent line, which the
	// times of the commits after it are clamped to.
	TipTime      time.Time
	Environments []string
	// Trust names the trust root the signatures were judged from
	// (gitops.HistoryJudge.RootKey).
	Trust  string
	Chunks []chunkRef // oldest first
}

// chunkRef is where one chunk's bytes are in the file, and what they
// must be.
type chunkRef struct {
	Offset, Length int64
	// First is the time of the chunk's first (oldest) event: times never
	// go back along the branch, so a chunk whose first event is after a
	// moment holds only events after it.
	First time.Time
	// Events is how many events it holds.
	Events int
	// Sum is the sha256 of its bytes (a manifests.Digest's text).
	Sum string
}

// cacheChunkEvents is the most events one chunk holds.
var cacheChunkEvents = 2048 // a variable only so that tests can lower it

// cacheChunk is a run of events, oldest first. Release states are stored
// once each: From and To of the events are indexes into Releases (-1:
// none).
type cacheChunk struct {
	Releases []cachedRelease
	Events   []cachedEvent
	From, To []int
}

// cachedEvent is an AuditEvent without its release states;
// TestCachedEventHasEveryField keeps the two in step.
type cachedEvent struct {
	Time                                                     time.Time
	CommitterTime                                            *time.Time
	Description                                              string
	Environment, Model, Action, FromVersion, ToVersion       string
	Strategy, Forced, Rollback, RequestedBy                  string
	ApprovedBy                                               []string
	MergedBy, Policy                                         string
	PullRequest                                              int
	CheckedHead, Via, Commit, ChangeCommit, Reverts, Subject string
	Signature                                                gitops.SignatureInfo
	ChangeSignature                                          *gitops.SignatureInfo
	Notes                                                    []string
}

func toCachedEvent(e *AuditEvent) cachedEvent {
	return cachedEvent{
		Time: e.Time, CommitterTime: e.CommitterTime, Description: e.Description,
		Environment: e.Environment, Model: e.Model, Action: e.Action, FromVersion: e.FromVersion, ToVersion: e.ToVersion,
		Strategy: e.Strategy, Forced: e.Forced, Rollback: e.Rollback, RequestedBy: e.RequestedBy, ApprovedBy: e.ApprovedBy,
		MergedBy: e.MergedBy, Policy: e.Policy, PullRequest: e.PullRequest, CheckedHead: e.CheckedHead, Via: e.Via, Commit: e.Commit,
		ChangeCommit: e.ChangeCommit, Reverts: e.Reverts, Subject: e.Subject, Signature: e.Signature, ChangeSignature: e.ChangeSignature, Notes: e.Notes,
	}
}

func (c *cachedEvent) event(from, to *ReleaseState) AuditEvent {
	approved := c.ApprovedBy
	if approved == nil {
		approved = []string{} // as a scan makes it
	}
	return AuditEvent{
		Time: c.Time, CommitterTime: c.CommitterTime, Description: c.Description,
		Environment: c.Environment, Model: c.Model, Action: c.Action, FromVersion: c.FromVersion, ToVersion: c.ToVersion,
		From: from, To: to,
		Strategy: c.Strategy, Forced: c.Forced, Rollback: c.Rollback, RequestedBy: c.RequestedBy, ApprovedBy: approved,
		MergedBy: c.MergedBy, Policy: c.Policy, PullRequest: c.PullRequest, CheckedHead: c.CheckedHead, Via: c.Via, Commit: c.Commit,
		ChangeCommit: c.ChangeCommit, Reverts: c.Reverts, Subject: c.Subject, Signature: c.Signature, ChangeSignature: c.ChangeSignature, Notes: c.Notes,
	}
}

// cachedRelease is a ReleaseState as a chunk carries it: a weight of 0
// (a standby) is not no weight.
type cachedRelease struct {
	Strategy, Match, Error string
	Versions               []cachedVersion
}

// cachedVersion is a manifests.ReleasedVersion; TestCachedEventHasEveryField
// keeps the two in step.
type cachedVersion struct {
	Version    manifests.Version
	Digest     string
	Weight     int // -1: none
	Role       string
	StorageURI string
}

func toCachedRelease(st *ReleaseState) cachedRelease {
	c := cachedRelease{Strategy: st.Strategy, Match: st.Match, Error: st.Error}
	for _, v := range st.Versions {
		w := -1
		if v.Weight != nil {
			w = *v.Weight
		}
		c.Versions = append(c.Versions, cachedVersion{Version: v.Version, Digest: v.Digest.String(), Weight: w, Role: v.Role, StorageURI: v.StorageURI})
	}
	return c
}

func (c cachedRelease) state() (*ReleaseState, bool) {
	st := &ReleaseState{Strategy: c.Strategy, Match: c.Match, Error: c.Error, Versions: make([]manifests.ReleasedVersion, 0, len(c.Versions))}
	for _, v := range c.Versions {
		rv := manifests.ReleasedVersion{Version: v.Version, Role: v.Role, StorageURI: v.StorageURI}
		if v.Digest != "" {
			d, err := manifests.ParseDigest(v.Digest)
			if err != nil {
				return nil, false
			}
			rv.Digest = d
		}
		if v.Weight >= 0 {
			w := v.Weight
			rv.Weight = &w
		}
		st.Versions = append(st.Versions, rv)
	}
	return st, true
}

// CachePath is where the audit cache of the repository is: AuditCacheFile
// under its common git directory.
func (r *Ledger) CachePath(ctx context.Context) (string, error) {
	dir, err := r.gitCommonDir(ctx)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, filepath.FromSlash(AuditCacheFile)), nil
}

// decodeChunk decodes one chunk's events, oldest first; false when it
// does not hold together.
func decodeChunk(raw []byte) ([]AuditEvent, bool) {
	c, ok := unmarshalChunk(raw)
	if !ok {
		return nil, false
	}
	releases := make([]*ReleaseState, len(c.Releases))
	for i, cr := range c.Releases {
		st, ok := cr.state()
		if !ok {
			return nil, false
		}
		releases[i] = st
	}
	at := func(i int) (*ReleaseState, bool) {
		switch {
		case i == -1:
			return nil, true
		case i < 0 || i >= len(releases):
			return nil, false
		}
		return releases[i], true
	}
	events := make([]AuditEvent, len(c.Events))
	for i := range c.Events {
		from, ok1 := at(c.From[i])
		to, ok2 := at(c.To[i])
		if !ok1 || !ok2 {
			return nil, false
		}
		events[i] = c.Events[i].event(from, to)
	}
	return events, true
}

// encodeChunk encodes events (oldest first, at most cacheChunkEvents)
// as one chunk.
func encodeChunk(events []AuditEvent) ([]byte, error) {
	n := len(events)
	c := cacheChunk{From: make([]int, n), To: make([]int, n), Events: make([]cachedEvent, n)}
	idx := map[*ReleaseState]int{}
	ref := func(st *ReleaseState) int {
		if st == nil {
			return -1
		}
		i, ok := idx[st]
		if !ok {
			i = len(c.Releases)
			idx[st] = i
			c.Releases = append(c.Releases, toCachedRelease(st))
		}
		return i
	}
	for i := range n {
		c.From[i], c.To[i] = ref(events[i].From), ref(events[i].To)
		c.Events[i] = toCachedEvent(&events[i])
	}
	raw, err := marshalChunk(&c)
	if err != nil {
		return nil, fmt.Errorf("encoding the audit cache: %w", err)
	}
	return raw, nil
}

// branchChunks is one branch's events as the cache holds them, up to date
// at the tip asked: its chunks, oldest first, and the file they are read
// from. Close it when done.
type branchChunks struct {
	file *cacheFile
	refs []chunkRef
	buf  []byte // the bytes of the chunk read last, reused
}

func (h *branchChunks) close() { h.file.close() }

// forward calls yield with the events, oldest first, from position *next
// (0: the oldest) on, advancing *next, until yield returns false; false
// when a chunk does not check or decode (the events before it were
// yielded).
func (h *branchChunks) forward(next *int, yield func(*AuditEvent, error) bool) bool {
	pos := 0
	for _, ref := range h.refs {
		if pos+ref.Events <= *next {
			pos += ref.Events
			continue
		}
		evs, ok := h.file.events(ref, &h.buf)
		if !ok {
			return false
		}
		for k := max(0, *next-pos); k < len(evs); k++ {
			*next = pos + k + 1
			if !yield(&evs[k], nil) {
				return true
			}
		}
		pos += ref.Events
	}
	return true
}

// back calls fn with the events at positions below *below, newest first,
// lowering *below to each one's, until fn returns false; the chunks whose
// first event is after before (when not zero) are skipped whole. False
// when a chunk does not check or decode.
func (h *branchChunks) back(before time.Time, below *int, fn func(*AuditEvent) bool) bool {
	end := 0
	for _, ref := range h.refs {
		end += ref.Events
	}
	for i := len(h.refs) - 1; i >= 0; i-- {
		ref := h.refs[i]
		start := end - ref.Events
		end = start
		if start >= *below || !before.IsZero() && ref.First.After(before) {
			continue
		}
		evs, ok := h.file.events(ref, &h.buf)
		if !ok {
			return false
		}
		for k := min(len(evs), *below-start) - 1; k >= 0; k-- {
			*below = start + k
			if !fn(&evs[k]) {
				return true
			}
		}
	}
	return true
}

// BranchEvents yields every release change on the first-parent history
// of branch at tip for envs, oldest first, using and updating the cache:
// the commits after the cached tip (all of them without a usable entry)
// are scanned and written to it, then the events are decoded from it one
// chunk at a time as they are yielded, none held. A chunk that does not
// check makes the history scanned again, and the events not yet yielded
// are read from the new file. Range over it once.
func (r *Ledger) BranchEvents(ctx context.Context, branch string, tip plumbing.Hash, envs []string, progress func()) iter.Seq2[*AuditEvent, error] {
	return func(yield func(*AuditEvent, error) bool) {
		next := 0
		for attempt := range 2 {
			h, err := r.branchCache(ctx, branch, tip, envs, nil, progress, attempt > 0)
			if err != nil {
				yield(nil, err)
				return
			}
			done := h.forward(&next, yield)
			h.close()
			if done {
				return
			}
		}
		yield(nil, fmt.Errorf("the audit cache of branch %s does not decode after it was written again", branch))
	}
}

// BranchEventsBack calls fn with the release changes on the first-parent
// history of branch at tip for envs, newest first, until fn returns
// false, using and updating the cache: the commits after the cached tip
// are scanned, and the events are decoded one chunk at a time, as far
// back as fn goes. Events after before (when not zero) may be left out.
// judge, when not nil, judges the signatures of the commits scanned: a
// caller that has prepared one for tip's history does not pay for the
// chain of trust twice.
func (r *Ledger) BranchEventsBack(ctx context.Context, branch string, tip plumbing.Hash, envs []string, before time.Time, judge *gitops.HistoryJudge, fn func(*AuditEvent) bool) error {
	below := math.MaxInt
	for attempt := range 2 {
		h, err := r.branchCache(ctx, branch, tip, envs, judge, nil, attempt > 0)
		if err != nil {
			return err
		}
		ok := h.back(before, &below, fn)
		h.close()
		if ok {
			return nil
		}
	}
	return fmt.Errorf("the audit cache of branch %s does not decode after it was written again", branch)
}

// branchCache brings the cache of branch up to date at tip and returns
// its events there: it scans the commits after the cached tip (all of
// them when there is no usable entry, or when fresh: a chunk of it did
// not check), encoding the new events into chunks as they come (a chunk
// as soon as it is full, none held after), and writes the cache — the
// chunks of the entries it keeps copied, not encoded again. judge judges
// the signatures (a new HistoryJudge of tip when nil).
func (r *Ledger) branchCache(ctx context.Context, branch string, tip plumbing.Hash, envs []string, judge *gitops.HistoryJudge, progress func(), fresh bool) (*branchChunks, error) {
	envs = slices.Sorted(slices.Values(envs))
	if judge == nil {
		var err error
		if judge, err = r.NewHistoryJudge(tip); err != nil {
			return nil, err
		}
	}
	trust := judge.RootKey()
	file, err := r.CachePath(ctx)
	if err != nil {
		return nil, err
	}
	cache := openAuditCache(file)
	defer func() { cache.close() }() // the one open then, which h may have taken
	var cached *auditCacheBranch
	if e := cache.index.Branches[branch]; !fresh && e != nil && slices.Equal(e.Environments, envs) && e.Trust == trust {
		if e.Tip == tip.String() {
			h := &branchChunks{file: cache, refs: e.Chunks}
			cache = emptyCacheFile() // h closes it
			return h, nil
		}
		cached = e
	}
	for attempt := range 2 {
		w, err := newCacheWriter(file, attempt > 0)
		if err != nil {
			r.Log().Warningf("cannot write the audit cache %s: %v", file, err)
		}
		err = r.scanToCache(ctx, w, cache, branch, tip, envs, trust, judge, cached, progress)
		if err != nil {
			w.discard()
			return nil, err
		}
		// The entries kept: their chunks' bytes, copied.
		for _, b := range slices.Sorted(maps.Keys(cache.index.Branches)) {
			if b == branch {
				continue
			}
			old := cache.index.Branches[b]
			kept := *old
			kept.Chunks = nil
			for _, ref := range old.Chunks {
				kept.Chunks = append(kept.Chunks, w.copyChunk(cache.src, ref))
			}
			w.index.Branches[b] = &kept
		}
		nf, err := w.finish()
		if nf != nil {
			if err != nil {
				r.Log().Warningf("cannot write the audit cache %s: %v", file, err)
			}
			return &branchChunks{file: nf, refs: nf.index.Branches[branch].Chunks}, nil
		}
		r.Log().Warningf("cannot write the audit cache %s: %v", file, err)
	}
	return nil, fmt.Errorf("reading the history of branch %s: the audit cache could not be written, even in memory", branch)
}

// scanToCache scans the commits of branch's first-parent history after
// the cached entry's tip (all of them when cached is nil or its tip is no
// longer on that history) and writes their events to w, dated on the
// first-parent line and encoded a chunk at a time as they come (the scan
// goes newest first: a chunk is encoded as soon as it is full, and the
// oldest may be short), after the cached entry's chunks, copied from old,
// and enters the branch in w's index.
func (r *Ledger) scanToCache(ctx context.Context, w *cacheWriter, old *cacheFile, branch string, tip plumbing.Hash, envs []string, trust string, judge *gitops.HistoryJudge, cached *auditCacheBranch, progress func()) error {
	var stop plumbing.Hash
	var stopTime time.Time
	if cached != nil {
		stop, stopTime = plumbing.NewHash(cached.Tip), cached.TipTime
	}
	e := &auditCacheBranch{Tip: tip.String(), Environments: envs, Trust: trust}
	var (
		clock   *clamper
		pending []AuditEvent // newest first
		refs    []chunkRef   // newest first
	)
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		slices.Reverse(pending)
		raw, err := encodeChunk(pending)
		if err != nil {
			return err
		}
		refs = append(refs, w.addChunk(raw, pending[0].Time, len(pending)))
		pending = pending[:0]
		return nil
	}
	res, err := r.ScanEvents(ctx, tip, stop, judge, envs, "", func(l repo.ScanResult) error {
		if stop.IsZero() || !l.Reached {
			stopTime = time.Time{}
		}
		clock = newClamper(l.Listed, stopTime)
		if len(clock.mono) > 0 {
			e.TipTime = clock.mono[0]
		}
		return nil
	}, func(_ *repo.FPCommit, evs []AuditEvent) error {
		if progress != nil {
			progress()
		}
		for i := range evs {
			clock.clamp(&evs[i])
			pending = append(pending, evs[i])
			if len(pending) == cacheChunkEvents {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	r.warnCommitGraph(res.CommitGraph.Err)
	if !stop.IsZero() && res.Reached {
		for _, ref := range cached.Chunks {
			e.Chunks = append(e.Chunks, w.copyChunk(old.src, ref))
		}
	}
	slices.Reverse(refs)
	e.Chunks = append(e.Chunks, refs...)
	w.index.Branches[branch] = e
	return nil
}

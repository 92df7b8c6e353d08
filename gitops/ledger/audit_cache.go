package ledger

import (
	"bytes"
	"context"
	"encoding/gob"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/internal/durable"
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
const auditCacheVersion = 6

// auditCacheMagic starts the file; the sha256 of the rest follows it, so
// that a damaged file is never read as events.
const auditCacheMagic = "modelgit audit-cache\n"

type auditCache struct {
	Version  int
	Branches map[string]*auditCacheBranch
}

// auditCacheBranch is one branch's events, oldest first, in chunks of
// up to cacheChunkEvents encoded apart, so that which (walking back from
// the newest) decodes only the chunks it reaches, and new commits add a
// chunk without decoding or encoding the older ones again.
type auditCacheBranch struct {
	Tip string
	// TipTime is the tip's time on the first-parent line, which the
	// times of the commits after it are clamped to.
	TipTime      time.Time
	Environments []string
	// Trust names the trust root the signatures were judged from
	// (gitops.HistoryJudge.RootKey).
	Trust  string
	Chunks [][]byte // each a gob of a cacheChunk, oldest first
	// Firsts are the times of each chunk's first (oldest) event: times
	// never go back along the branch, so a chunk whose first event is
	// after a moment holds only events after it.
	Firsts []time.Time
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

// cachedEvent is an AuditEvent without its release states (gob cannot
// carry a manifests.Digest); TestCachedEventHasEveryField keeps the two in
// step.
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
		approved = []string{} // gob does not tell empty from nil
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

// cachedRelease is a ReleaseState as gob can carry it: gob drops nil and
// zero alike, and a weight of 0 (a standby) is not no weight.
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

func (r *Ledger) CachePath(ctx context.Context) (string, error) {
	dir, err := r.gitCommonDir(ctx)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, filepath.FromSlash(AuditCacheFile)), nil
}

// readAuditCache reads the cache; a missing, damaged or outdated one reads
// as empty.
func readAuditCache(file string) *auditCache {
	empty := &auditCache{Version: auditCacheVersion, Branches: map[string]*auditCacheBranch{}}
	data, err := os.ReadFile(file)
	if err != nil {
		return empty
	}
	n := len(manifests.FromBytes(nil).String())
	rest, ok := bytes.CutPrefix(data, []byte(auditCacheMagic))
	if !ok || len(rest) < n {
		return empty
	}
	sum, payload := rest[:n], rest[n:]
	if string(sum) != manifests.FromBytes(payload).String() {
		return empty
	}
	c := &auditCache{}
	if err := gob.NewDecoder(bytes.NewReader(payload)).Decode(c); err != nil || c.Version != auditCacheVersion || c.Branches == nil {
		return empty
	}
	for b, e := range c.Branches {
		if e == nil || len(e.Tip) != 40 || len(e.Firsts) != len(e.Chunks) {
			delete(c.Branches, b)
		}
	}
	return c
}

// encodeAuditCache is the file's content for c.
func encodeAuditCache(c *auditCache) ([]byte, error) {
	// The sum's place is kept and filled in after: no second copy of the
	// whole file.
	head := len(auditCacheMagic) + len(manifests.FromBytes(nil).String())
	var buf bytes.Buffer
	buf.WriteString(auditCacheMagic)
	buf.Write(make([]byte, head-len(auditCacheMagic)))
	if err := gob.NewEncoder(&buf).Encode(c); err != nil {
		return nil, fmt.Errorf("encoding the audit cache: %w", err)
	}
	data := buf.Bytes()
	copy(data[len(auditCacheMagic):head], manifests.FromBytes(data[head:]).String())
	return data, nil
}

// decodeChunk decodes one chunk's events, oldest first; false when it
// does not hold together.
func decodeChunk(raw []byte) ([]AuditEvent, bool) {
	var c cacheChunk
	if err := gob.NewDecoder(bytes.NewReader(raw)).Decode(&c); err != nil || len(c.From) != len(c.Events) || len(c.To) != len(c.Events) {
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

// encodeChunks encodes events (oldest first) as chunks, with the time of
// each chunk's first event.
func encodeChunks(events []AuditEvent) (out [][]byte, firsts []time.Time, err error) {
	for len(events) > 0 {
		n := min(len(events), cacheChunkEvents)
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
		var buf bytes.Buffer
		if err := gob.NewEncoder(&buf).Encode(&c); err != nil {
			return nil, nil, fmt.Errorf("encoding the audit cache: %w", err)
		}
		out, firsts = append(out, buf.Bytes()), append(firsts, events[0].Time)
		events = events[n:]
	}
	return out, firsts, nil
}

// eachBack calls fn with e's events, newest first, decoding one chunk at
// a time, until fn returns false; false when a chunk does not decode.
// The chunks whose first event is after before (when not zero) are
// skipped whole.
func (e *auditCacheBranch) eachBack(before time.Time, fn func(*AuditEvent) bool) bool {
	for i := len(e.Chunks) - 1; i >= 0; i-- {
		if !before.IsZero() && e.Firsts[i].After(before) {
			continue
		}
		evs, ok := decodeChunk(e.Chunks[i])
		if !ok {
			return false
		}
		for k := len(evs) - 1; k >= 0; k-- {
			if !fn(&evs[k]) {
				return true
			}
		}
	}
	return true
}

// all decodes every event of e, oldest first; false when a chunk does
// not decode.
func (e *auditCacheBranch) all() ([]AuditEvent, bool) {
	var out []AuditEvent
	for _, raw := range e.Chunks {
		evs, ok := decodeChunk(raw)
		if !ok {
			return nil, false
		}
		out = append(out, evs...)
	}
	return out, true
}

// BranchEvents returns every release change on the first-parent history
// of branch at tip for envs, oldest first, using and updating the cache.
func (r *Ledger) BranchEvents(ctx context.Context, branch string, tip plumbing.Hash, envs []string, progress func()) ([]AuditEvent, error) {
	for range 2 {
		e, old, newer, err := r.branchCache(ctx, branch, tip, envs, nil, progress)
		if err != nil {
			return nil, err
		}
		if old == 0 {
			return newer, nil
		}
		cached, ok := (&auditCacheBranch{Chunks: e.Chunks[:old]}).all()
		if ok {
			return append(cached, newer...), nil
		}
		r.dropCacheBranch(ctx, branch) // does not decode: scan again
	}
	return nil, fmt.Errorf("the audit cache of branch %s does not decode after it was written again", branch)
}

// BranchEventsBack calls fn with the release changes on the first-parent
// history of branch at tip for envs, newest first, until fn returns
// false, using and updating the cache: the commits after the cached tip
// are scanned, and the cached events are decoded one chunk at a time, as
// far back as fn goes. Events after before (when not zero) may be left
// out. judge, when not nil, judges the signatures of the commits scanned:
// a caller that has prepared one for tip's history does not pay for the
// chain of trust twice.
func (r *Ledger) BranchEventsBack(ctx context.Context, branch string, tip plumbing.Hash, envs []string, before time.Time, judge *gitops.HistoryJudge, fn func(*AuditEvent) bool) error {
	for range 2 {
		e, old, newer, err := r.branchCache(ctx, branch, tip, envs, judge, nil)
		if err != nil {
			return err
		}
		for i := len(newer) - 1; i >= 0; i-- {
			if !fn(&newer[i]) {
				return nil
			}
		}
		if (&auditCacheBranch{Chunks: e.Chunks[:old], Firsts: e.Firsts[:old]}).eachBack(before, fn) {
			return nil
		}
		r.dropCacheBranch(ctx, branch)
	}
	return fmt.Errorf("the audit cache of branch %s does not decode after it was written again", branch)
}

// dropCacheBranch removes branch from the cache, so that the next read
// scans its whole history.
func (r *Ledger) dropCacheBranch(ctx context.Context, branch string) {
	file, err := r.CachePath(ctx)
	if err != nil {
		return
	}
	cache := readAuditCache(file)
	delete(cache.Branches, branch)
	r.writeAuditCache(file, cache)
}

// writeAuditCache writes the cache; a read-only clone can still be
// audited, only not faster.
func (r *Ledger) writeAuditCache(file string, cache *auditCache) {
	data, err := encodeAuditCache(cache)
	if err == nil {
		err = durable.WriteFile(file, data, 0o644, nil)
	}
	if err != nil {
		r.Log().Warningf("cannot write the audit cache %s: %v", file, err)
	}
}

// branchCache brings the cache of branch up to date at tip: it scans the
// commits after the cached tip (all of them when there is no usable
// entry) and writes the cache. It returns the entry, how many of its
// chunks were cached before (old), and the events scanned now, oldest
// first, which the chunks after those hold. judge judges the signatures
// (a new HistoryJudge of tip when nil).
func (r *Ledger) branchCache(ctx context.Context, branch string, tip plumbing.Hash, envs []string, judge *gitops.HistoryJudge, progress func()) (e *auditCacheBranch, old int, newer []AuditEvent, err error) {
	envs = slices.Sorted(slices.Values(envs))
	if judge == nil {
		if judge, err = r.NewHistoryJudge(tip); err != nil {
			return nil, 0, nil, err
		}
	}
	trust := judge.RootKey()
	file, err := r.CachePath(ctx)
	if err != nil {
		return nil, 0, nil, err
	}
	cache := readAuditCache(file)
	var stop plumbing.Hash
	var stopTime time.Time
	if e := cache.Branches[branch]; e != nil && slices.Equal(e.Environments, envs) && e.Trust == trust {
		if e.Tip == tip.String() {
			return e, len(e.Chunks), nil, nil
		}
		stop, stopTime, old = plumbing.NewHash(e.Tip), e.TipTime, len(e.Chunks)
	}
	res, err := r.ScanEvents(ctx, tip, stop, judge, envs, "", func(_ *repo.FPCommit, evs []AuditEvent) error {
		if progress != nil {
			progress()
		}
		newer = append(newer, evs...)
		return nil
	})
	if err != nil {
		return nil, 0, nil, err
	}
	r.warnCommitGraph(res.CommitGraph.Err)
	if stop.IsZero() || !res.Reached {
		stopTime, old = time.Time{}, 0
	}
	mono := monotone(res.Listed, stopTime)
	clampEvents(newer, res.Listed, mono)
	e = &auditCacheBranch{Tip: tip.String(), Environments: envs, Trust: trust}
	if len(mono) > 0 {
		e.TipTime = mono[0]
	}
	slices.Reverse(newer)
	if old > 0 {
		e.Chunks, e.Firsts = cache.Branches[branch].Chunks[:old], cache.Branches[branch].Firsts[:old]
	}
	chunks, firsts, err := encodeChunks(newer)
	if err != nil {
		return nil, 0, nil, err
	}
	e.Chunks, e.Firsts = append(slices.Clip(e.Chunks), chunks...), append(slices.Clip(e.Firsts), firsts...)
	cache.Branches[branch] = e
	r.writeAuditCache(file, cache)
	return e, old, newer, nil
}

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
// otherwise (a rebase, a force-push, other allowed signers, a damaged or
// deleted file) the history is scanned again and the cache rewritten.
const AuditCacheFile = "modelgit/audit-cache"

// auditCacheVersion changes whenever the events or their encoding do.
const auditCacheVersion = 4

// auditCacheMagic starts the file; the sha256 of the rest follows it, so
// that a damaged file is never read as events.
const auditCacheMagic = "modelgit audit-cache\n"

type auditCache struct {
	Version  int
	Branches map[string]*auditCacheBranch
}

// auditCacheBranch is one branch's events, oldest first. Release states
// are stored once each: From and To of the events are indexes into
// Releases (-1: none).
type auditCacheBranch struct {
	Tip string
	// TipTime is the tip's time on the first-parent line, which the
	// times of the commits after it are clamped to.
	TipTime      time.Time
	Environments []string
	Trust        string
	Releases     []cachedRelease
	Events       []cachedEvent
	From, To     []int
	// events are Events decoded.
	events []AuditEvent
	// releases are Releases decoded, shared by the events.
	releases []*ReleaseState
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

// trustKey identifies the allowed signers at rev, which the cached
// signature verdicts depend on.
func (r *Ledger) trustKey(rev plumbing.Hash) string {
	signers, _ := r.Repo().ReadFile(rev, manifests.AllowedSignersFile)
	keys, _ := r.Repo().ReadFile(rev, manifests.AllowedKeysFile)
	return manifests.FromBytes(slices.Concat(signers, []byte{0}, keys)).String()
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
		if e == nil || !e.resolve() {
			delete(c.Branches, b)
		}
	}
	return c
}

// encodeAuditCache is the file's content for c.
func encodeAuditCache(c *auditCache) ([]byte, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(c); err != nil {
		return nil, fmt.Errorf("encoding the audit cache: %w", err)
	}
	sum := manifests.FromBytes(buf.Bytes()).String()
	return slices.Concat([]byte(auditCacheMagic), []byte(sum), buf.Bytes()), nil
}

// resolve points the events' From and To at the stored release states;
// false when the entry does not hold together.
func (e *auditCacheBranch) resolve() bool {
	if len(e.From) != len(e.Events) || len(e.To) != len(e.Events) || len(e.Tip) != 40 {
		return false
	}
	e.releases = make([]*ReleaseState, len(e.Releases))
	for i, c := range e.Releases {
		st, ok := c.state()
		if !ok {
			return false
		}
		e.releases[i] = st
	}
	at := func(i int) (*ReleaseState, bool) {
		switch {
		case i == -1:
			return nil, true
		case i < 0 || i >= len(e.releases):
			return nil, false
		}
		return e.releases[i], true
	}
	e.events = make([]AuditEvent, len(e.Events))
	for i := range e.Events {
		from, ok1 := at(e.From[i])
		to, ok2 := at(e.To[i])
		if !ok1 || !ok2 {
			return false
		}
		e.events[i] = e.Events[i].event(from, to)
	}
	e.Events = nil
	return true
}

// newCacheBranch stores events (oldest first) for tip.
func newCacheBranch(tip plumbing.Hash, tipTime time.Time, envs []string, trust string, events []AuditEvent) *auditCacheBranch {
	e := &auditCacheBranch{Tip: tip.String(), TipTime: tipTime, Environments: envs, Trust: trust, From: make([]int, len(events)), To: make([]int, len(events))}
	idx := map[*ReleaseState]int{}
	ref := func(st *ReleaseState) int {
		if st == nil {
			return -1
		}
		i, ok := idx[st]
		if !ok {
			i = len(e.Releases)
			idx[st] = i
			e.Releases = append(e.Releases, toCachedRelease(st))
		}
		return i
	}
	e.Events = make([]cachedEvent, len(events))
	for i := range events {
		e.From[i], e.To[i] = ref(events[i].From), ref(events[i].To)
		e.Events[i] = toCachedEvent(&events[i])
	}
	return e
}

// BranchEvents returns every release change on the first-parent history
// of branch at tip for envs, oldest first, using and updating the cache.
func (r *Ledger) BranchEvents(ctx context.Context, branch string, tip plumbing.Hash, envs []string, progress func()) ([]AuditEvent, error) {
	envs = slices.Sorted(slices.Values(envs))
	trust := r.trustKey(tip)
	file, err := r.CachePath(ctx)
	if err != nil {
		return nil, err
	}
	cache := readAuditCache(file)
	var stop plumbing.Hash
	var stopTime time.Time
	var cached []AuditEvent
	if e := cache.Branches[branch]; e != nil && slices.Equal(e.Environments, envs) && e.Trust == trust {
		if e.Tip == tip.String() {
			return e.events, nil
		}
		stop, stopTime, cached = plumbing.NewHash(e.Tip), e.TipTime, e.events
	}
	t, err := r.LoadTrust(tip)
	if err != nil {
		return nil, err
	}
	var newer []AuditEvent
	res, err := r.ScanEvents(ctx, tip, stop, t, envs, "", func(_ *repo.FPCommit, evs []AuditEvent) error {
		if progress != nil {
			progress()
		}
		newer = append(newer, evs...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	r.warnCommitGraph(res.CommitGraph.Err)
	if stop.IsZero() || !res.Reached {
		stopTime = time.Time{}
	}
	mono := monotone(res.Listed, stopTime)
	clampEvents(newer, res.Listed, mono)
	var tipTime time.Time
	if len(mono) > 0 {
		tipTime = mono[0]
	}
	slices.Reverse(newer)
	events := newer
	if !stop.IsZero() && res.Reached {
		events = append(slices.Clip(cached), newer...)
	}
	cache.Branches[branch] = newCacheBranch(tip, tipTime, envs, trust, events)
	data, err := encodeAuditCache(cache)
	if err == nil {
		err = durable.WriteFile(file, data, 0o644, nil)
	}
	if err != nil {
		// A read-only clone can still be audited, only not faster.
		r.Log().Warningf("cannot write the audit cache %s: %v", file, err)
	}
	return events, nil
}

package audit

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"golang.org/x/sync/errgroup"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/ledger"
	"github.com/modelgit/modelgit/gitops/repo"
	"github.com/modelgit/modelgit/manifests"
)

// WhichOptions ask what ran in an environment at a moment.
type WhichOptions struct {
	Env   string
	At    time.Time
	Model string // "": every model
}

// WhichResult is the answer of Which.
type WhichResult struct {
	Environment string    `json:"environment"`
	At          time.Time `json:"at"`
	Branch      string    `json:"branch"`
	Tip         string    `json:"tip"`
	TimeBasis   string    `json:"timeBasis"`
	// Commit is the first-parent commit in effect at At (the newest whose
	// committer time is not after At); "" when the branch had none yet.
	Commit     string     `json:"commit"`
	CommitTime *time.Time `json:"commitTime"`
	// CommitterTime is the commit's own committer time when it is before
	// its first parent's (a skewed clock): CommitTime is then the parent's.
	CommitterTime *time.Time       `json:"committerTime,omitempty"`
	Models        []WhichModel     `json:"models"`
	Rewrites      []ledger.Rewrite `json:"rewrites"`
}

// WhichModel is one model's release in effect.
type WhichModel struct {
	Model       string `json:"model"`
	ReleaseFile string `json:"releaseFile"`
	Strategy    string `json:"strategy"`
	Match       string `json:"match,omitempty"`
	// Error says why the release file did not parse; Strategy and
	// Versions are then those of the last one that did, which Flux goes
	// on applying.
	Error    string           `json:"error,omitempty"`
	Versions []ServingVersion `json:"versions"`
	// LastChange is the change that wrote the release file as it was.
	LastChange *ledger.AuditEvent `json:"lastChange"`
}

// ServingVersion is one version of a release in effect, with its chain:
// version digest → artifacts → training data → registration → the change
// that made it serve.
type ServingVersion struct {
	Version manifests.Version `json:"version"`
	Digest  manifests.Digest  `json:"digest"`
	Weight  *int              `json:"weight,omitempty"`
	Role    string            `json:"role,omitempty"`
	Serving bool              `json:"serving"`
	// Since is when it started serving without interruption up to At, and
	// IntroducedBy the change that made it serve then.
	Since        *time.Time         `json:"since"`
	IntroducedBy *ledger.AuditEvent `json:"introducedBy"`
	Manifest     *VersionChain      `json:"manifest"`
}

// VersionChain is what the version manifest says, as committed at the
// commit in effect, and the commit that registered it.
type VersionChain struct {
	Path string `json:"path"`
	// Digest is the sha256 of the manifest's bytes; DigestMatches says
	// whether it is the digest the release pins.
	Digest        manifests.Digest `json:"digest"`
	DigestMatches bool             `json:"digestMatches"`
	Artifacts     []ArtifactRef    `json:"artifacts"`
	DataHash      string           `json:"dataHash,omitempty"`
	RegisteredBy  string           `json:"registeredBy,omitempty"`
	RegisteredAt  *time.Time       `json:"registeredAt,omitempty"`
	// RegistrationCommit added the manifest; Signature is its verdict.
	RegistrationCommit string                `json:"registrationCommit,omitempty"`
	Signature          *gitops.SignatureInfo `json:"signature,omitempty"`
	Error              string                `json:"error,omitempty"`
}

// ArtifactRef is one artifact of a version.
type ArtifactRef struct {
	Kind   string           `json:"kind"`
	Path   string           `json:"path"`
	Digest manifests.Digest `json:"digest"`
}

// Which answers what ran in an environment at a moment: the release files
// as they were on the first-parent history of the followed branch at that
// time, every version in them (both sides of a canary, with weights), and
// for each the chain back to its manifest, artifacts, training data,
// registration and the change (requested, approved, merged) that made it
// serve.
func (r *repository) Which(ctx context.Context, opts WhichOptions) (*WhichResult, error) {
	if opts.Env == "" {
		return nil, fmt.Errorf("which: an environment is required")
	}
	r.Repo().Warm(ctx)
	res, tip, err := r.whichBranch(ctx, opts)
	if err != nil || tip.IsZero() {
		return res, err
	}
	// The signers in force along the history are computed meanwhile; until
	// then this goroutine reads only through git processes, since go-git's
	// repository is not safe for concurrent use, and judges only through
	// t, which waits for them.
	t, err := r.NewHistoryJudge(tip)
	if err != nil {
		return nil, err
	}
	prepared := make(chan error, 1)
	go func() { prepared <- t.Prepare() }()
	judgeReady := sync.OnceValue(func() error { return <-prepared })
	defer judgeReady()
	clock, err := r.FirstParentClock(ctx, tip)
	if err != nil {
		return nil, err
	}
	r.EnsureChangedPaths(ctx, clock.Len())
	at, atTime, raw := clock.At(opts.At)
	if at.IsZero() {
		return res, nil
	}
	res.Commit, res.CommitTime = at.String(), &atTime
	if raw.Before(atTime) {
		res.CommitterTime = &raw
	}
	byModel, err := r.releasesAt(ctx, at, opts, res)
	if err != nil {
		return nil, err
	}
	// The manifests' chains do not depend on the walk below: read them
	// meanwhile, unless a release file in effect does not parse (its
	// versions are then those of the last one that did, found by the walk).
	// They read through git processes, and judge only at the end, which
	// waits for the chain of trust.
	early := !slices.ContainsFunc(res.Models, func(m WhichModel) bool { return m.Error != "" })
	chains := make(chan error, 1)
	if early {
		go func() { chains <- r.versionChains(ctx, at, clock, t, res) }()
	}
	// The walk reads through git processes too, and judges (which waits
	// for the chain) only the changes it has to scan: with the audit
	// cache at the tip, none.
	err = r.walkWhich(ctx, res.Branch, tip, at, clock, t, opts, byModel)
	if err == nil {
		err = judgeReady()
	}
	if err != nil {
		if early {
			<-chains
		}
		return nil, err
	}
	for i := range res.Models {
		byModel[res.Models[i].Model].apply(&res.Models[i])
	}
	if !early {
		return res, r.versionChains(ctx, at, clock, t, res)
	}
	return res, <-chains
}

// whichBranch starts the answer of Which: the branch the environment
// follows, its tip and its rewrites.
func (r *repository) whichBranch(ctx context.Context, opts WhichOptions) (*WhichResult, plumbing.Hash, error) {
	branches, err := r.FollowedBranches(opts.Env)
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	var branch string
	for b := range branches {
		branch = b
	}
	tip, err := r.BranchTip(ctx, branch)
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	res := &WhichResult{Environment: opts.Env, At: opts.At.UTC(), Branch: branch, Tip: tip.String(), TimeBasis: ledger.TimeBasis, Models: []WhichModel{}}
	if res.Rewrites, err = r.CheckFollowed(ctx, branch, tip); err != nil {
		return nil, plumbing.ZeroHash, err
	}
	if res.Rewrites == nil {
		res.Rewrites = []ledger.Rewrite{}
	}
	return res, tip, nil
}

// releasesAt reads the release files of the environment (or of the one
// model asked) at commit at into res, and returns a walk to explain each.
func (r *repository) releasesAt(ctx context.Context, at plumbing.Hash, opts WhichOptions, res *WhichResult) (map[string]*whichPending, error) {
	models := []string{opts.Model}
	if opts.Model == "" {
		models = nil
		names, err := r.Repo().TreeNames(ctx, at, path.Join(manifests.EnvironmentsDir, opts.Env))
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if _, m, ok := ledger.SplitReleasePath(path.Join(manifests.EnvironmentsDir, opts.Env, n)); ok {
				models = append(models, m)
			}
		}
	}
	var paths []string
	for _, m := range models {
		paths = append(paths, manifests.ReleaseFile(opts.Env, m))
	}
	cf, err := r.Repo().CatFile(ctx)
	if err != nil {
		return nil, err
	}
	defer cf.Close()
	objs, err := cf.Fetch(at, paths)
	if err != nil {
		return nil, err
	}
	byModel := map[string]*whichPending{}
	for _, m := range models {
		file := manifests.ReleaseFile(opts.Env, m)
		raw := objs[file]
		if raw == nil {
			continue // the model does not run there then
		}
		st := ledger.StateOf(file, raw)
		wm := WhichModel{Model: m, ReleaseFile: file, Error: st.Error, Versions: []ServingVersion{}}
		setRelease(&wm, st)
		res.Models = append(res.Models, wm)
		byModel[m] = &whichPending{walk: ledger.NewRunWalk()}
	}
	return byModel, nil
}

// setRelease sets the strategy and versions of wm to those of st.
func setRelease(wm *WhichModel, st *ledger.ReleaseState) {
	wm.Strategy, wm.Match, wm.Versions = "", "", []ServingVersion{}
	if st == nil || st.Error != "" {
		return
	}
	wm.Strategy, wm.Match = st.Strategy, st.Match
	for _, rv := range st.Versions {
		wm.Versions = append(wm.Versions, ServingVersion{Version: rv.Version, Digest: rv.Digest, Weight: rv.Weight, Role: rv.Role, Serving: rv.Weight == nil || *rv.Weight > 0})
	}
}

// whichPending is one model of a Which answer while the walk back looks
// for the changes that explain it.
type whichPending struct {
	walk *ledger.RunWalk
	// full, when set, turns a change met by walkBack (dated, with its
	// release states only) into its whole event.
	full map[*ledger.AuditEvent]*ledger.AuditEvent
}

// apply sets what the walk found on wm: the last change and, for each
// version, the change that made it serve (or a standby) without
// interruption since. A release file in effect that does not parse
// changes nothing: wm then shows the versions of the last one that did,
// which Flux goes on applying.
func (p *whichPending) apply(wm *WhichModel) {
	cur, last, since := p.walk.Result()
	if wm.Error != "" {
		setRelease(wm, cur)
	}
	wm.LastChange = p.event(last)
	for i := range wm.Versions {
		sv := &wm.Versions[i]
		if ev := p.event(since[sv.Version.String()]); ev != nil {
			sv.IntroducedBy, sv.Since = ev, &ev.Time
		}
	}
}

func (p *whichPending) event(ev *ledger.AuditEvent) *ledger.AuditEvent {
	if f, ok := p.full[ev]; ok {
		return f
	}
	return ev
}

// walkWhich walks back from at through the changes of the release files
// until each walk is done: through the audit cache's events when there is
// a cache (brought up to date first), else through the history.
func (r *repository) walkWhich(ctx context.Context, branch string, tip, at plumbing.Hash, clock *ledger.Clock, t *gitops.HistoryJudge, opts WhichOptions, byModel map[string]*whichPending) error {
	if len(byModel) == 0 {
		return nil
	}
	used, err := r.walkCached(ctx, branch, tip, clock, t, opts, byModel)
	if err == nil && !used {
		err = r.walkBack(ctx, at, clock, t, opts, byModel)
	}
	return err
}

// commitAndHead is c and, for a merge, its second parent.
func commitAndHead(c *repo.FPCommit) []plumbing.Hash {
	if len(c.Parents) > 1 {
		return []plumbing.Hash{c.Hash, c.Parents[1]}
	}
	return []plumbing.Hash{c.Hash}
}

func allDone(byModel map[string]*whichPending) bool {
	for _, p := range byModel {
		if !p.walk.Done() {
			return false
		}
	}
	return true
}

// walkCached walks back through the audit cache's events, when there is
// a cache (brought up to date first: only the commits after it are
// scanned); false when there is none, and nothing was done.
func (r *repository) walkCached(ctx context.Context, branch string, tip plumbing.Hash, clock *ledger.Clock, t *gitops.HistoryJudge, opts WhichOptions, byModel map[string]*whichPending) (bool, error) {
	file, err := r.CachePath(ctx)
	if err != nil {
		return false, err
	}
	if _, err := os.Stat(file); err != nil {
		return false, nil // a first scan of the whole history is audit's to pay
	}
	all, err := r.FollowedBranches("")
	if err != nil {
		return false, err
	}
	_, atTime, _ := clock.At(opts.At)
	err = r.BranchEventsBack(ctx, branch, tip, all[branch], atTime, t, func(ev *ledger.AuditEvent) bool {
		p := byModel[ev.Model]
		if p == nil || ev.Environment != opts.Env || p.walk.Done() {
			return true
		}
		// An event is dated at its commit's time on the first-parent line,
		// which never decreases: after opts.At, its commit is newer than
		// at, the newest commit not after it.
		if ev.Time.After(opts.At) {
			return true // after the moment asked
		}
		ev.ApprovedBy = slices.Clone(ev.ApprovedBy)
		p.walk.Add(ev)
		return !allDone(byModel)
	})
	if err != nil {
		return false, err
	}
	return true, nil
}

// walkBack walks the first-parent history back from at through the
// changes of the release files until each walk is done. The walk reads
// only trees and release blobs; the few commits whose changes explain
// something are read after it, and only their events are built.
func (r *repository) walkBack(ctx context.Context, at plumbing.Hash, clock *ledger.Clock, t gitops.CommitJudge, opts WhichOptions, byModel map[string]*whichPending) error {
	s := ledger.NewEventScanner(ctx, r.Repo(), t)
	met := map[*ledger.AuditEvent]*repo.FPCommit{}
	places := map[*repo.FPCommit]int{} // on the clock's line
	// The scan skips, once few models are left, the commits that leave
	// their release files alone: the changes it hands over are then exact
	// for those only, the ones this walk reads.
	open := &repo.OpenPaths{}
	openPaths := func() []string {
		var ps []string
		for m, p := range byModel {
			if !p.walk.Done() {
				ps = append(ps, manifests.ReleaseFile(opts.Env, m))
			}
		}
		return ps
	}
	open.Set(openPaths())
	left := len(open.Paths())
	place := clock.Index(opts.At) // at's, then that of the last commit met
	done := false                 // a model's walk was done by the last commit
	err := r.Repo().ScanReleasesBack(ctx, at, []string{opts.Env}, opts.Model, open, func(c *repo.FPCommit) error {
		if i, ok := clock.Find(c.Hash, place); ok {
			place = i
		}
		for _, ch := range c.Changes {
			env, model, ok := ledger.SplitReleasePath(ch.Path)
			p := byModel[model]
			if !ok || p == nil || env != opts.Env || p.walk.Done() {
				continue // and never again asked about
			}
			// Parse both sides now: a blob is fetched once, by the first
			// commit that names it, and this commit's objects are not kept.
			from := s.Release(ch.Path, ch.Old, c.Objects)
			to := s.Release(ch.Path, ch.New, c.Objects)
			ev := &ledger.AuditEvent{Time: c.Time, Environment: env, Model: model, Commit: c.Hash.String(), From: from, To: to}
			clock.DateAt(ev, place)
			met[ev] = c
			places[c] = place
			if p.walk.Add(ev); p.walk.Done() {
				left--
				done = true
			}
		}
		switch {
		case left == 0:
			return repo.ErrStopScan
		case done:
			open.Set(openPaths())
			done = false
		}
		return nil
	})
	if err != nil {
		return err
	}
	return r.fullEvents(ctx, s, clock, byModel, met, places)
}

// fullEvents builds the whole events of the changes walkBack met that
// explain something: it reads their commits (and a merge's second
// parent) now.
func (r *repository) fullEvents(ctx context.Context, s *ledger.EventScanner, clock *ledger.Clock, byModel map[string]*whichPending, met map[*ledger.AuditEvent]*repo.FPCommit, places map[*repo.FPCommit]int) error {
	var hashes []plumbing.Hash
	seen := map[plumbing.Hash]bool{}
	needed := map[*ledger.AuditEvent]bool{}
	for _, p := range byModel {
		_, last, since := p.walk.Result()
		for _, ev := range append(slices.Collect(maps.Values(since)), last) {
			c := met[ev]
			if c == nil {
				continue
			}
			needed[ev] = true
			for _, h := range commitAndHead(c) {
				if !seen[h] {
					seen[h] = true
					hashes = append(hashes, h)
				}
			}
		}
	}
	objs, err := r.Repo().ReadObjects(ctx, hashes)
	if err != nil {
		return err
	}
	built := map[plumbing.Hash][]ledger.AuditEvent{}
	for ev := range needed {
		c := met[ev]
		evs, ok := built[c.Hash]
		if !ok {
			for _, h := range commitAndHead(c) {
				c.Objects[h] = objs[h]
			}
			if evs, err = s.Events(c); err != nil {
				return err
			}
			for i := range evs {
				clock.DateAt(&evs[i], places[c])
			}
			built[c.Hash] = evs
		}
		p := byModel[ev.Model]
		for i := range evs {
			if evs[i].Environment == ev.Environment && evs[i].Model == ev.Model {
				if p.full == nil {
					p.full = map[*ledger.AuditEvent]*ledger.AuditEvent{}
				}
				p.full[ev] = &evs[i]
			}
		}
	}
	return nil
}

type parsedManifest struct {
	mv  *manifests.ModelVersion
	err error
}

// parseManifests parses the version manifests at paths (their contents in
// objs; those missing are left zero) on every core: parsing and checking
// 247 of them took 60 ms of a cold which's critical path on one.
func parseManifests(paths []string, objs map[string][]byte) []parsedManifest {
	out := make([]parsedManifest, len(paths))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, p := range paths {
		if raw, ok := objs[p]; ok {
			g.Go(func() error {
				out[i].mv, out[i].err = manifests.ParseModelVersion(p, raw)
				return nil
			})
		}
	}
	_ = g.Wait() // the goroutines return no error: each manifest's is kept
	return out
}

// versionChains fills in each version's manifest chain as committed at at,
// and the commit that registered it (on the first-parent history from at).
// It runs beside the walk, which sets each model's LastChange and each
// version's IntroducedBy and Since meanwhile: it reads and writes only
// other fields (never a whole WhichModel or ServingVersion), and reads
// clock only through methods safe for concurrent use.
func (r *repository) versionChains(ctx context.Context, at plumbing.Hash, clock *ledger.Clock, t gitops.CommitJudge, res *WhichResult) error {
	var paths []string
	for mi := range res.Models {
		m := &res.Models[mi]
		for vi := range m.Versions {
			paths = append(paths, manifests.VersionFile(m.Model, m.Versions[vi].Version.String()))
		}
	}
	if len(paths) == 0 {
		return nil
	}
	cf, err := r.Repo().CatFile(ctx)
	if err != nil {
		return err
	}
	defer cf.Close()
	objs, err := cf.Fetch(at, paths)
	if err != nil {
		return err
	}
	parsed := parseManifests(paths, objs)
	// The registration commits of these manifests, each looked for first
	// just after its registeredAt.
	line := clock.LineFrom(at)
	atPos := clock.Len() - len(line)
	added, hints := map[string]*VersionChain{}, map[string]int{}
	k := 0
	for mi := range res.Models {
		m := &res.Models[mi]
		for vi := range m.Versions {
			v := &m.Versions[vi]
			p := paths[k]
			mv, err := parsed[k].mv, parsed[k].err
			k++
			vc := &VersionChain{Path: p, Artifacts: []ArtifactRef{}}
			v.Manifest = vc
			raw, ok := objs[p]
			if !ok {
				vc.Error = "the version manifest does not exist at " + res.Commit[:12]
				continue
			}
			vc.Digest = manifests.FromBytes(raw)
			vc.DigestMatches = vc.Digest == v.Digest
			if err != nil {
				vc.Error = err.Error()
			} else {
				mv.Artifacts.Each(func(kind string, a *manifests.Artifact) {
					vc.Artifacts = append(vc.Artifacts, ArtifactRef{Kind: kind, Path: a.Path, Digest: a.Digest})
				})
				if mv.Data != nil {
					vc.DataHash = mv.Data.Digest.String()
				}
				vc.RegisteredBy = mv.RegisteredBy
				ra := mv.RegisteredAt.UTC()
				vc.RegisteredAt = &ra
				if !ra.IsZero() {
					hints[p] = clock.Index(ra.Add(-time.Second)) - atPos
				}
			}
			added[p] = vc
		}
	}
	if len(added) == 0 {
		return nil
	}
	return r.registrations(ctx, clock, line, hints, t, added)
}

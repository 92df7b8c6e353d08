package audit

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path"
	"slices"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

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
	Commit     string           `json:"commit"`
	CommitTime *time.Time       `json:"commitTime"`
	Models     []WhichModel     `json:"models"`
	Rewrites   []ledger.Rewrite `json:"rewrites"`
}

// WhichModel is one model's release in effect.
type WhichModel struct {
	Model       string `json:"model"`
	ReleaseFile string `json:"releaseFile"`
	Strategy    string `json:"strategy"`
	Match       string `json:"match,omitempty"`
	// Error says why the release file did not parse.
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
	branches, err := r.FollowedBranches(opts.Env)
	if err != nil {
		return nil, err
	}
	var branch string
	for b := range branches {
		branch = b
	}
	tip, err := r.BranchTip(ctx, branch)
	if err != nil {
		return nil, err
	}
	res := &WhichResult{Environment: opts.Env, At: opts.At.UTC(), Branch: branch, Tip: tip.String(), TimeBasis: ledger.TimeBasis, Models: []WhichModel{}}
	if res.Rewrites, err = r.CheckFollowed(ctx, branch, tip); err != nil {
		return nil, err
	}
	if res.Rewrites == nil {
		res.Rewrites = []ledger.Rewrite{}
	}
	if tip.IsZero() {
		return res, nil
	}
	at, atTime, err := r.Repo().CommitAt(ctx, tip, opts.At)
	if err != nil || at.IsZero() {
		return res, err
	}
	res.Commit, res.CommitTime = at.String(), &atTime

	// The release files in effect.
	cf, err := r.Repo().CatFile(ctx)
	if err != nil {
		return nil, err
	}
	defer cf.Close()
	var models []string
	if opts.Model != "" {
		models = []string{opts.Model}
	} else {
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
	objs, err := cf.Fetch(at, func() []string {
		var ps []string
		for _, m := range models {
			ps = append(ps, manifests.ReleaseFile(opts.Env, m))
		}
		return ps
	}())
	if err != nil {
		return nil, err
	}
	byModel := map[string]*whichPending{}
	var versionPaths []string
	for _, m := range models {
		raw := objs[manifests.ReleaseFile(opts.Env, m)]
		if raw == nil {
			continue // the model does not run there then
		}
		st := ledger.StateOf(manifests.ReleaseFile(opts.Env, m), raw)
		wm := WhichModel{Model: m, ReleaseFile: manifests.ReleaseFile(opts.Env, m), Strategy: st.Strategy, Match: st.Match, Error: st.Error, Versions: []ServingVersion{}}
		p := &whichPending{open: map[string]*ServingVersion{}}
		for _, rv := range st.Versions {
			wm.Versions = append(wm.Versions, ServingVersion{Version: rv.Version, Digest: rv.Digest, Weight: rv.Weight, Role: rv.Role, Serving: rv.Weight == nil || *rv.Weight > 0})
			versionPaths = append(versionPaths, manifests.VersionFile(m, rv.Version.String()))
		}
		res.Models = append(res.Models, wm)
		byModel[m] = p
	}
	// Pointers into res.Models only now that it no longer grows.
	for i := range res.Models {
		p := byModel[res.Models[i].Model]
		p.wm = &res.Models[i]
		for i := range p.wm.Versions {
			p.open[p.wm.Versions[i].Version.String()] = &p.wm.Versions[i]
		}
	}
	// Walk back through the changes of these release files until every
	// version's start of service (and each file's last change) is found.
	unexplained := func() bool {
		for _, p := range byModel {
			if !p.lastFound || len(p.open) > 0 {
				return true
			}
		}
		return false
	}
	// The manifests' chains do not depend on the walk below: read them
	// meanwhile (each sets other fields of the versions).
	// go-git's repository is not safe for concurrent use: the allowed
	// signers are read before.
	t, err := r.LoadTrust(tip)
	if err != nil {
		return nil, err
	}
	chains := make(chan error, 1)
	go func() { chains <- r.versionChains(ctx, at, t, res) }()
	if unexplained() {
		used, err := r.walkCached(ctx, branch, tip, at, opts, byModel, unexplained)
		if err == nil && !used {
			err = r.walkBack(ctx, at, t, opts, byModel, unexplained)
		}
		if err != nil {
			<-chains
			return nil, err
		}
	}
	if err := <-chains; err != nil {
		return nil, err
	}
	return res, nil
}

// whichPending is one model of a Which answer while the walk back looks
// for the changes that explain it.
type whichPending struct {
	wm        *WhichModel
	lastFound bool
	open      map[string]*ServingVersion // version → not yet explained
}

// explain applies one change of a model's release file, met walking back
// from the commit in effect, to what is still unexplained about it; it
// returns the setters to call with the change's event.
func (p *whichPending) explain(from *ledger.ReleaseState) []func(*ledger.AuditEvent) {
	var sets []func(*ledger.AuditEvent)
	if !p.lastFound {
		p.lastFound = true
		sets = append(sets, func(ev *ledger.AuditEvent) { p.wm.LastChange = ev })
	}
	for v, sv := range p.open {
		explained := !from.Serving(v)
		if !sv.Serving {
			// A standby: since the change that added it, or that took its
			// traffic away.
			explained = from.Serving(v) || !slices.Contains(VersionsOf(from), v)
		}
		if explained {
			sets = append(sets, func(ev *ledger.AuditEvent) { sv.IntroducedBy, sv.Since = ev, &ev.Time })
			delete(p.open, v)
		}
	}
	return sets
}

// walkCached walks back through the audit cache's events, when there is
// a cache (brought up to date first: only the commits after it are
// scanned); false when there is none, and nothing was done.
func (r *repository) walkCached(ctx context.Context, branch string, tip, at plumbing.Hash, opts WhichOptions, byModel map[string]*whichPending, unexplained func() bool) (bool, error) {
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
	events, err := r.BranchEvents(ctx, branch, tip, all[branch], nil)
	if err != nil {
		return false, err
	}
	later, err := r.Repo().FirstParentRange(ctx, at, tip)
	if err != nil {
		return false, err
	}
	after := map[string]bool{}
	for _, h := range later {
		after[h.String()] = true
	}
	for i := len(events) - 1; i >= 0 && unexplained(); i-- {
		ev := &events[i]
		p := byModel[ev.Model]
		if p == nil || ev.Environment != opts.Env || after[ev.Commit] {
			continue
		}
		if sets := p.explain(ev.From); len(sets) > 0 {
			c := *ev
			for _, set := range sets {
				set(&c)
			}
		}
	}
	return true, nil
}

// walkBack walks the first-parent history back from at through the
// changes of the release files until every version's start of service
// (and each file's last change) is found. The walk reads only trees and
// release blobs; the few commits that explain something are read after
// it, and only their events are built.
func (r *repository) walkBack(ctx context.Context, at plumbing.Hash, t *gitops.Trust, opts WhichOptions, byModel map[string]*whichPending, unexplained func() bool) error {
	s := ledger.NewEventScanner(t)
	type need struct {
		c    *repo.FPCommit
		path string
		sets []func(*ledger.AuditEvent)
	}
	var needs []*need
	_, err := r.Repo().ScanReleases(ctx, at, plumbing.ZeroHash, []string{opts.Env}, opts.Model, true, func(c *repo.FPCommit) error {
		for _, ch := range c.Changes {
			// Parse both sides now: a blob is fetched once, by the first
			// commit that names it, and this commit's objects are not kept.
			from := s.Release(ch.Path, ch.Old, c.Objects)
			s.Release(ch.Path, ch.New, c.Objects)
			env, model, ok := ledger.SplitReleasePath(ch.Path)
			p := byModel[model]
			if !ok || p == nil || env != opts.Env {
				continue
			}
			n := &need{c: c, path: ch.Path, sets: p.explain(from)}
			if len(n.sets) > 0 {
				needs = append(needs, n)
			}
		}
		if !unexplained() {
			return repo.ErrStopScan
		}
		return nil
	})
	if err != nil {
		return err
	}
	// The commits (and a merge's second parent) of the changes found.
	var hashes []plumbing.Hash
	seen := map[plumbing.Hash]bool{}
	for _, n := range needs {
		hs := []plumbing.Hash{n.c.Hash}
		if len(n.c.Parents) > 1 {
			hs = append(hs, n.c.Parents[1])
		}
		for _, h := range hs {
			if !seen[h] {
				seen[h] = true
				hashes = append(hashes, h)
			}
		}
	}
	objs, err := r.Repo().ReadObjects(ctx, hashes)
	if err != nil {
		return err
	}
	events := map[plumbing.Hash][]ledger.AuditEvent{}
	for _, n := range needs {
		evs, ok := events[n.c.Hash]
		if !ok {
			n.c.Objects[n.c.Hash] = objs[n.c.Hash]
			if len(n.c.Parents) > 1 {
				n.c.Objects[n.c.Parents[1]] = objs[n.c.Parents[1]]
			}
			if evs, err = s.Events(n.c); err != nil {
				return err
			}
			events[n.c.Hash] = evs
		}
		for i := range evs {
			if manifests.ReleaseFile(evs[i].Environment, evs[i].Model) == n.path {
				for _, set := range n.sets {
					set(&evs[i])
				}
			}
		}
	}
	return nil
}

func VersionsOf(st *ledger.ReleaseState) []string {
	if st == nil {
		return nil
	}
	var out []string
	for _, v := range st.Versions {
		out = append(out, v.Version.String())
	}
	return out
}

// versionChains fills in each version's manifest chain as committed at at,
// and the commit that registered it.
func (r *repository) versionChains(ctx context.Context, at plumbing.Hash, t *gitops.Trust, res *WhichResult) error {
	var paths []string
	for _, m := range res.Models {
		for _, v := range m.Versions {
			paths = append(paths, manifests.VersionFile(m.Model, v.Version.String()))
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
	// The registration commits of these manifests.
	added := map[string]*VersionChain{}
	for mi := range res.Models {
		m := &res.Models[mi]
		for vi := range m.Versions {
			v := &m.Versions[vi]
			p := manifests.VersionFile(m.Model, v.Version.String())
			vc := &VersionChain{Path: p, Artifacts: []ArtifactRef{}}
			v.Manifest = vc
			raw, ok := objs[p]
			if !ok {
				vc.Error = "the version manifest does not exist at " + res.Commit[:12]
				continue
			}
			vc.Digest = manifests.FromBytes(raw)
			vc.DigestMatches = vc.Digest == v.Digest
			mv, err := manifests.ParseModelVersion(p, raw)
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
			}
			added[p] = vc
		}
	}
	if len(added) == 0 {
		return nil
	}
	return r.registrations(ctx, at, t, added)
}

// registrations finds the commit that registered each manifest: on the
// first-parent history of at, the oldest commit from which on the path
// exists (its second parent when that commit is a merge). Manifests are
// immutable and never removed, so whether a path exists is monotonic
// along the history, and a binary search finds each one in about log2(n)
// path look-ups instead of a diff of models/ at every commit.
func (r *repository) registrations(ctx context.Context, at plumbing.Hash, t *gitops.Trust, added map[string]*VersionChain) error {
	lines, err := r.Repo().FirstParentLines(ctx, at)
	if err != nil {
		return err
	}
	chain := make([][]string, len(lines)) // newest first: hash, parents...
	for i, hs := range lines {
		for _, h := range hs {
			chain[i] = append(chain[i], h.String())
		}
	}
	type search struct {
		path   string
		lo, hi int // exists at lo; not known beyond hi (exclusive)
	}
	var all, open []*search
	for _, p := range slices.Sorted(maps.Keys(added)) {
		s := &search{path: p, lo: 0, hi: len(chain)}
		all = append(all, s)
		if s.hi > 1 {
			open = append(open, s)
		}
	}
	cf, err := r.Repo().BatchCheck(ctx)
	if err != nil {
		return err
	}
	defer cf.Close()
	for len(open) > 0 {
		queries := make([]string, len(open))
		for i, s := range open {
			queries[i] = chain[(s.lo+s.hi)/2][0] + ":" + s.path
		}
		exists, err := cf.Exist(queries)
		if err != nil {
			return err
		}
		next := open[:0]
		for i, s := range open {
			if mid := (s.lo + s.hi) / 2; exists[i] {
				s.lo = mid
			} else {
				s.hi = mid
			}
			if s.hi-s.lo > 1 {
				next = append(next, s)
			}
		}
		open = next
	}
	// A registration through a pull request: its commit is the merge's
	// second parent.
	commits := map[plumbing.Hash]*object.Commit{}
	var hashes []plumbing.Hash
	for _, s := range all {
		c := chain[s.lo]
		h := plumbing.NewHash(c[0])
		if len(c) > 2 {
			h = plumbing.NewHash(c[2])
		}
		if _, ok := commits[h]; !ok {
			commits[h] = nil
			hashes = append(hashes, h)
		}
	}
	objs, err := r.Repo().ReadObjects(ctx, hashes)
	if err != nil {
		return err
	}
	for _, s := range all {
		c := chain[s.lo]
		h := plumbing.NewHash(c[0])
		if len(c) > 2 {
			h = plumbing.NewHash(c[2])
		}
		commit := commits[h]
		if commit == nil {
			if commit, err = repo.LightCommit(h, objs[h]); err != nil {
				return err
			}
			commits[h] = commit
		}
		sig := gitops.SignatureOf(commit, t)
		vc := added[s.path]
		vc.RegistrationCommit, vc.Signature = h.String(), &sig
	}
	return nil
}

package ledger

import (
	"context"
	"slices"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/modelgit/modelgit/gitops/repo"
	"github.com/modelgit/modelgit/manifests"
)

// The ledger is the one answer to "did version V serve in environment E,
// and from when to when?": the intervals ranIntervals derives from the
// changes of E's release file on the first-parent history of a revision
// (docs/audit.md). Promote's order check, check's order and soak,
// rollback, history and audit all ask it, so they cannot disagree.

// Served returns, per version of model, the intervals during which it
// served traffic in env on the first-parent history of tip, oldest
// first. Only the release blobs are read (no commit is decoded): this is
// the light path that promote and check use; audit derives the same
// intervals from its full events (ModelRan).
func (r *Ledger) Served(ctx context.Context, tip plumbing.Hash, env, model string) (map[string][]RanInterval, error) {
	k := Key{Env: env, Model: model}
	all, err := r.ServedMany(ctx, tip, []Key{k})
	return all[k], err
}

// Key names one release file: a model in an environment.
type Key struct{ Env, Model string }

// ServedMany is Served for several release files with one scan of the
// history.
func (r *Ledger) ServedMany(ctx context.Context, tip plumbing.Hash, keys []Key) (map[Key]map[string][]RanInterval, error) {
	out := map[Key]map[string][]RanInterval{}
	for _, k := range keys {
		out[k] = map[string][]RanInterval{}
	}
	if tip.IsZero() || len(keys) == 0 {
		return out, nil
	}
	var envs []string
	model := keys[0].Model
	for _, k := range keys {
		if !slices.Contains(envs, k.Env) {
			envs = append(envs, k.Env)
		}
		if k.Model != model {
			model = "" // several models: the scan filters by environment only
		}
	}
	states := map[plumbing.Hash]*ReleaseState{}
	state := func(p string, h plumbing.Hash, objects map[plumbing.Hash][]byte) *ReleaseState {
		if h.IsZero() {
			return nil
		}
		st, ok := states[h]
		if !ok {
			st = StateOf(p, objects[h])
			states[h] = st
		}
		return st
	}
	events := map[Key][]AuditEvent{} // newest first
	res, err := r.Repo().ScanReleasesTimed(ctx, tip, plumbing.ZeroHash, envs, model, true, func(c *repo.FPCommit) error {
		for _, ch := range c.Changes {
			e, m, ok := SplitReleasePath(ch.Path)
			k := Key{Env: e, Model: m}
			if _, asked := out[k]; !ok || !asked {
				continue
			}
			// The scan sends each blob once, with the first (newest) commit
			// that needs it: parse the old side now too, for the commit
			// before.
			state(ch.Path, ch.Old, c.Objects)
			events[k] = append(events[k], AuditEvent{Time: c.Time, Environment: e, Model: m, Commit: c.Hash.String(), To: state(ch.Path, ch.New, c.Objects)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	mono := monotone(res.Listed, time.Time{})
	for k, evs := range events {
		clampEvents(evs, res.Listed, mono)
		slices.Reverse(evs)
		out[k] = ranIntervals(evs)
	}
	return out, nil
}

// Run is one uninterrupted run of a version in an environment: the
// intervals of one version that follow each other without a gap (a
// canary stepping up its weight is one run).
type Run struct {
	// Since is when the run began, Commit the change that began it.
	Since  time.Time
	Commit plumbing.Hash
	// Now says whether the version still serves at the revision asked.
	Now bool
}

// LatestRun returns the latest uninterrupted run among one version's
// intervals (as Served returns them, oldest first); false when it never
// served.
func LatestRun(ivs []RanInterval) (Run, bool) {
	if len(ivs) == 0 {
		return Run{}, false
	}
	i := len(ivs) - 1
	for i > 0 && ivs[i-1].endedBy == ivs[i].Commit {
		i--
	}
	return Run{Since: ivs[i].From, Commit: plumbing.NewHash(ivs[i].Commit), Now: ivs[len(ivs)-1].To == nil}, true
}

// RanAt reports whether version v of model ever served in env on the
// first-parent history of HEAD, and its first interval.
func (r *Ledger) RanAt(ctx context.Context, rev plumbing.Hash, env, model string, v manifests.Version) (*RanInterval, error) {
	served, err := r.Served(ctx, rev, env, model)
	if err != nil {
		return nil, err
	}
	ivs := served[v.String()]
	if len(ivs) == 0 {
		return nil, nil
	}
	return &ivs[0], nil
}

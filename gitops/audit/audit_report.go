package audit

import (
	"context"
	"fmt"
	"iter"
	"maps"
	"slices"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/ledger"
	"github.com/modelgit/modelgit/manifests"
)

// AuditOptions select what Audit reports; zero values select everything.
type AuditOptions struct {
	Env, Model   string
	Since, Until time.Time
	// Progress, when set, is called with the number of commits scanned.
	Progress func(commits int)
}

// AuditReport is the answer of Audit.
type AuditReport struct {
	TimeBasis string `json:"timeBasis"`
	// Branches are the followed branches scanned and their tips.
	Branches []BranchTip `json:"branches"`
	// Rewrites are the history rewrites of a followed branch ever detected.
	Rewrites []ledger.Rewrite `json:"rewrites"`
	// Events are oldest first.
	Events []ledger.AuditEvent `json:"events"`
}

// BranchTip is a followed branch and the commit it pointed to when read.
type BranchTip struct {
	Branch       string   `json:"branch"`
	Tip          string   `json:"tip"`
	Environments []string `json:"environments"`
}

// Audit lists every change of a release file on the first-parent history
// of the followed branch(es): promotions, rollbacks, reverts and edits,
// with who asked, who approved, who merged and the signatures, oldest
// first. It also checks the branch against the position recorded by the
// last run and reports a history rewrite. The events come from, and go
// to, the audit cache (AuditCacheFile): only commits it does not cover
// are scanned. It holds every event: AuditEvents streams them.
func (r *repository) Audit(ctx context.Context, opts AuditOptions) (*AuditReport, error) {
	rep, events, err := r.AuditEvents(ctx, opts)
	if err != nil {
		return nil, err
	}
	rep.Events = []ledger.AuditEvent{}
	for ev, err := range events {
		if err != nil {
			return nil, err
		}
		rep.Events = append(rep.Events, *ev)
	}
	return rep, nil
}

// AuditEvents is Audit without holding the events: it returns the report
// without them (Events nil: the followed branches, their tips and the
// rewrites, all settled before any event is read) and the events, oldest
// first, read from the audit cache one chunk at a time as they are
// ranged over (each branch's new commits are scanned, and the cache
// written, when the range starts). Range over them once; an error ends
// them. The events of several branches are merged by time, a branch's
// before another's at the same time when its name sorts first.
func (r *repository) AuditEvents(ctx context.Context, opts AuditOptions) (*AuditReport, iter.Seq2[*ledger.AuditEvent, error], error) {
	r.Repo().Warm(ctx)
	branches, err := r.FollowedBranches(opts.Env)
	if err != nil {
		return nil, nil, err
	}
	rep := &AuditReport{TimeBasis: ledger.TimeBasis, Rewrites: []ledger.Rewrite{}}
	names := slices.Sorted(maps.Keys(branches))
	// The cache holds every environment of a branch, whichever is asked.
	envsOf, err := r.FollowedBranches("")
	if err != nil {
		return nil, nil, err
	}
	type branchTip struct {
		name string
		tip  plumbing.Hash
	}
	var read []branchTip
	for _, b := range names {
		tip, err := r.BranchTip(ctx, b)
		if err != nil {
			return nil, nil, err
		}
		rw, err := r.CheckFollowed(ctx, b, tip)
		if err != nil {
			return nil, nil, err
		}
		rep.Rewrites = append(rep.Rewrites, rw...)
		rep.Branches = append(rep.Branches, BranchTip{Branch: b, Tip: tip.String(), Environments: branches[b]})
		if !tip.IsZero() {
			read = append(read, branchTip{b, tip})
		}
	}
	events := func(yield func(*ledger.AuditEvent, error) bool) {
		scanned := 0
		progress := func() {
			scanned++
			if opts.Progress != nil && scanned%1000 == 0 {
				opts.Progress(scanned)
			}
		}
		modelSeen := false
		var streams []iter.Seq2[*ledger.AuditEvent, error]
		var tips []string
		for _, b := range read {
			tips = append(tips, b.tip.String())
			all := r.BranchEvents(ctx, b.name, b.tip, envsOf[b.name], progress)
			streams = append(streams, func(yield func(*ledger.AuditEvent, error) bool) {
				for ev, err := range all {
					if err != nil {
						yield(nil, err)
						return
					}
					modelSeen = modelSeen || ev.Model == opts.Model
					switch {
					case !slices.Contains(branches[b.name], ev.Environment),
						opts.Model != "" && ev.Model != opts.Model,
						!opts.Since.IsZero() && ev.Time.Before(opts.Since),
						!opts.Until.IsZero() && ev.Time.After(opts.Until):
						continue
					}
					if !yield(ev, nil) {
						return
					}
				}
			})
		}
		started := func() {
			if opts.Progress != nil {
				opts.Progress(scanned)
			}
		}
		for ev, err := range mergeByTime(streams, started) {
			if err != nil || !yield(ev, nil) {
				if err != nil {
					yield(nil, err)
				}
				return
			}
		}
		if opts.Model != "" && !modelSeen {
			if err := r.checkAuditedModel(ctx, opts.Model, tips); err != nil {
				yield(nil, err)
			}
		}
	}
	return rep, events, nil
}

// mergeByTime merges streams, each oldest first (time on a branch's
// first-parent line never goes back), into one oldest first; at the same
// time the event of the stream listed first comes first — what a stable
// sort by time of the streams one after the other gives. Every stream
// yields its first event (its branch's scan, when the cache is behind,
// runs then) before the merge yields any; started is called then.
func mergeByTime(streams []iter.Seq2[*ledger.AuditEvent, error], started func()) iter.Seq2[*ledger.AuditEvent, error] {
	return func(yield func(*ledger.AuditEvent, error) bool) {
		if len(streams) == 1 {
			first := true
			for ev, err := range streams[0] {
				if first {
					first = false
					started()
				}
				if !yield(ev, err) || err != nil {
					return
				}
			}
			if first {
				started()
			}
			return
		}
		type head struct {
			next func() (*ledger.AuditEvent, error, bool)
			ev   *ledger.AuditEvent
		}
		var heads []*head
		stops := make([]func(), 0, len(streams))
		defer func() {
			for _, stop := range stops {
				stop()
			}
		}()
		for _, s := range streams {
			next, stop := iter.Pull2(s)
			stops = append(stops, stop)
			ev, err, ok := next()
			if err != nil {
				yield(nil, err)
				return
			}
			if ok {
				heads = append(heads, &head{next: next, ev: ev})
			}
		}
		started()
		for len(heads) > 0 {
			oldest := 0
			for i, h := range heads[1:] {
				if h.ev.Time.Before(heads[oldest].ev.Time) {
					oldest = i + 1
				}
			}
			h := heads[oldest]
			if !yield(h.ev, nil) {
				return
			}
			ev, err, ok := h.next()
			switch {
			case err != nil:
				yield(nil, err)
				return
			case ok:
				h.ev = ev
			default:
				heads = slices.Delete(heads, oldest, oldest+1)
			}
		}
	}
}

// checkAuditedModel refuses a --model that names no model: not one under
// models/ at HEAD, nor one whose directory is in the history of the
// followed branches' tips (a model removed since is still audited).
func (r *repository) checkAuditedModel(ctx context.Context, model string, tips []string) error {
	known, err := r.Models()
	if err != nil {
		return err
	}
	if slices.Contains(known, model) {
		return nil
	}
	if manifests.ValidName(model) == nil && len(tips) > 0 {
		seen, err := r.Repo().EverTouched(ctx, tips, manifests.ModelsDir+"/"+model)
		if err != nil || seen {
			return err
		}
	}
	return fmt.Errorf("auditing: %w %q: it is not under %s/ and never was in the history audited (registered: %s)", gitops.ErrUnknownModel, model, manifests.ModelsDir, gitops.ListOrNone(known))
}

package audit

import (
	"context"
	"fmt"
	"slices"
	"time"

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
// are scanned.
func (r *repository) Audit(ctx context.Context, opts AuditOptions) (*AuditReport, error) {
	branches, err := r.FollowedBranches(opts.Env)
	if err != nil {
		return nil, err
	}
	rep := &AuditReport{TimeBasis: ledger.TimeBasis, Rewrites: []ledger.Rewrite{}, Events: []ledger.AuditEvent{}}
	names := make([]string, 0, len(branches))
	for b := range branches {
		names = append(names, b)
	}
	slices.Sort(names)
	// The cache holds every environment of a branch, whichever is asked.
	envsOf, err := r.FollowedBranches("")
	if err != nil {
		return nil, err
	}
	scanned := 0
	modelSeen := false
	var tips []string
	for _, b := range names {
		tip, err := r.BranchTip(ctx, b)
		if err != nil {
			return nil, err
		}
		rw, err := r.CheckFollowed(ctx, b, tip)
		if err != nil {
			return nil, err
		}
		rep.Rewrites = append(rep.Rewrites, rw...)
		rep.Branches = append(rep.Branches, BranchTip{Branch: b, Tip: tip.String(), Environments: branches[b]})
		if tip.IsZero() {
			continue
		}
		progress := func() {
			scanned++
			if opts.Progress != nil && scanned%1000 == 0 {
				opts.Progress(scanned)
			}
		}
		all, err := r.BranchEvents(ctx, b, tip, envsOf[b], progress)
		if err != nil {
			return nil, err
		}
		tips = append(tips, tip.String())
		rep.Events = slices.Grow(rep.Events, len(all))
		for _, ev := range all {
			modelSeen = modelSeen || ev.Model == opts.Model
			switch {
			case !slices.Contains(branches[b], ev.Environment),
				opts.Model != "" && ev.Model != opts.Model,
				!opts.Since.IsZero() && ev.Time.Before(opts.Since),
				!opts.Until.IsZero() && ev.Time.After(opts.Until):
				continue
			}
			ev.ApprovedBy = slices.Clone(ev.ApprovedBy)
			rep.Events = append(rep.Events, ev)
		}
	}
	if opts.Progress != nil {
		opts.Progress(scanned)
	}
	if opts.Model != "" && !modelSeen {
		if err := r.checkAuditedModel(ctx, opts.Model, tips); err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(rep.Events, func(a, b ledger.AuditEvent) int { return a.Time.Compare(b.Time) })
	return rep, nil
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

package ledger

import (
	"context"
	"maps"
	"slices"
	"time"
)

// RanInterval is a span of time during which a version served traffic in
// an environment, with the same strategy and weight throughout: a change
// of weight (a canary stepping up) starts a new interval.
type RanInterval struct {
	Environment string    `json:"environment"`
	From        time.Time `json:"from"`
	// To is when it stopped; nil while it still runs.
	To       *time.Time `json:"to"`
	Strategy string     `json:"strategy"`
	// Weight is its share of traffic; nil when it takes all of it.
	Weight *int   `json:"weight,omitempty"`
	Role   string `json:"role,omitempty"`
	// Commit is the change that started the interval, on the followed
	// branch (for a pull request, its merge commit).
	Commit string `json:"commit"`
	// ClockSkew says that the change that started or ended it was
	// committed on a clock behind its parent's: its time is the parent's
	// (time on the first-parent line never goes back).
	ClockSkew bool `json:"clockSkew,omitempty"`
	// endedBy is the change that ended it; a run goes on without a gap
	// when the next interval starts at the same change.
	endedBy string
}

// ranIntervals derives, from one model's events in the order of the
// followed branch's history, where and when each of its versions served.
// A release file that does not parse changes nothing: what ran before
// goes on running, since Flux cannot apply it.
func ranIntervals(events []AuditEvent) map[string][]RanInterval {
	out := map[string][]RanInterval{}
	type key struct{ env, version string }
	open := map[key]int{} // → index in out[version]
	for _, ev := range events {
		if ev.To != nil && ev.To.Error != "" {
			continue
		}
		now := map[string]RanInterval{}
		if ev.To != nil {
			for _, rv := range ev.To.Versions {
				if rv.Weight != nil && *rv.Weight <= 0 {
					continue
				}
				now[rv.Version.String()] = RanInterval{Environment: ev.Environment, From: ev.Time, Strategy: ev.To.Strategy, Weight: rv.Weight, Role: rv.Role, Commit: ev.Commit, ClockSkew: ev.CommitterTime != nil}
			}
		}
		// Close what stopped or changed, then open what is new or changed.
		for k, i := range open {
			if k.env != ev.Environment {
				continue
			}
			cur := &out[k.version][i]
			if n, ok := now[k.version]; ok && n.Strategy == cur.Strategy && n.Role == cur.Role && equalWeight(n.Weight, cur.Weight) {
				delete(now, k.version)
				continue
			}
			t := ev.Time
			cur.To, cur.endedBy = &t, ev.Commit
			cur.ClockSkew = cur.ClockSkew || ev.CommitterTime != nil
			delete(open, k)
		}
		for _, v := range slices.Sorted(maps.Keys(now)) {
			out[v] = append(out[v], now[v])
			open[key{ev.Environment, v}] = len(out[v]) - 1
		}
	}
	return out
}

func equalWeight(a, b *int) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

// ModelRan returns, per version of model, where and when it served on
// the followed branches, from the audit events (and the audit cache).
func (r *Ledger) ModelRan(ctx context.Context, model string) (map[string][]RanInterval, error) {
	branches, err := r.FollowedBranches("")
	if err != nil {
		return nil, err
	}
	out := map[string][]RanInterval{}
	for _, b := range slices.Sorted(maps.Keys(branches)) {
		tip, err := r.BranchTip(ctx, b)
		if err != nil {
			return nil, err
		}
		if tip.IsZero() {
			continue
		}
		var mine []AuditEvent
		for ev, err := range r.BranchEvents(ctx, b, tip, branches[b], nil) {
			if err != nil {
				return nil, err
			}
			if ev.Model == model {
				mine = append(mine, *ev)
			}
		}
		for v, ivs := range ranIntervals(mine) {
			out[v] = append(out[v], ivs...)
		}
	}
	for _, ivs := range out {
		slices.SortStableFunc(ivs, func(a, b RanInterval) int { return a.From.Compare(b.From) })
	}
	return out, nil
}

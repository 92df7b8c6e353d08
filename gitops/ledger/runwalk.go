package ledger

import (
	"slices"
)

// RunWalk answers, for one release file, what served at a moment and
// since when, from its changes met walking back from that moment (newest
// first). The answer is that of ranIntervals and LatestRun over the same
// changes — the ledger's one computation, which history and promote use
// too — so a release file that does not parse changes nothing here
// either; the walk only says when enough history was seen.
type RunWalk struct {
	events []*AuditEvent // newest first
	known  bool          // a change that parsed was met: current is known
	// current is the release in effect: the newest that parsed (nil: the
	// file was removed).
	current *ReleaseState
	// open are the serving versions whose run's start was not passed yet;
	// standby the versions without traffic, with the change that made
	// them so (nil while not met).
	open    map[string]bool
	standby map[string]*AuditEvent
}

// NewRunWalk starts a walk back.
func NewRunWalk() *RunWalk {
	return &RunWalk{open: map[string]bool{}, standby: map[string]*AuditEvent{}}
}

// Add takes the next (older) change of the file; it reports whether the
// changes added so far explain everything in effect.
func (w *RunWalk) Add(ev *AuditEvent) bool {
	w.events = append(w.events, ev)
	if !w.known {
		if !ev.To.Parsed() {
			return false // Flux could not apply it: look further back
		}
		w.known, w.current = true, ev.To
		for _, v := range versionsOf(ev.To) {
			if ev.To.Serving(v) {
				w.open[v] = true
			} else {
				w.standby[v] = nil
			}
		}
	}
	if !ev.From.Parsed() {
		return w.Done() // changes nothing: what ran before it still ran
	}
	for v := range w.open {
		if !ev.From.Serving(v) {
			delete(w.open, v) // v did not serve before: its run starts here or later
		}
	}
	for v, since := range w.standby {
		if since == nil && (ev.From.Serving(v) || !slices.Contains(versionsOf(ev.From), v)) {
			w.standby[v] = ev // added as a standby, or its traffic taken away
		}
	}
	return w.Done()
}

// Done reports whether the changes added explain everything in effect.
func (w *RunWalk) Done() bool {
	if !w.known || len(w.open) > 0 {
		return false
	}
	for _, since := range w.standby {
		if since == nil {
			return false
		}
	}
	return true
}

// Result returns the release in effect (the newest that parsed; nil when
// none), the newest change (nil when none) and, per version in effect,
// the change that began its current run — for a version without traffic,
// the change that made it so.
func (w *RunWalk) Result() (current *ReleaseState, last *AuditEvent, since map[string]*AuditEvent) {
	since = map[string]*AuditEvent{}
	if len(w.events) > 0 {
		last = w.events[0]
	}
	byCommit := map[string]*AuditEvent{}
	evs := make([]AuditEvent, 0, len(w.events))
	for i := len(w.events) - 1; i >= 0; i-- {
		evs = append(evs, *w.events[i])
		byCommit[w.events[i].Commit] = w.events[i]
	}
	for v, ivs := range ranIntervals(evs) {
		if run, ok := LatestRun(ivs); ok && run.Now && w.current.Serving(v) {
			since[v] = byCommit[run.Commit.String()]
		}
	}
	for v, ev := range w.standby {
		if ev != nil {
			since[v] = ev
		}
	}
	return w.current, last, since
}

// versionsOf lists the versions st names.
func versionsOf(st *ReleaseState) []string {
	if st == nil {
		return nil
	}
	out := make([]string, 0, len(st.Versions))
	for _, v := range st.Versions {
		out = append(out, v.Version.String())
	}
	return out
}

package ledger

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/modelgit/modelgit/gitops/repo"
)

// Time on the first-parent line is monotone: a commit's time is its
// committer time, or its first parent's time on the line when that is
// later (a commit made on a clock that was behind). Without it, a skewed
// commit would date content it carries from later commits to before them,
// order events out of their history and end intervals before they start
// (docs/audit.md, "Time basis").

// monotone returns, for list (a first-parent history, newest first),
// each commit's time on the first-parent line. oldest, when not zero, is
// the time already known for the last (oldest) commit of list: the cached
// tip an incremental scan stopped at.
func monotone(list []repo.FPTime, oldest time.Time) []time.Time {
	out := make([]time.Time, len(list))
	var cur time.Time
	for i := len(list) - 1; i >= 0; i-- {
		t := list[i].Time.UTC()
		if i == len(list)-1 && oldest.After(t) {
			t = oldest.UTC()
		}
		if t.Before(cur) {
			t = cur
		}
		out[i], cur = t, t
	}
	return out
}

// clampEvents sets the times of events (newest first, each of a commit of
// list, in the same order) to their commits' times on the first-parent
// line (mono, as monotone returns it for list).
func clampEvents(events []AuditEvent, list []repo.FPTime, mono []time.Time) {
	c := &clamper{list: list, mono: mono}
	for k := range events {
		c.clamp(&events[k])
	}
}

// clamper dates events on the first-parent line as a scan hands them
// over, newest first.
type clamper struct {
	list []repo.FPTime
	mono []time.Time
	i    int // where the last event's commit is on list
}

// newClamper dates the events of the commits of list (a first-parent
// history, newest first); oldest is as for monotone.
func newClamper(list []repo.FPTime, oldest time.Time) *clamper {
	return &clamper{list: list, mono: monotone(list, oldest)}
}

// clamp sets ev's time to its commit's on the first-parent line; ev is of
// the same commit as the last one clamped, or of one older. An event
// whose commit is not listed keeps the scan's own time, and so do those
// after it.
func (c *clamper) clamp(ev *AuditEvent) {
	h := plumbing.NewHash(ev.Commit)
	for c.i < len(c.list) && c.list[c.i].Hash != h {
		c.i++
	}
	if c.i < len(c.list) {
		setTime(ev, c.list[c.i].Time, c.mono[c.i])
	}
}

// setTime dates ev at mono, noting its commit's own time raw when the
// clock that made it was behind.
func setTime(ev *AuditEvent, raw, mono time.Time) {
	ev.Time, ev.CommitterTime = mono.UTC(), nil
	if raw.Before(mono) {
		r := raw.UTC()
		ev.CommitterTime = &r
	}
}

// Clock is the first-parent history of a revision with each commit's time
// on the first-parent line.
type Clock struct {
	list      []repo.FPTime
	mono      []time.Time
	index     map[plumbing.Hash]int // built by the first Position
	indexOnce sync.Once
}

// FirstParentClock reads the first-parent history of tip and its times.
func (r *Ledger) FirstParentClock(ctx context.Context, tip plumbing.Hash) (*Clock, error) {
	list, err := r.Repo().FirstParentTimes(ctx, tip)
	if err != nil {
		return nil, err
	}
	return &Clock{list: list, mono: monotone(list, time.Time{})}, nil
}

// LineFrom lists the first-parent line from h (the commit in effect, as
// At returns it) back to the first commit, newest first; nil when h is
// not on it.
func (c *Clock) LineFrom(h plumbing.Hash) []plumbing.Hash {
	for i, ft := range c.list {
		if ft.Hash == h {
			out := make([]plumbing.Hash, 0, len(c.list)-i)
			for _, ft := range c.list[i:] {
				out = append(out, ft.Hash)
			}
			return out
		}
	}
	return nil
}

// Len is the number of commits on the first-parent line.
func (c *Clock) Len() int { return len(c.list) }

// At returns the commit in effect at t: the newest whose time on the
// first-parent line is not after t (zero when none), with that time and
// its own committer time.
func (c *Clock) At(t time.Time) (h plumbing.Hash, mono, raw time.Time) {
	i := c.Index(t)
	if i == len(c.list) {
		return plumbing.ZeroHash, time.Time{}, time.Time{}
	}
	return c.list[i].Hash, c.mono[i], c.list[i].Time.UTC()
}

// Index is the place on the first-parent line (0 for the newest) of the
// commit in effect at t, as At finds it; Len when there is none.
func (c *Clock) Index(t time.Time) int {
	// mono never increases along list (newest first).
	return sort.Search(len(c.list), func(i int) bool { return !c.mono[i].After(t) })
}

// Date sets ev's time to that of its commit on the first-parent line;
// false when the commit is not on it.
func (c *Clock) Date(ev *AuditEvent) bool {
	i, ok := c.Position(plumbing.NewHash(ev.Commit))
	if ok {
		setTime(ev, c.list[i].Time, c.mono[i])
	}
	return ok
}

// Find is h's place on the first-parent line for a caller going back
// along it: it looks from place from on (where the caller found the last
// one), then everywhere (Position). Walking back through a few thousand
// commits this way spares building Position's index of the whole line.
func (c *Clock) Find(h plumbing.Hash, from int) (int, bool) {
	for i := max(from, 0); i < len(c.list); i++ {
		if c.list[i].Hash == h {
			return i, true
		}
	}
	return c.Position(h)
}

// DateAt is Date for an event whose commit's place on the line the
// caller knows (Find): i, checked.
func (c *Clock) DateAt(ev *AuditEvent, i int) bool {
	if i < 0 || i >= len(c.list) || c.list[i].Hash.String() != ev.Commit {
		return c.Date(ev)
	}
	setTime(ev, c.list[i].Time, c.mono[i])
	return true
}

// Position is h's place on the first-parent line, 0 for the newest;
// false when it is not on it. Safe for concurrent use.
func (c *Clock) Position(h plumbing.Hash) (int, bool) {
	c.indexOnce.Do(func() {
		c.index = make(map[plumbing.Hash]int, len(c.list))
		for i, ft := range c.list {
			c.index[ft.Hash] = i
		}
	})
	i, ok := c.index[h]
	return i, ok
}

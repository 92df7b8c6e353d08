package ledger

import (
	"fmt"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/modelgit/modelgit/gitops/repo"
)

// TestClockFindAndDateAt: finding a commit from a place on the line, and
// dating an event at a place, agree with Position and Date wherever the
// search starts and whatever place is given, a wrong one included; a
// commit off the line is found nowhere. Times are clamped on the line (a
// skewed commit, the fourth, is dated at its parent's time).
func TestClockFindAndDateAt(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var list []repo.FPTime
	for i := range 8 {
		at := base.Add(time.Duration(8-i) * time.Hour)
		if i == 3 {
			at = base // older than its parent (i == 4)
		}
		list = append(list, repo.FPTime{Hash: plumbing.NewHash(fmt.Sprintf("%040x", i+1)), Time: at})
	}
	c := &Clock{list: list, mono: monotone(list, time.Time{})}
	for i, ft := range list {
		want, _ := c.Position(ft.Hash)
		if want != i {
			t.Fatalf("Position of commit %d: %d", i, want)
		}
		for from := -1; from <= len(list); from++ {
			if got, ok := c.Find(ft.Hash, from); !ok || got != i {
				t.Errorf("Find(commit %d, from %d) = %d, %v", i, from, got, ok)
			}
		}
		want1 := &AuditEvent{Commit: ft.Hash.String()}
		c.Date(want1)
		for place := -1; place <= len(list); place++ {
			got := &AuditEvent{Commit: ft.Hash.String()}
			if !c.DateAt(got, place) || !got.Time.Equal(want1.Time) || (got.CommitterTime == nil) != (want1.CommitterTime == nil) {
				t.Errorf("DateAt(commit %d, place %d) = %v %v, Date says %v %v", i, place, got.Time, got.CommitterTime, want1.Time, want1.CommitterTime)
			}
		}
	}
	if ev := (&AuditEvent{Commit: list[3].Hash.String()}); !c.DateAt(ev, 3) || !ev.Time.Equal(list[4].Time) || ev.CommitterTime == nil {
		t.Errorf("the skewed commit: dated %v (own %v), want its parent's time %v", ev.Time, ev.CommitterTime, list[4].Time)
	}
	off := plumbing.NewHash(fmt.Sprintf("%040x", 99))
	if _, ok := c.Find(off, 0); ok {
		t.Error("a commit off the line was found")
	}
	if c.DateAt(&AuditEvent{Commit: off.String()}, 2) {
		t.Error("an event of a commit off the line was dated")
	}
}

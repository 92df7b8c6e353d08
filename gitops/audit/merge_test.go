package audit

import (
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/modelgit/modelgit/gitops/ledger"
)

func streamOf(evs []ledger.AuditEvent, err error) iter.Seq2[*ledger.AuditEvent, error] {
	return func(yield func(*ledger.AuditEvent, error) bool) {
		for i := range evs {
			if !yield(&evs[i], nil) {
				return
			}
		}
		if err != nil {
			yield(nil, err)
		}
	}
}

// TestMergeByTime (#16): merging the branches' streams (each oldest
// first) gives exactly what the stable sort by time of the branches'
// events one after the other gave, ties included.
func TestMergeByTime(t *testing.T) {
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		var streams []iter.Seq2[*ledger.AuditEvent, error]
		var all []ledger.AuditEvent
		for b := range 1 + rng.IntN(4) {
			var evs []ledger.AuditEvent
			at := base
			for i := range rng.IntN(20) {
				at = at.Add(time.Duration(rng.IntN(3)) * time.Minute) // ties, within and across
				evs = append(evs, ledger.AuditEvent{Time: at, Commit: fmt.Sprintf("b%d-%d", b, i)})
			}
			all = append(all, evs...)
			streams = append(streams, streamOf(evs, nil))
		}
		slices.SortStableFunc(all, func(a, b ledger.AuditEvent) int { return a.Time.Compare(b.Time) })
		var want, got []string
		for _, ev := range all {
			want = append(want, ev.Commit)
		}
		started := 0
		for ev, err := range mergeByTime(streams, func() { started++ }) {
			if err != nil {
				t.Fatal(err)
			}
			if started != 1 {
				t.Fatalf("round %d: an event before every stream started", round)
			}
			got = append(got, ev.Commit)
		}
		if started != 1 || !slices.Equal(got, want) {
			t.Fatalf("round %d: started %d times; merged %v, want %v", round, started, got, want)
		}
	}
}

// TestMergeByTimeError (#16): an error of any stream ends the merge with
// it.
func TestMergeByTimeError(t *testing.T) {
	boom := errors.New("boom")
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	a := []ledger.AuditEvent{{Time: base}, {Time: base.Add(time.Hour)}}
	for _, streams := range [][]iter.Seq2[*ledger.AuditEvent, error]{
		{streamOf(a, boom)},
		{streamOf(a, nil), streamOf(a[:1], boom)},
		{streamOf(nil, boom), streamOf(a, nil)},
	} {
		var err error
		for _, e := range mergeByTime(streams, func() {}) {
			if e != nil {
				err = e
			}
		}
		if !errors.Is(err, boom) {
			t.Errorf("%d streams: %v, want the stream's error", len(streams), err)
		}
	}
}

package app

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
	"github.com/modelgit/modelgit/gitops/audit"
	"github.com/modelgit/modelgit/gitops/ledger"
	"github.com/modelgit/modelgit/manifests"
)

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 3, 3, 14, 2, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{"2026-03-03T14:02:00Z", now, false},
		{"2026-03-03T15:02:00+01:00", now, false},
		{"2026-03-03", time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC), false},
		{"2026-03-03 14:02", now, false},
		{"now", now, false},
		{"2h", now.Add(-2 * time.Hour), false},
		{"3 days ago", now.Add(-72 * time.Hour), false},
		{"90m ago", now.Add(-90 * time.Minute), false},
		{"1w", now.Add(-7 * 24 * time.Hour), false},
		{"last tuesday", time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := ParseWhen(tt.in, now)
		if (err != nil) != tt.wantErr || !got.Equal(tt.want) {
			t.Errorf("ParseWhen(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestRanText(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	ten := 10
	end, nextDay := at("2026-03-03T12:00:00Z"), at("2026-03-04T09:30:00Z")
	tests := []struct {
		name string
		in   []ledger.RanInterval
		want string
	}{
		{"never ran", nil, "-"},
		{"still running", []ledger.RanInterval{{Environment: "production", From: at("2026-03-03T10:00:00Z"), Strategy: "replace"}}, "production 2026-03-03 10:00→now (replace)"},
		{"same day, with weight", []ledger.RanInterval{{Environment: "production", From: at("2026-03-03T10:00:00Z"), To: &end, Strategy: "canary", Weight: &ten}}, "production 2026-03-03 10:00→12:00 (canary 10%)"},
		{"over days, two environments", []ledger.RanInterval{
			{Environment: "staging", From: at("2026-03-03T09:00:00Z"), To: &nextDay, Strategy: "replace"},
			{Environment: "production", From: at("2026-03-03T10:00:00Z"), Strategy: "replace"},
		}, "staging 2026-03-03 09:00→2026-03-04 09:30 (replace), production 2026-03-03 10:00→now (replace)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ranText(tt.in); got != tt.want {
				t.Errorf("ranText = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestPrintAuditJSON: the same bytes as cmdutil.PrintJSON, on reports
// with no event, one event with every kind of value, and more events than
// one chunk.
func TestPrintAuditJSON(t *testing.T) {
	w := 0
	ev := ledger.AuditEvent{
		Time: time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC), Environment: "production", Model: "fraud", Action: ledger.ActionPromote,
		To:         &ledger.ReleaseState{Strategy: "canary", Versions: []manifests.ReleasedVersion{{Version: manifests.MustParseVersion("1.1.0"), Weight: &w, Role: "standby"}}},
		ApprovedBy: []string{}, RequestedBy: "Dana <dana@example.com>", Subject: `Merge "x" & <y> {[,:]} \ done`, Notes: []string{"a", ""},
	}
	many := make([]ledger.AuditEvent, 1000)
	for i := range many {
		many[i] = ev
		many[i].Model = fmt.Sprintf("model-%04d", i)
	}
	for _, tc := range []struct {
		name   string
		events []ledger.AuditEvent
	}{
		{"none", []ledger.AuditEvent{}},
		{"one", []ledger.AuditEvent{ev}},
		{"several chunks", many},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := &audit.AuditReport{TimeBasis: ledger.TimeBasis, Rewrites: []ledger.Rewrite{}, Events: tc.events,
				Branches: []audit.BranchTip{{Branch: "main", Tip: "abc", Environments: []string{"production"}}}}
			var want, got bytes.Buffer
			if err := cmdutil.PrintJSON(&want, rep); err != nil {
				t.Fatal(err)
			}
			if err := printAuditJSON(&got, rep, eventsOf(tc.events)); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Errorf("printAuditJSON:\n%s\nPrintJSON:\n%s", got.String(), want.String())
			}
		})
	}
}

// TestPrintAuditJSONError (#16): the events are printed as they come,
// but an error before the first one (an unknown --model, a failed scan)
// leaves the output empty, and one after them is returned.
func TestPrintAuditJSONError(t *testing.T) {
	rep := &audit.AuditReport{TimeBasis: ledger.TimeBasis, Rewrites: []ledger.Rewrite{}}
	boom := errors.New("boom")
	for _, n := range []int{0, 1, 600} {
		events := func(yield func(*ledger.AuditEvent, error) bool) {
			for i := range n {
				if !yield(&ledger.AuditEvent{Model: fmt.Sprint(i), ApprovedBy: []string{}}, nil) {
					return
				}
			}
			yield(nil, boom)
		}
		var got bytes.Buffer
		if err := printAuditJSON(&got, rep, events); !errors.Is(err, boom) {
			t.Errorf("%d events then an error: %v, want it", n, err)
		}
		if n == 0 && got.Len() > 0 {
			t.Errorf("an error before any event, yet printed %q", got.String())
		}
	}
}

// TestAuditTextSaysWhatHappened: the text output says what from → to does
// not (an aborted canary, an unreadable release file) and marks a time
// taken from the parent because of clock skew (#16).
func TestAuditTextSaysWhatHappened(t *testing.T) {
	noon := time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC)
	eleven := noon.Add(-time.Hour)
	rollback := ledger.AuditEvent{FromVersion: "1.1.0", ToVersion: "1.1.0", Description: "canary 1.2.0 aborted, stable 1.1.0 stays"}
	if got := fromTo(rollback); got != "canary 1.2.0 aborted, stable 1.1.0 stays" {
		t.Errorf("fromTo(rollback during a canary) = %q", got)
	}
	if got := fromTo(ledger.AuditEvent{FromVersion: "1.0.0", ToVersion: "1.1.0"}); got != "1.0.0 → 1.1.0" {
		t.Errorf("fromTo = %q", got)
	}
	skewed := ledger.AuditEvent{Time: noon, CommitterTime: &eleven}
	if got := eventTime(skewed, "15:04"); got != "12:00 (clock skew: committed 11:00)" {
		t.Errorf("eventTime(skewed) = %q", got)
	}
	if got := eventTime(ledger.AuditEvent{Time: noon}, "15:04"); got != "12:00" {
		t.Errorf("eventTime = %q", got)
	}
	iv := ledger.RanInterval{Environment: "production", From: noon, Strategy: "replace", ClockSkew: true}
	if got := ranText([]ledger.RanInterval{iv}); got != "production 2026-03-03 12:00→now (replace, clock skew)" {
		t.Errorf("ranText(skewed) = %q", got)
	}
}

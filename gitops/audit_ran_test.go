package gitops_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/audit"
)

// TestHistoryRan: each version's intervals of service, per environment,
// split where the weight changes, open while it still runs.
func TestHistoryRan(t *testing.T) {
	s := buildScenario(t)
	reg, err := gitops.Open(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	ran := func(model string) map[string][]string {
		t.Helper()
		h, err := audit.History(reg, model)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]string{}
		for _, e := range h {
			for _, iv := range e.Ran {
				to := "now"
				if iv.To != nil {
					to = iv.To.Format("15:04")
				}
				line := fmt.Sprintf("%s %s→%s %s", iv.Environment, iv.From.Format("15:04"), to, iv.Strategy)
				if iv.Weight != nil {
					line += fmt.Sprintf(" %d", *iv.Weight)
				}
				if iv.Commit == "" {
					t.Errorf("%s %s: no commit", model, line)
				}
				out[e.Version.String()] = append(out[e.Version.String()], line)
			}
		}
		return out
	}
	tests := []struct {
		model string
		want  map[string][]string
	}{
		{"fraud", map[string][]string{
			"1.0.0": {"dev 09:45→now replace", "production 10:00→12:00 replace", "production 12:00→13:00 canary 90", "production 13:00→14:00 canary 50", "production 14:00→now replace"},
			"1.1.0": {"production 12:00→13:00 canary 10", "production 13:00→14:00 canary 50"},
		}},
		// Removed by a revert at 14:30, back at 15:00; a standby (weight 0)
		// does not run.
		{"churn", map[string][]string{
			"2.0.0": {"production 11:00→14:30 replace", "production 15:00→16:00 replace", "production 16:00→17:00 blue-green 100"},
			"2.1.0": {"production 17:00→now blue-green 100"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			got := ran(tt.model)
			for v, want := range tt.want {
				if !slices.Equal(got[v], want) {
					t.Errorf("%s %s ran:\n got %s\nwant %s", tt.model, v, strings.Join(got[v], "; "), strings.Join(want, "; "))
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("%s: versions that ran %v", tt.model, got)
			}
		})
	}
}

package action_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/modelgit/modelgit/action"
	"github.com/modelgit/modelgit/gitops/check"
)

func TestStatusFor(t *testing.T) {
	passed := sampleReport()
	passed.Passed, passed.Missing = true, 0
	long := sampleReport()
	for i := 0; i < 40; i++ {
		long.Items = append(long.Items, check.CheckItem{Name: "check-with-a-long-name\n", Status: check.CheckFail})
	}
	tests := []struct {
		name      string
		r         *check.CheckReport
		state     string
		wantDescr string
	}{
		{"nil", nil, "failure", "no check report"},
		{"failed", sampleReport(), "failure", "failed: gates, approvals (1 more approval needed)"},
		{"passed", passed, "success", "passed: 5 checks, 2 of 2 approvals"},
		{"long", long, "failure", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := action.StatusFor(tt.r)
			if st.Context != "modelgit/promotion" || st.State != tt.state {
				t.Errorf("status = %+v", st)
			}
			if tt.wantDescr != "" && st.Description != tt.wantDescr {
				t.Errorf("description = %q, want %q", st.Description, tt.wantDescr)
			}
			if n := utf8.RuneCountInString(st.Description); n > 140 || strings.ContainsAny(st.Description, "\r\n") {
				t.Errorf("description (%d runes) %q is not one line of at most 140", n, st.Description)
			}
		})
	}
}

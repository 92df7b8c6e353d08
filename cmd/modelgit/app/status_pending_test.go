package app

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestStatusJSONSaysWhenPendingIsUnknown: with the forge answering 503,
// status -o json gives each model "pending": null (not the [] of "no open
// pull request") and a "pendingError" that says why, without the token;
// the table marks the column unknown and stderr keeps the warning.
func TestStatusJSONSaysWhenPendingIsUnknown(t *testing.T) {
	m := newMonitorCLI(t)
	const token = "ghp_status-test-secret"
	t.Setenv("GH_TOKEN", token)
	type row struct {
		Model        string             `json:"model"`
		Pending      *[]json.RawMessage `json:"pending"`
		PendingError *string            `json:"pendingError"`
	}
	status := func() []row {
		t.Helper()
		stdout, stderr := m.ok("status", "-o", "json")
		if strings.Contains(stdout+stderr, token) {
			t.Errorf("the token is in the output:\n%s\n%s", stdout, stderr)
		}
		var rows []row
		if err := json.Unmarshal([]byte(stdout), &rows); err != nil || len(rows) != 1 || rows[0].Model != "fraud" {
			t.Fatalf("status -o json: %v\n%s", err, stdout)
		}
		return rows
	}

	// Reachable, nothing open: [] and no error.
	r := status()[0]
	if r.Pending == nil || len(*r.Pending) != 0 || r.PendingError != nil {
		t.Errorf("forge up: pending %v, pendingError %v; want [] and none", r.Pending, r.PendingError)
	}

	// Down: null and why.
	m.fake.FailNext(http.MethodGet, "/repos/*/*/pulls", http.StatusServiceUnavailable, 1000)
	r = status()[0]
	if r.Pending != nil {
		t.Errorf("forge down: pending = %v, want null", *r.Pending)
	}
	if r.PendingError == nil || !strings.Contains(*r.PendingError, "listing open pull requests") || !strings.Contains(*r.PendingError, "503") {
		t.Errorf("forge down: pendingError = %v, want why", r.PendingError)
	}
	stdout, stderr := m.ok("status")
	if !strings.Contains(stderr, "pending pull requests unknown: listing open pull requests") {
		t.Errorf("the table gives no warning:\n%s", stderr)
	}
	if !strings.Contains(stdout, "?") || strings.Contains(stdout+stderr, token) {
		t.Errorf("the table does not mark pending unknown, or shows the token:\n%s", stdout)
	}
}

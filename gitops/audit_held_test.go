package gitops_test

import (
	"os"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops"
)

// TestAuditHoldingFewBlobs (#16): a cold audit whose scan holds as few
// release blobs as it can (repo.SetScanHold), so that the parsed release
// states are let go of and read again (a rollback's content, a release
// file added again after a revert), answers exactly what one that holds
// them all does.
func TestAuditHoldingFewBlobs(t *testing.T) {
	s := buildScenario(t)
	bob := []string{"Bob <bob@example.com>"}
	// fraud goes back and forth in production and dev, so that contents
	// come back long after they were last seen.
	s.promote("Q1", "dev", "fraud", "1.1.0", "1.0.0", "replace", "17:10", release("fraud", "dev", "replace", "1.1.0"), "", bob, true)
	s.promote("Q2", "production", "fraud", "1.1.0", "1.0.0", "canary weight=10", "17:20", release("fraud", "production", "canary", "1.0.0 90 stable", "1.1.0 10 canary"), "", bob, true)
	s.promote("Q3", "dev", "fraud", "1.0.0", "1.1.0", "replace", "17:30", release("fraud", "dev", "replace", "1.0.0"), "Rollback: from 1.1.0\n", bob, true)
	s.promote("Q4", "production", "fraud", "1.0.0", "1.0.0", "replace", "17:40", release("fraud", "production", "replace", "1.0.0"), "Rollback: from 1.1.0\n", bob, true)
	s.promote("Q5", "dev", "fraud", "1.1.0", "1.0.0", "replace", "17:50", release("fraud", "dev", "replace", "1.1.0"), "", bob, true)
	s.promote("Q6", "production", "fraud", "1.1.0", "1.0.0", "canary weight=50", "18:00", release("fraud", "production", "canary", "1.0.0 50 stable", "1.1.0 50 canary"), "", bob, true)
	cold := func(hold int) string {
		t.Helper()
		if err := os.Remove(auditCacheFile(s)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		reg, err := gitops.Open(s.dir)
		if err != nil {
			t.Fatal(err)
		}
		reg.Repo().SetScanHold(hold)
		got, _ := eventsJSON(t, reg)
		return got
	}
	all, few := cold(0), cold(1)
	if strings.Count(all, `"commit"`) < 15 || strings.Contains(all, "was not read") {
		t.Fatalf("audit holding every blob:\n%s", all)
	}
	if few != all {
		t.Errorf("audit holding few blobs:\n%s\nholding them all:\n%s", few, all)
	}
}

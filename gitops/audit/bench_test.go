package audit_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/audit"
	"github.com/modelgit/modelgit/gitops/ledger"
)

// BenchmarkAudit scans the repository named by MODELGIT_AUDIT_REPO (built
// by bench/auditgen), without the audit cache (cold) and with it (warm);
// bench/audit.sh times the command itself.
func BenchmarkAudit(b *testing.B) {
	b.Run("cold", func(b *testing.B) { benchmarkAudit(b, true) })
	b.Run("warm", func(b *testing.B) { benchmarkAudit(b, false) })
}

func benchmarkAudit(b *testing.B, cold bool) {
	dir := os.Getenv("MODELGIT_AUDIT_REPO")
	if dir == "" {
		b.Skip("set MODELGIT_AUDIT_REPO to a repository made by bench/auditgen")
	}
	reg, err := gitops.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	cache, err := ledger.Of(reg).CachePath(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if cold {
			b.StopTimer()
			if err := os.Remove(cache); err != nil && !os.IsNotExist(err) {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		// As audit -o json/csv reads them: streamed, none held.
		_, events, err := audit.AuditEvents(context.Background(), reg, audit.AuditOptions{})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, err := range events {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		b.ReportMetric(float64(n), "events")
	}
}

// BenchmarkWhich asks what ran in production in the middle of the history
// of MODELGIT_AUDIT_REPO.
func BenchmarkWhich(b *testing.B) {
	dir := os.Getenv("MODELGIT_AUDIT_REPO")
	if dir == "" {
		b.Skip("set MODELGIT_AUDIT_REPO to a repository made by bench/auditgen")
	}
	reg, err := gitops.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2024, 12, 11, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		if _, err := audit.Which(context.Background(), reg, audit.WhichOptions{Env: "production", At: at}); err != nil {
			b.Fatal(err)
		}
	}
}

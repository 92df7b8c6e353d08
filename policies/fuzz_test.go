package policies

import (
	"os"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/manifests"
)

// FuzzParse checks that Parse never panics, that every error names the
// file, and that a policy it accepts evaluates without panicking and has
// a stable digest.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile("testdata/prod.yaml"); err == nil {
		f.Add(data)
	}
	f.Add([]byte(head))
	f.Add([]byte(head + exampleGates))
	f.Add([]byte(head + "soak: 7d\nfrom: staging\napprovals: {count: 2, teams: [a/b]}\n"))
	f.Add([]byte(head + "gates:\n  - name: x\n    expression: |\n      candidate.metrics.a >\n"))
	f.Add([]byte(head + "metrics:\n  psi: {direction: lower, threshold: 0.2}\n"))
	f.Add([]byte(head + "gates: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("policies/prod.yaml", data)
		if err != nil {
			for _, fe := range manifests.AsFileErrors(err) {
				if fe.File != "policies/prod.yaml" {
					t.Fatalf("error without the file: %v", fe)
				}
			}
			if !strings.HasPrefix(err.Error(), "policies/prod.yaml") {
				t.Fatalf("error does not start with the file: %v", err)
			}
			return
		}
		c := Subject{Version: "1.1.0", Metrics: map[string]float64{"accuracy": 0.9, "latency_p95": 100}}
		b := &Subject{Version: "1.0.0", Metrics: map[string]float64{"accuracy": 0.95}}
		for _, base := range []*Subject{b, nil} {
			if got, want := len(p.Evaluate(c, base)), len(p.Gates)+1; got != want {
				t.Fatalf("%d results for %d gates", got, want)
			}
		}
		if p.Digest() != p.Digest() {
			t.Fatal("digest is not stable")
		}
		_ = p.Explain()
	})
}

package ledger

import (
	"reflect"
	"testing"

	"github.com/modelgit/modelgit/manifests"
)

// FuzzFastRelease checks that whatever fastRelease accepts, ParseRelease
// accepts too, with the same result.
func FuzzFastRelease(f *testing.F) {
	f.Add([]byte("apiVersion: modelgit.dev/v1alpha1\nkind: Release\nmodel: m\nenvironment: prod\nstrategy: canary\nversions:\n  - version: 1.0.0\n    digest: sha256:" + zeros + "\n    weight: 90\n    role: stable\n  - version: 1.1.0\n    digest: sha256:" + zeros + "\n    weight: 10\n    role: canary\n"))
	f.Add([]byte("apiVersion: modelgit.dev/v1alpha1\nkind: Release\nmodel: m\nenvironment: prod\nstrategy: ab\nversions:\n  - version: 1.0.0+data.2\n    digest: sha256:" + zeros + "\n    role: a\n  - version: 1.1.0\n    digest: sha256:" + zeros + "\n    role: b\nmatch: x-variant=b\n"))
	f.Add([]byte("apiVersion: modelgit.dev/v1alpha1\nkind: Release\nmodel: m\nenvironment: prod\nstrategy: replace\nversions:\n  - version: 1.0.0\n    digest: sha256:" + zeros + "\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		fast, ok := fastRelease(raw)
		if !ok {
			return
		}
		slow, err := manifests.ParseRelease("r.yaml", raw)
		if err != nil {
			t.Fatalf("fastRelease accepted what ParseRelease rejects (%v):\n%s", err, raw)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("fastRelease %+v, ParseRelease %+v", fast, slow)
		}
	})
}

const zeros = "1111111111111111111111111111111111111111111111111111111111111111"

func TestSplitReleasePath(t *testing.T) {
	tests := []struct {
		in, env, model string
		ok             bool
	}{
		{"environments/prod/fraud.yaml", "prod", "fraud", true},
		{"environments/prod/x/fraud.yaml", "", "", false},
		{"environments/prod/README.md", "", "", false},
		{"rendered/prod/fraud.yaml", "", "", false},
	}
	for _, tt := range tests {
		env, model, ok := SplitReleasePath(tt.in)
		if ok != tt.ok || ok && (env != tt.env || model != tt.model) {
			t.Errorf("SplitReleasePath(%q) = %q, %q, %v", tt.in, env, model, ok)
		}
	}
}

package gitops_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/manifests"
)

// TestResolveForms checks every way a MODEL@VERSION can be written (issue
// 13): latest, a whole version, an unambiguous prefix, an environment
// (its stable version, saying what serves beside it), and the errors for
// an ambiguous prefix, an unknown version and an environment the model
// does not run in.
func TestResolveForms(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.register(base) // 0.1.0+data.1
	s := base
	s.data = "amount,hour\n2.0,4\n"
	f.register(s) // 0.1.0+data.2
	s.params = `{"learning_rate": 0.2, "max_depth": 6}`
	f.register(s) // 0.1.1+data.2
	s.weights, s.version = "weights v3\n", "3.0.1+data.9"
	f.register(s)

	for ref, want := range map[string]string{
		"fraud":              "3.0.1+data.9",
		"fraud@latest":       "3.0.1+data.9",
		"fraud@3.0.1":        "3.0.1+data.9", // the example
		"fraud@3":            "3.0.1+data.9",
		"fraud@3.0.1+data":   "3.0.1+data.9",
		"fraud@0.1.1":        "0.1.1+data.2",
		"fraud@0.1.0+data.2": "0.1.0+data.2",
		"fraud@0.1.0+data.1": "0.1.0+data.1",
	} {
		v, via, err := f.reg.ResolveVia(ref)
		if err != nil {
			t.Errorf("Resolve(%q): %v", ref, err)
			continue
		}
		if got := v.Manifest.Version.String(); got != want || via != "" {
			t.Errorf("Resolve(%q) = %s (via %q), want %s", ref, got, via, want)
		}
	}

	for ref, wantErr := range map[string]struct {
		is   error
		subs []string
	}{
		"fraud@0.1.0":        {gitops.ErrAmbiguousVersion, []string{"0.1.0 matches 0.1.0+data.1 or 0.1.0+data.2", "give one of them in full"}},
		"fraud@0.1":          {gitops.ErrAmbiguousVersion, []string{"0.1.0+data.1, 0.1.0+data.2 or 0.1.1+data.2"}},
		"fraud@0.1.0+data":   {gitops.ErrAmbiguousVersion, []string{"0.1.0+data.1 or 0.1.0+data.2"}},
		"fraud@9.9.9":        {gitops.ErrUnknownVersion, []string{"registered: 0.1.0+data.1, 0.1.0+data.2, 0.1.1+data.2, 3.0.1+data.9"}},
		"fraud@0.1.10":       {gitops.ErrUnknownVersion, nil}, // 0.1.1 is no prefix of it
		"fraud@0.1.1+data.3": {gitops.ErrUnknownVersion, nil},
		"nobody@1.0.0":       {gitops.ErrUnknownModel, []string{"registered: fraud"}},
		"fraud@dev":          {gitops.ErrNotRunning, []string{"fraud does not run in \"dev\"", "environments/dev/fraud.yaml"}},
		"fraud@one":          {nil, []string{`"fraud@one"`, "not a version, a version prefix, latest, or an environment", "dev, staging, production"}},
		"fraud@":             {nil, []string{"nothing after @"}},
	} {
		_, err := f.reg.Resolve(ref)
		if err == nil {
			t.Errorf("Resolve(%q) succeeded, want an error", ref)
			continue
		}
		if wantErr.is != nil && !errors.Is(err, wantErr.is) {
			t.Errorf("Resolve(%q): %v, want %v", ref, err, wantErr.is)
		}
		mustContain(t, err, wantErr.subs...)
	}

	// @ENV is what runs there at HEAD: dev runs 0.1.1+data.2; production a
	// canary of 0.1.1+data.2 beside the stable 0.1.0+data.2, which wins.
	release := func(env string, cur *manifests.Release, version string, change gitops.ReleaseChange) *manifests.Release {
		t.Helper()
		v, err := f.reg.Resolve("fraud@" + version)
		if err != nil {
			t.Fatal(err)
		}
		rel, err := gitops.NextRelease(cur, "fraud", env, v.Manifest.Version, v.Digest, change)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := manifests.Marshal(rel)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(f.root, manifests.ReleaseFile(env, "fraud"))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, p, string(raw))
		return rel
	}
	release("dev", nil, "0.1.1+data.2", gitops.ReleaseChange{})
	stable := release("production", nil, "0.1.0+data.2", gitops.ReleaseChange{})
	release("production", stable, "0.1.1+data.2", gitops.ReleaseChange{Strategy: manifests.StrategyCanary, Weight: 10})
	// Not committed yet: HEAD decides, so dev still runs nothing.
	if _, err := f.reg.Resolve("fraud@dev"); !errors.Is(err, gitops.ErrNotRunning) {
		t.Errorf("Resolve(fraud@dev) before the commit: %v, want ErrNotRunning", err)
	}
	git(t, f.root, "add", "-A")
	git(t, f.root, "commit", "-q", "--no-verify", "--no-gpg-sign", "-m", "releases")
	f.reopen()
	for ref, want := range map[string][2]string{
		"fraud@dev":        {"0.1.1+data.2", "runs in dev"},
		"fraud@production": {"0.1.0+data.2", "runs in production as the stable, beside canary 0.1.1+data.2 (10%)"},
	} {
		v, via, err := f.reg.ResolveVia(ref)
		if err != nil {
			t.Errorf("Resolve(%q): %v", ref, err)
			continue
		}
		if got := v.Manifest.Version.String(); got != want[0] || via != want[1] {
			t.Errorf("Resolve(%q) = %s, %q; want %s, %q", ref, got, via, want[0], want[1])
		}
	}
}

package gitops_test

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/manifests"
)

// validReleaseField is a field ValidRelease itself names, beyond the
// decoder's: the place of the file, or a pin that does not resolve.
var validReleaseField = regexp.MustCompile(`^(environment|model|versions\[(\d+)\]\.(version|digest))$`)

// FuzzValidRelease: a release file as every command reads it
// (gitops.ValidRelease: render, status, promote, rollback, check, verify),
// against a real repository with two registered versions. Any bytes give
// the pinned versions or FileErrors naming the file: the decoder's own
// (the same as manifests.ParseRelease's) with a line, or one naming the
// field whose place or pin is wrong. What is accepted pins registered
// versions with their digests, in order, and its canonical form (what
// promote writes) is accepted again, to the same bytes and versions.
func FuzzValidRelease(f *testing.F) {
	fx := newFixture(f)
	v1 := fx.register(base).Version
	v2 := fx.register(spec{weights: "weights v2\n", schema: base.schema, config: base.config, params: base.params, data: base.data}).Version
	rev := plumbing.NewHash(fx.head())
	const path = "environments/dev/fraud.yaml"

	// Seeds: the release promote writes (manifests.Marshal of what it
	// builds) for each strategy, the fixture release file of the manifests
	// package, and what hand edits get wrong.
	pin := func(v *gitops.VersionRef, extra ...string) manifests.ReleasedVersion {
		rv := manifests.ReleasedVersion{Version: v.Manifest.Version, Digest: v.Digest}
		for _, e := range extra {
			if k, val, ok := strings.Cut(e, "="); ok && k == "role" {
				rv.Role = val
			} else if ok && k == "weight" {
				var w int
				fmt.Sscan(val, &w)
				rv.Weight = &w
			} else if ok && k == "storageUri" {
				rv.StorageURI = val
			}
		}
		return rv
	}
	for _, rel := range []*manifests.Release{
		{Strategy: manifests.StrategyReplace, Versions: []manifests.ReleasedVersion{pin(v1)}},
		{Strategy: manifests.StrategyCanary, Versions: []manifests.ReleasedVersion{pin(v1, "weight=90", "role=stable"), pin(v2, "weight=10", "role=canary")}},
		{Strategy: manifests.StrategyBlueGreen, Versions: []manifests.ReleasedVersion{pin(v2, "weight=100", "role=active"), pin(v1, "weight=0", "role=standby")}},
		{Strategy: manifests.StrategyAB, Match: "x-variant=b", Versions: []manifests.ReleasedVersion{pin(v1), pin(v2)}},
		{Strategy: manifests.StrategyReplace, Versions: []manifests.ReleasedVersion{pin(v1, "storageUri=oci://registry.example.com/ml/models@sha256:"+strings.Repeat("a", 64))}},
	} {
		rel.APIVersion, rel.Kind, rel.Model, rel.Environment = "modelgit.dev/v1alpha1", manifests.KindRelease, "fraud", "dev"
		b, err := manifests.Marshal(rel)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(bytes.Replace(b, []byte("environment: dev"), []byte("environment: prod"), 1))
		f.Add(bytes.Replace(b, []byte("model: fraud"), []byte("model: churn"), 1))
		f.Add(bytes.Replace(b, []byte(v1.Digest.String()), []byte(v2.Digest.String()), 1))
		f.Add(bytes.Replace(b, []byte("version: "+v1.Manifest.Version.String()), []byte("version: 9.9.9"), 1))
	}
	if b, err := os.ReadFile("../manifests/testdata/release.yaml"); err == nil {
		f.Add(b)
	} else {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		rel, refs, err := fx.reg.ValidRelease(rev, path, data)
		_, perr := manifests.ParseRelease(path, data)
		if err != nil {
			fes := manifests.AsFileErrors(err)
			if len(fes) == 0 {
				t.Fatalf("error is not a FileError: %T %v", err, err)
			}
			for _, fe := range fes {
				if fe.File != path || fe.Msg == "" {
					t.Fatalf("error does not name the file: %+v", fe)
				}
			}
			if perr != nil {
				if err.Error() != perr.Error() {
					t.Fatalf("ValidRelease and ParseRelease disagree:\n%v\n%v", err, perr)
				}
				return
			}
			// The decoder accepted it: the error is ValidRelease's own, and
			// names the field.
			if len(fes) != 1 || !validReleaseField.MatchString(fes[0].Field) {
				t.Fatalf("error names no field ValidRelease checks: %+v", fes)
			}
			return
		}
		if perr != nil {
			t.Fatalf("ValidRelease accepts what ParseRelease refuses: %v", perr)
		}
		if rel.Environment != "dev" || rel.Model != "fraud" || len(refs) != len(rel.Versions) {
			t.Fatalf("accepted %s/%s with %d refs for %d versions", rel.Environment, rel.Model, len(refs), len(rel.Versions))
		}
		for i, rv := range rel.Versions {
			if refs[i].Digest != rv.Digest || refs[i].Manifest.Version != rv.Version || refs[i].Path != manifests.VersionFile("fraud", rv.Version.String()) {
				t.Fatalf("versions[%d] %s %s resolved to %s %s", i, rv.Version, rv.Digest, refs[i].Path, refs[i].Digest)
			}
		}
		b1, err := manifests.Marshal(rel)
		if err != nil {
			t.Fatalf("Marshal of an accepted release: %v", err)
		}
		rel2, refs2, err := fx.reg.ValidRelease(rev, path, b1)
		if err != nil {
			t.Fatalf("the canonical form is refused: %v\n%s", err, b1)
		}
		b2, err := manifests.Marshal(rel2)
		if err != nil || !bytes.Equal(b1, b2) || len(refs2) != len(refs) {
			t.Fatalf("canonical form not stable (%v):\n%s\n---\n%s", err, b1, b2)
		}
	})
}

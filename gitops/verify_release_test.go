package gitops_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops/audit"
	"github.com/modelgit/modelgit/gitops/check"
	"github.com/modelgit/modelgit/gitops/register"
)

// A release file that render and status reject is reported by verify too,
// naming the file and the field: one validation (gitops.ValidRelease) for
// every command that reads releases.
func TestVerifyReleaseLikeRender(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	git(t, f.root, "remote", "add", "origin", "https://git.example.com/acme/models.git")
	opts := f.options(base)
	opts.Framework = "sklearn=1.5.2" // the KServe model format rendering needs
	res, err := register.Register(ctx, f.reg, opts)
	if err != nil {
		t.Fatal(err)
	}
	digest := res.Version.Digest.String()
	ver := res.Version.Manifest.Version.String()
	release := func(version, digest, extra string) string {
		return fmt.Sprintf("apiVersion: modelgit.dev/v1alpha1\nkind: Release\nmodel: fraud\nenvironment: dev\nstrategy: replace\nversions:\n  - version: %s\n    digest: %s\n%s", version, digest, extra)
	}
	const file = "environments/dev/fraud.yaml"
	for _, tc := range []struct {
		name, content, field, msg string
	}{
		{"valid", release(ver, digest, ""), "", ""},
		{"unregistered pin", release("7.7.7", digest, ""), "versions[0].version", "pins fraud@7.7.7, which is not registered"},
		{"wrong digest", release(ver, "sha256:"+strings.Repeat("0", 64), ""), "versions[0].digest", "pins fraud@" + ver + " with digest sha256:" + strings.Repeat("0", 64) + ", but its manifest hashes to " + digest},
		{"misplaced", strings.Replace(release(ver, digest, ""), "environment: dev", "environment: staging", 1), "environment", `"staging" does not match the directory`},
	} {
		writeFile(t, filepath.Join(f.root, file), tc.content)
		git(t, f.root, "add", file)
		gitCommit(t, f, true, "Release: "+tc.name)
		reg := f.reopen()
		rep, err := check.Verify(ctx, reg, check.VerifyOptions{Range: "HEAD^..HEAD"})
		if err != nil {
			t.Fatal(err)
		}
		_, renderErr := reg.Render()
		_, statusErr := audit.Status(reg)
		if tc.field == "" {
			if !rep.OK() || renderErr != nil || statusErr != nil {
				t.Fatalf("%s: verify %v, render %v, status %v; want all to accept it", tc.name, rep.Findings, renderErr, statusErr)
			}
			continue
		}
		want := fmt.Sprintf("%s: field %q: %s", file, tc.field, tc.msg)
		if len(rep.Findings) != 1 || rep.Findings[0].Check != "manifest" || rep.Findings[0].Path != file || !strings.Contains(rep.Findings[0].Message, want) {
			t.Errorf("%s: verify findings %v, want one manifest finding %q", tc.name, rep.Findings, want)
		}
		for what, err := range map[string]error{"render": renderErr, "status": statusErr} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %s: %v, want %q", tc.name, what, err, want)
			}
		}
	}
}

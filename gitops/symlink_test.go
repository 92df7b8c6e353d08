package gitops_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/check"
	"github.com/modelgit/modelgit/gitops/register"
)

// emptyDir fails the test when dir holds anything: what a symbolic link
// out of the repository pointed at must stay untouched.
func emptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("%s: %q was written through a symbolic link", dir, e.Name())
	}
}

// A clone with a committed models/evil -> /outside: register refuses,
// naming the link, before committing anything, and writes nothing
// outside; verify reports the commit that added the link.
func TestRegisterRefusesSymlink(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(f.root, "models", "evil")); err != nil {
		t.Fatal(err)
	}
	git(t, f.root, "add", "models/evil")
	link := gitCommit(t, f, true, "Add a link")
	opts := f.options(base)
	opts.Model = "evil"
	_, err := register.Register(ctx, f.reopen(), opts)
	mustContain(t, err, `models/evil is a symbolic link (to "`+outside+`")`, "does not follow symbolic links")
	emptyDir(t, outside)
	if f.head() != link {
		t.Errorf("register moved HEAD to %s though it refused", f.head())
	}

	rep, err := check.Verify(ctx, f.reg, check.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, fd := range rep.Findings {
		if fd.Check == "symlink" && fd.Commit == link && fd.Path == "models/evil" && strings.Contains(fd.Message, outside) {
			found = true
		}
	}
	if !found {
		t.Errorf("verify findings %v, want a symlink finding on %s for models/evil", rep.Findings, link[:7])
	}
}

// render writes rendered/ through the work tree's os.Root: a link there
// is refused, naming it, and nothing is written where it points.
func TestRenderRefusesSymlink(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	git(t, f.root, "remote", "add", "origin", "https://git.example.com/acme/models.git")
	opts := f.options(base)
	opts.Framework = "sklearn=1.5.2"
	res, err := register.Register(ctx, f.reg, opts)
	if err != nil {
		t.Fatal(err)
	}
	const file = "environments/dev/fraud.yaml"
	writeFile(t, filepath.Join(f.root, file), fmt.Sprintf("apiVersion: modelgit.dev/v1alpha1\nkind: Release\nmodel: fraud\nenvironment: dev\nstrategy: replace\nversions:\n  - version: %s\n    digest: %s\n", res.Version.Manifest.Version, res.Version.Digest))
	git(t, f.root, "add", file)
	gitCommit(t, f, true, "Release fraud in dev")
	outside := t.TempDir()
	if err := os.RemoveAll(filepath.Join(f.root, "rendered", "dev")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(f.root, "rendered"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(f.root, "rendered", "dev")); err != nil {
		t.Fatal(err)
	}
	_, err = f.reopen().WriteRendered()
	mustContain(t, err, `rendered/dev is a symbolic link (to "`+outside+`")`)
	emptyDir(t, outside)
}

// init neither reads nor writes through a link in a governed path, and a
// repository whose modelgit.yaml, or committed .modelgit, is a link is
// refused when opened.
func TestInitAndOpenRefuseSymlinks(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "gitops")
	git(t, filepath.Dir(dir), "init", "-q", dir)
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "policies")); err != nil {
		t.Fatal(err)
	}
	_, err := register.Init(ctx, dir, register.InitOptions{})
	mustContain(t, err, `policies is a symbolic link (to "`+outside+`")`)
	emptyDir(t, outside)

	f := newFixture(t)
	cfg := filepath.Join(f.root, "modelgit.yaml")
	real := filepath.Join(t.TempDir(), "modelgit.yaml")
	if err := os.Rename(cfg, real); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, cfg); err != nil {
		t.Fatal(err)
	}
	_, err = gitops.Open(f.root)
	mustContain(t, err, `modelgit.yaml is a symbolic link (to "`+real+`")`)
	if err := os.Remove(cfg); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(real, cfg); err != nil {
		t.Fatal(err)
	}

	state := filepath.Join(f.root, ".modelgit")
	if err := os.RemoveAll(state); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, state); err != nil {
		t.Fatal(err)
	}
	git(t, f.root, "add", "-f", ".modelgit")
	gitCommit(t, f, true, "Link the state")
	_, err = gitops.Open(f.root)
	mustContain(t, err, ".modelgit is a symbolic link committed in the repository")
	emptyDir(t, outside)
}

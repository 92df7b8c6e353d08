package gitops_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/modelgit/modelgit/gitops/register"
)

// TestFiveConcurrentRegisters runs five registers of the same model and
// weights at once, each its own process on the real repository: all
// succeed (they take turns on git's locks instead of failing with
// "index.lock exists … remove the file"), exactly one version is
// committed, and the work tree is clean (issue 14).
func TestFiveConcurrentRegisters(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	weights := filepath.Join(t.TempDir(), "model.safetensors")
	if err := os.WriteFile(weights, []byte(strings.Repeat("same weights\n", 1<<16)), 0o644); err != nil {
		t.Fatal(err)
	}
	before := f.head()
	outs := make([]string, 5)
	errs := make([]error, 5)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Go(func() {
			o, err := registerCmd(f.root, weights).CombinedOutput()
			outs[i], errs[i] = string(o), err
		})
	}
	wg.Wait()
	registered := 0
	for i := range outs {
		if errs[i] != nil {
			t.Errorf("register %d: %v\n%s", i, errs[i], outs[i])
		}
		// Warnings (waiting for a lock, the branch moved) may come first.
		if strings.HasPrefix(outs[i], "registered ") || strings.Contains(outs[i], "\nregistered ") {
			registered++
		}
	}
	// Two registers in the same second write the same manifest bytes:
	// the later finds the branch already holds its very commit and says
	// registered too. Either way exactly one commit is made (below).
	if registered == 0 {
		t.Errorf("no register said it registered:\n%s", strings.Join(outs, "\n"))
	}
	if got := git(t, f.root, "rev-parse", "HEAD^"); got != before {
		t.Errorf("HEAD^ = %s, want %s: not exactly one new commit", got, before)
	}
	if n := versionCount(t, f); n != 1 {
		t.Errorf("%d versions, want 1", n)
	}
	if st := git(t, f.root, "status", "--porcelain", "--untracked-files=all"); st != "" {
		t.Errorf("work tree not clean:\n%s", st)
	}
}

// TestRegisterAgainCompletesAStaleIndex: a register whose commit landed
// but whose index and work tree were not updated (a full disk after the
// branch moved: `D` and `??` for both files of a first version) is
// completed by running the same register again, model.yaml included.
func TestRegisterAgainCompletesAStaleIndex(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	o := f.options(base)
	if _, err := register.Register(ctx, f.reg, o); err != nil {
		t.Fatal(err)
	}
	head := f.head()
	git(t, f.root, "rm", "-q", "--cached", "-r", "models/fraud")
	if err := os.Remove(filepath.Join(f.root, "models", "fraud", "model.yaml")); err != nil {
		t.Fatal(err)
	}
	if st := git(t, f.root, "status", "--porcelain", "--untracked-files=all"); st == "" {
		t.Fatal("the index was not made stale")
	}
	res, err := register.Register(ctx, f.reopen(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Unchanged || f.head() != head {
		t.Errorf("re-run committed again (unchanged=%v)", res.Unchanged)
	}
	if st := git(t, f.root, "status", "--porcelain", "--untracked-files=all"); st != "" {
		t.Errorf("work tree not clean after the re-run:\n%s", st)
	}
}

// TestRegisterAgainKeepsAnEditedModelFile: the repair of a stale work tree
// never overwrites a model.yaml the user is editing.
func TestRegisterAgainKeepsAnEditedModelFile(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	o := f.options(base)
	if _, err := register.Register(ctx, f.reg, o); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(f.root, "models", "fraud", "model.yaml")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	edited := string(b) + "# an edit in progress\n"
	writeFile(t, p, edited)
	if _, err := register.Register(ctx, f.reopen(), o); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != edited {
		t.Errorf("model.yaml = %q, want the user's edit kept", b)
	}
}

package gitops_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/check"
	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/gitops/promote"
	"github.com/modelgit/modelgit/gitops/register"
	"github.com/modelgit/modelgit/gitops/repo"
	"github.com/modelgit/modelgit/manifests"
)

// TestPromoteConcurrentToOneEnvironment starts 20 promotions of different
// models to dev at once and checks that none is lost: each one ends with
// its own branch and pull request carrying exactly its release, and
// merging them all, re-running promote for any that conflicts with the
// merges before it, leaves main with all 20 releases and rendered/ in
// sync.
//
// The 20 promotions share one clone, each through its own gitops.Open (as
// 20 modelgit processes started in one checkout would). That is harsher
// than 20 CI jobs with a clone each: besides the pushes racing on the
// served repository, they share the object database, refs/remotes, the
// reflogs and the lock files of .git, which separate clones never do.
func TestPromoteConcurrentToOneEnvironment(t *testing.T) {
	p := newPromoteFixture(t)
	const n = 20
	models := make([]string, n)
	for i := range models {
		models[i] = fmt.Sprintf("m%02d", i)
		o := p.options(base)
		o.Model, o.Framework = models[i], "sklearn=1.5.2"
		if _, err := register.Register(ctx, p.reg, o); err != nil {
			t.Fatal(err)
		}
	}
	git(t, p.root, "push", "-q", "origin", "main")
	p.reopen()

	promoteIn := func(reg *gitops.Repository, model string) (*promote.PromoteResult, error) {
		return promote.Promote(ctx, reg, promote.PromoteOptions{
			Ref: model + "@0.1.0+data.1", Env: "dev",
			Identity: gitops.Identity{Signature: alice, Signer: p.signer},
			Forge:    p.forge, Remote: "origin",
		})
	}
	results := make([]*promote.PromoteResult, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, m := range models {
		reg, err := gitops.Open(p.root)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = promoteIn(reg, m)
		}()
	}
	close(start)
	wg.Wait()

	// Each either landed or reports a conflict that says to run it again.
	for i, err := range errs {
		if err == nil {
			continue
		}
		if !errors.Is(err, repo.ErrNonFastForward) && !errors.Is(err, repo.ErrRefMoved) {
			t.Fatalf("promoting %s: %v; want success or a conflict", models[i], err)
		}
		mustContain(t, err, "run the same command again")
		if results[i], err = promoteIn(p.reopen(), models[i]); err != nil {
			t.Fatalf("promoting %s again after a conflict: %v", models[i], err)
		}
	}
	prs := map[int]bool{}
	for i, res := range results {
		m := models[i]
		if res.PR == nil || !res.Created || prs[res.PR.Number] {
			t.Fatalf("%s: pull request %+v created=%v (seen before: %v)", m, res.PR, res.Created, res.PR != nil && prs[res.PR.Number])
		}
		prs[res.PR.Number] = true
		tip := git(t, p.fake.GitDir(), "rev-parse", "refs/heads/"+res.Branch)
		if tip != res.PR.HeadSHA || tip != res.Commit.String() {
			t.Errorf("%s: branch tip %s, PR head %s, commit %s: want one commit", m, tip, res.PR.HeadSHA, res.Commit)
		}
		files := strings.Fields(git(t, p.fake.GitDir(), "diff", "--name-only", "main..."+res.Branch))
		var releases []string
		for _, f := range files {
			if strings.HasPrefix(f, manifests.EnvironmentsDir+"/") {
				releases = append(releases, f)
			}
		}
		if want := manifests.ReleaseFile("dev", m); len(releases) != 1 || releases[0] != want {
			t.Errorf("%s: the branch changes the releases %v, want exactly %s", m, releases, want)
		}
		if !strings.Contains(strings.Join(files, " "), "rendered/dev/"+m+".yaml") {
			t.Errorf("%s: the branch does not render %s: %v", m, m, files)
		}
	}
	if got := len(p.fake.PullRequests()); got != n {
		t.Errorf("the fake has %d pull requests, want %d", got, n)
	}

	// Merge them one by one; a conflict with the merges before is resolved
	// by pulling main and promoting again.
	var conflicts int
	for i, res := range results {
		_, err := p.forge.Merge(ctx, res.PR.Number, res.PR.HeadSHA, "Merge promotion\n", forge.MergeMethodMerge)
		if errors.Is(err, forge.ErrNotMergeable) {
			conflicts++
			git(t, p.root, "pull", "-q", "--no-rebase", "origin", "main")
			again, err := promoteIn(p.reopen(), models[i])
			if err != nil {
				t.Fatalf("promoting %s again after a merge conflict: %v", models[i], err)
			}
			if again.PR.Number != res.PR.Number || again.Created {
				t.Errorf("%s: re-running opened pull request #%d, want #%d updated", models[i], again.PR.Number, res.PR.Number)
			}
			_, err = p.forge.Merge(ctx, again.PR.Number, again.PR.HeadSHA, "Merge promotion\n", forge.MergeMethodMerge)
			if err != nil {
				t.Fatalf("merging %s after promoting again: %v", models[i], err)
			}
		} else if err != nil {
			t.Fatalf("merging %s: %v", models[i], err)
		}
	}
	t.Logf("%d of %d merges conflicted and were resolved by promoting again", conflicts, n)
	git(t, p.root, "pull", "-q", "--no-rebase", "origin", "main")
	reg := p.reopen()
	for _, m := range models {
		rel, err := reg.Release("dev", m)
		if err != nil || rel == nil || rel.Versions[0].Version.String() != "0.1.0+data.1" {
			t.Errorf("main's release of %s in dev = %+v, %v", m, rel, err)
		}
	}
	stale, err := reg.StaleRendered()
	if err != nil || len(stale) != 0 {
		t.Errorf("render --check on main: %v, %v", stale, err)
	}
}

// TestPromoteAgainAfterBaseMoved: a pull request whose base moved on
// (another promotion to the environment was merged, changing the
// environment's rendered kustomization) conflicts; promoting again merges
// the new base into the branch in one signed commit, never a force push,
// and the same pull request then merges cleanly with rendered/ in sync.
func TestPromoteAgainAfterBaseMoved(t *testing.T) {
	p, first, second := twoPromotionsToDev(t)
	p.mergeAndPull(first.PR)
	_, err := p.forge.Merge(ctx, second.PR.Number, second.PR.HeadSHA, "Merge\n", forge.MergeMethodMerge)
	if !errors.Is(err, forge.ErrNotMergeable) {
		t.Fatalf("merging the second pull request over the first: %v, want ErrNotMergeable", err)
	}
	again, err := p.promote("scorer@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Created || again.PR.Number != second.PR.Number {
		t.Errorf("promoting again: PR #%d created=%v, want #%d updated", again.PR.Number, again.Created, second.PR.Number)
	}
	parents := strings.Fields(git(t, p.fake.GitDir(), "rev-list", "--parents", "-1", again.Branch))
	main := git(t, p.fake.GitDir(), "rev-parse", "main")
	if len(parents) != 3 || parents[1] != second.Commit.String() || parents[2] != main {
		t.Errorf("the branch tip's parents are %v, want the old tip %s and main %s", parents[1:], second.Commit, main)
	}
	git(t, p.root, "-c", "gpg.ssh.allowedSignersFile="+p.root+"/policies/allowed_signers", "verify-commit", again.Commit.String())
	if msg := git(t, p.fake.GitDir(), "log", "-1", "--format=%B", again.Branch); !strings.Contains(msg, "Model: scorer") {
		t.Errorf("the merge commit lacks the promotion trailers:\n%s", msg)
	}
	// Once more: nothing new.
	third, err := p.promote("scorer@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	if third.Commit != again.Commit {
		t.Errorf("third run made commit %s; want %s again", third.Commit, again.Commit)
	}
	p.mergeAndPull(again.PR)
	stale, err := p.reg.StaleRendered()
	if err != nil || len(stale) != 0 {
		t.Errorf("render --check: %v, %v", stale, err)
	}
	rep, err := check.Verify(ctx, p.reg, check.VerifyOptions{})
	if err != nil || !rep.OK() {
		t.Errorf("verify: %+v, %v", rep, err)
	}
}

// TestPromoteSameBranchFromTwoClones: two CI jobs, each in its own clone,
// promote the same version at once. Both build the same commit byte for
// byte (same parent, files, author, second and a deterministic ed25519
// signature), so whichever pushes second usually finds its commit already
// on the branch and its push changes nothing; when their seconds differ,
// its push is non-fast-forward and it re-applies its change on the new
// tip, where nothing is left to change. Either way both adopt the same
// pull request: one branch commit, one pull request, both runs succeed.
// The retry itself is exercised deterministically by
// TestPromoteRetriesWhenTheBranchMovesBeforePush.
func TestPromoteSameBranchFromTwoClones(t *testing.T) {
	p := newPromoteFixture(t)
	other := filepath.Join(t.TempDir(), "other")
	git(t, ".", "clone", "-q", p.fake.GitURL(), other)
	regs := []*gitops.Repository{p.reg, nil}
	var err error
	if regs[1], err = gitops.Open(other); err != nil {
		t.Fatal(err)
	}
	results := make([]*promote.PromoteResult, 2)
	errs := make([]error, 2)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, reg := range regs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = promote.Promote(ctx, reg, promote.PromoteOptions{
				Ref: "fraud@0.1.0+data.1", Env: "dev",
				Identity: gitops.Identity{Signature: alice, Signer: p.signer},
				Forge:    p.forge, Remote: "origin",
			})
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("clone %d: %v", i, err)
		}
	}
	tip := git(t, p.fake.GitDir(), "rev-parse", "refs/heads/"+results[0].Branch)
	for i, res := range results {
		if res.PR == nil || res.PR.Number != results[0].PR.Number || res.Commit.String() != tip {
			t.Errorf("clone %d: PR %+v commit %s; want the one PR and the branch tip %s", i, res.PR, res.Commit, tip)
		}
	}
	if n := git(t, p.fake.GitDir(), "rev-list", "--count", "main.."+results[0].Branch); n != "1" {
		t.Errorf("the branch has %s commits over main, want 1", n)
	}
	if n := len(p.fake.PullRequests()); n != 1 {
		t.Errorf("the fake has %d pull requests, want 1", n)
	}
}

// TestPromoteAgainRefusesToDropForeignCommits: someone pushed a commit of
// their own onto a promotion branch, then the base moved. Re-applying the
// promotion on the new base would make a merge whose tree drops their
// change, so promote refuses, says what to do, and changes nothing.
func TestPromoteAgainRefusesToDropForeignCommits(t *testing.T) {
	p, first, second := twoPromotionsToDev(t)
	other := filepath.Join(t.TempDir(), "reviewer")
	git(t, ".", "clone", "-q", "-b", second.Branch, p.fake.GitURL(), other)
	writeFile(t, filepath.Join(other, "docs", "review-notes.md"), "scorer: checked the dashboards\n")
	git(t, other, "add", "docs/review-notes.md")
	git(t, other, "-c", "user.name=Rita", "-c", "user.email=rita@example.com", "commit", "-q", "--no-gpg-sign", "-m", "review notes")
	git(t, other, "push", "-q", "origin", second.Branch)
	theirs := git(t, other, "rev-parse", "HEAD")
	p.mergeAndPull(first.PR) // the base moves on

	_, err := p.promote("scorer@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err == nil {
		t.Fatal("promoting again over a foreign commit after the base moved: no error")
	}
	for _, want := range []string{second.Branch, theirs[:12], `"review notes" by `, "git merge", "delete the branch"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if tip := git(t, p.fake.GitDir(), "rev-parse", "refs/heads/"+second.Branch); tip != theirs {
		t.Errorf("the branch moved to %s; want it left at their commit %s", tip, theirs)
	}
}

// twoPromotionsToDev registers a second model, scorer, beside fraud and
// opens two pull requests promoting each to dev, both from the same base.
func twoPromotionsToDev(t *testing.T) (p *promoteFixture, first, second *promote.PromoteResult) {
	t.Helper()
	p = newPromoteFixture(t)
	o := p.options(base)
	o.Model, o.Framework = "scorer", "sklearn=1.5.2"
	if _, err := register.Register(ctx, p.reg, o); err != nil {
		t.Fatal(err)
	}
	git(t, p.root, "push", "-q", "origin", "main")
	p.reopen()
	first, err := p.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	second, err = p.promote("scorer@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	return p, first, second
}

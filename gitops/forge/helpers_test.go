package forge_test

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-billy/v5/memfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/gitops/forge/githubfake"
	"github.com/modelgit/modelgit/gitops/forge/githubfake/githubfaketest"
)

const token = "ghp_secret123"

type env struct {
	t     *testing.T
	fake  *githubfake.Server
	forge forge.Forge
	ctx   context.Context
}

func newEnv(t *testing.T) *env {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("git is needed (apt-get install -y git): %v", err)
	}
	fake := githubfaketest.New(t, githubfake.Options{Owner: "acme", Repo: "models", Token: token})
	return &env{t: t, fake: fake, forge: newClient(t, fake, token), ctx: context.Background()}
}

func newClient(t *testing.T, fake *githubfake.Server, tok string) forge.Forge {
	t.Helper()
	f, err := forge.NewGitHub(forge.GitHubOptions{
		Repository:     fake.Repository(),
		Token:          tok,
		BaseURL:        fake.URL(),
		RetryBackoff:   time.Millisecond,
		RequestTimeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatalf("NewGitHub: %v", err)
	}
	return f
}

// noToken fails when err's text holds the token.
func noToken(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), token) {
		t.Errorf("error leaks the token: %v", err)
	}
}

// must fails the test on err (after checking it does not leak the token).
func must(t *testing.T, err error) {
	t.Helper()
	noToken(t, err)
	if err != nil {
		t.Fatal(err)
	}
}

// push commits files on branch (created from from when new) and pushes it
// over HTTP to the fake's git server; it returns the new head SHA.
func (e *env) push(branch, from string, files map[string]string, email string) string {
	e.t.Helper()
	auth := &githttp.BasicAuth{Username: "x-access-token", Password: token}
	r, err := git.Clone(memory.NewStorage(), memfs.New(), &git.CloneOptions{URL: e.fake.GitURL(), Auth: auth})
	if err != nil {
		e.t.Fatalf("cloning %s: %v", e.fake.GitURL(), err)
	}
	if err := r.Fetch(&git.FetchOptions{Auth: auth, RefSpecs: []config.RefSpec{"+refs/heads/*:refs/remotes/origin/*"}}); err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		e.t.Fatalf("fetching: %v", err)
	}
	start := "origin/" + from
	if _, err := r.Reference(plumbing.NewRemoteReferenceName("origin", branch), true); err == nil {
		start = "origin/" + branch
	}
	startRef, err := r.Reference(plumbing.ReferenceName("refs/remotes/"+start), true)
	if err != nil {
		e.t.Fatalf("resolving %s: %v", start, err)
	}
	wt, err := r.Worktree()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := wt.Checkout(&git.CheckoutOptions{Hash: startRef.Hash(), Branch: plumbing.NewBranchReferenceName(branch), Create: true, Force: true}); err != nil {
		e.t.Fatalf("checking out %s: %v", branch, err)
	}
	for name, content := range files {
		f, err := wt.Filesystem.Create(name)
		if err != nil {
			e.t.Fatal(err)
		}
		if _, err := f.Write([]byte(content)); err != nil {
			e.t.Fatal(err)
		}
		f.Close()
		if _, err := wt.Add(name); err != nil {
			e.t.Fatal(err)
		}
	}
	if email == "" {
		email = "dev@example.com"
	}
	sig := &object.Signature{Name: "Dev", Email: email, When: time.Now()}
	h, err := wt.Commit("change "+branch, &git.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		e.t.Fatalf("committing: %v", err)
	}
	spec := config.RefSpec("refs/heads/" + branch + ":refs/heads/" + branch)
	if err := r.Push(&git.PushOptions{Auth: auth, RefSpecs: []config.RefSpec{spec}}); err != nil {
		e.t.Fatalf("pushing %s: %v", branch, err)
	}
	return h.String()
}

// git runs real git on the served repository.
func (e *env) git(args ...string) string {
	e.t.Helper()
	out, err := exec.Command("git", append([]string{"-C", e.fake.GitDir()}, args...)...).CombinedOutput()
	if err != nil {
		e.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commitOn adds n commits by email on branch (created from main when
// new) straight into the served repository, as a push would but without
// a clone per commit, and returns the new tip.
func (e *env) commitOn(branch string, n int, email string) string {
	e.t.Helper()
	r, err := git.PlainOpen(e.fake.GitDir())
	if err != nil {
		e.t.Fatal(err)
	}
	ref, err := r.Reference(plumbing.NewBranchReferenceName(branch), true)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		ref, err = r.Reference(plumbing.NewBranchReferenceName("main"), true)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	parent, err := r.CommitObject(ref.Hash())
	if err != nil {
		e.t.Fatal(err)
	}
	tip := parent.Hash
	for i := range n {
		sig := object.Signature{Name: "Dev", Email: email, When: time.Unix(1700000000+int64(i), 0)}
		c := &object.Commit{Author: sig, Committer: sig, Message: "change\n", TreeHash: parent.TreeHash, ParentHashes: []plumbing.Hash{tip}}
		obj := r.Storer.NewEncodedObject()
		if err := c.Encode(obj); err != nil {
			e.t.Fatal(err)
		}
		if tip, err = r.Storer.SetEncodedObject(obj); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := r.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(branch), tip)); err != nil {
		e.t.Fatal(err)
	}
	return tip.String()
}

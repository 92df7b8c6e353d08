package repo

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

func newRepo(t *testing.T) *Repo {
	t.Helper()
	isolate(t)
	r, err := Init(filepath.Join(t.TempDir(), "gitops"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func commit(t *testing.T, r *Repo, msg string, files ...File) plumbing.Hash {
	t.Helper()
	h, err := r.Commit(context.Background(), CommitRequest{Files: files, Message: msg, Author: testWho})
	if err != nil {
		t.Fatalf("Commit(%q): %v", msg, err)
	}
	return h
}

func TestOpenNotRepository(t *testing.T) {
	isolate(t)
	_, err := Open(t.TempDir())
	if !errors.Is(err, ErrNotRepository) {
		t.Fatalf("Open(non-repo) = %v, want ErrNotRepository", err)
	}
	if !strings.Contains(err.Error(), "is not a git repository (run `git init` or `modelgit init`)") {
		t.Errorf("message %q does not say what to do", err)
	}
}

func TestOpenFindsRootUpward(t *testing.T) {
	r := newRepo(t)
	sub := filepath.Join(r.Root, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	o, err := Open(sub)
	if err != nil {
		t.Fatal(err)
	}
	if o.Root != r.Root {
		t.Errorf("Root = %q, want %q", o.Root, r.Root)
	}
	h, branch, err := o.Head()
	if err != nil || !h.IsZero() || branch != "main" {
		t.Errorf("Head() = %s, %q, %v; want zero, main, nil", h, branch, err)
	}
}

func TestCommitWritesTreeWorktreeAndIndex(t *testing.T) {
	r := newRepo(t)
	h1 := commit(t, r, "first", File{Path: "models/a/model.yaml", Content: []byte("name: a\n")}, File{Path: "README.md", Content: []byte("hi\n")})
	h2 := commit(t, r, "second",
		File{Path: "models/a/versions/1.0.0.yaml", Content: []byte("version: 1.0.0\n")},
		File{Path: "bin/run.sh", Content: []byte("#!/bin/sh\n"), Mode: filemode.Executable},
		File{Path: "README.md", Delete: true})

	if got := run(t, r.Root, "rev-parse", "HEAD"); got != h2.String() {
		t.Errorf("HEAD = %s, want %s", got, h2)
	}
	if got := run(t, r.Root, "rev-parse", "HEAD^"); got != h1.String() {
		t.Errorf("HEAD^ = %s, want %s", got, h1)
	}
	if out, err := runErr(r.Root, "", "fsck", "--strict", "--no-dangling"); err != nil || out != "" {
		t.Errorf("git fsck: %v\n%s", err, out)
	}
	if got := run(t, r.Root, "status", "--porcelain"); got != "" {
		t.Errorf("git status --porcelain = %q, want clean", got)
	}
	if got := run(t, r.Root, "ls-tree", "-r", "--name-only", "HEAD"); got != "bin/run.sh\nmodels/a/model.yaml\nmodels/a/versions/1.0.0.yaml" {
		t.Errorf("ls-tree = %q", got)
	}
	if got := run(t, r.Root, "ls-files", "-s", "bin/run.sh"); !strings.HasPrefix(got, "100755 ") {
		t.Errorf("ls-files bin/run.sh = %q, want mode 100755", got)
	}
	if got := run(t, r.Root, "log", "-1", "--format=%an <%ae> %at%n%s"); got != "Model Bot <bot@example.com> 1700000000\nsecond" {
		t.Errorf("log = %q", got)
	}
	if _, err := os.Stat(filepath.Join(r.Root, "README.md")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("README.md still in worktree: %v", err)
	}
	b, err := r.ReadFile(h2, "models/a/versions/1.0.0.yaml")
	if err != nil || string(b) != "version: 1.0.0\n" {
		t.Errorf("ReadFile = %q, %v", b, err)
	}
	if _, err := r.ReadFile(h2, "README.md"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile(deleted) = %v, want fs.ErrNotExist", err)
	}
	names, err := r.ListDir(h2, "models/a")
	if err != nil || !slices.Equal(names, []string{"model.yaml", "versions"}) {
		t.Errorf("ListDir = %v, %v", names, err)
	}
	if _, err := r.ListDir(h1, "models/a/versions"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ListDir(missing) = %v, want fs.ErrNotExist", err)
	}
	if got := run(t, r.Root, "reflog", "-1", "--format=%gs"); got != "commit: second" {
		t.Errorf("reflog = %q", got)
	}
}

func TestCommitDeleteLastFileOfDirectory(t *testing.T) {
	r := newRepo(t)
	commit(t, r, "one", File{Path: "a/b/c.txt", Content: []byte("c")}, File{Path: "keep", Content: []byte("k")})
	commit(t, r, "two", File{Path: "a/b/c.txt", Delete: true})
	if got := run(t, r.Root, "ls-tree", "-r", "-t", "--name-only", "HEAD"); got != "keep" {
		t.Errorf("ls-tree = %q, want only keep (no empty trees)", got)
	}
	if out, err := runErr(r.Root, "", "fsck", "--strict"); err != nil {
		t.Errorf("git fsck: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(r.Root, "a")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("empty directory a left behind: %v", err)
	}
}

func TestCommitKeepsUnrelatedStagedChanges(t *testing.T) {
	r := newRepo(t)
	commit(t, r, "base", File{Path: "models/a/model.yaml", Content: []byte("a\n")}, File{Path: "notes.txt", Content: []byte("old\n")})
	if err := os.WriteFile(filepath.Join(r.Root, "notes.txt"), []byte("staged\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.Root, "new.txt"), []byte("new\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, r.Root, "add", "notes.txt", "new.txt")
	if err := os.WriteFile(filepath.Join(r.Root, "notes.txt"), []byte("unstaged\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	commit(t, r, "ours", File{Path: "models/a/versions/1.yaml", Content: []byte("v1\n")})

	if got := run(t, r.Root, "show", "--name-only", "--format=", "HEAD"); got != "models/a/versions/1.yaml" {
		t.Errorf("commit touched %q, want only models/a/versions/1.yaml", got)
	}
	if got := run(t, r.Root, "diff", "--cached", "--name-only"); got != "new.txt\nnotes.txt" {
		t.Errorf("staged after commit = %q, want new.txt and notes.txt still staged", got)
	}
	if got := run(t, r.Root, "show", ":notes.txt"); got != "staged" {
		t.Errorf("staged notes.txt = %q", got)
	}
	if got := run(t, r.Root, "status", "--porcelain", "--", "models"); got != "" {
		t.Errorf("status of committed paths = %q, want clean", got)
	}
	dirty, err := r.Dirty([]string{"models"})
	if err != nil || len(dirty) != 0 {
		t.Errorf("Dirty(models) = %v, %v; want none", dirty, err)
	}
	dirty, err = r.Dirty(nil)
	if err != nil || !slices.Equal(dirty, []string{"new.txt", "notes.txt"}) {
		t.Errorf("Dirty(nil) = %v, %v", dirty, err)
	}
}

func TestCommitCompareAndSwap(t *testing.T) {
	r := newRepo(t)
	base := commit(t, r, "base", File{Path: "x", Content: []byte("1")})
	moved := commit(t, r, "someone else", File{Path: "y", Content: []byte("2")})

	req := CommitRequest{Files: []File{{Path: "z", Content: []byte("3")}}, Message: "ours", Author: testWho, ExpectedParent: base}
	_, err := r.Commit(context.Background(), req)
	if !errors.Is(err, ErrRefMoved) {
		t.Fatalf("Commit with stale parent = %v, want ErrRefMoved", err)
	}
	var rm *RefMovedError
	if !errors.As(err, &rm) || rm.Actual != moved || rm.Expected != base || rm.Ref != "refs/heads/main" {
		t.Errorf("RefMovedError = %+v", rm)
	}
	if got := run(t, r.Root, "rev-parse", "HEAD"); got != moved.String() {
		t.Errorf("HEAD moved to %s", got)
	}

	// A re-run of a commit that already landed converges on it.
	req.ExpectedParent = moved
	h, err := r.Commit(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := r.Commit(context.Background(), req)
	if err != nil || again != h {
		t.Errorf("re-run = %s, %v; want %s", again, err, h)
	}
	req.ExpectedParent = plumbing.ZeroHash
	again, err = r.Commit(context.Background(), req)
	if err != nil || again != h {
		t.Errorf("re-run without parent = %s, %v; want %s (nothing to change)", again, err, h)
	}
}

func TestCommitRefLockHeld(t *testing.T) {
	r := newRepo(t)
	commit(t, r, "base", File{Path: "x", Content: []byte("1")})
	lock := filepath.Join(r.Root, ".git", "refs", "heads", "main.lock")
	if err := os.WriteFile(lock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := r.Commit(context.Background(), CommitRequest{Files: []File{{Path: "y", Content: []byte("2")}}, Message: "m", Author: testWho})
	if err == nil || !strings.Contains(err.Error(), "main.lock") {
		t.Fatalf("Commit with held lock = %v, want an error naming main.lock", err)
	}
	if _, err := os.Stat(lock); err != nil {
		t.Errorf("someone else's lock was removed: %v", err)
	}
	if out, err := runErr(r.Root, "", "fsck", "--strict"); err != nil {
		t.Errorf("git fsck: %v\n%s", err, out)
	}
}

func TestCommitOtherBranchLeavesWorktreeAlone(t *testing.T) {
	r := newRepo(t)
	base := commit(t, r, "base", File{Path: "environments/dev/a.yaml", Content: []byte("v1\n")})
	h, err := r.Commit(context.Background(), CommitRequest{
		Files:          []File{{Path: "environments/dev/a.yaml", Content: []byte("v2\n")}},
		Message:        "promote",
		Author:         testWho,
		Branch:         "modelgit/promote/dev/a-2",
		ExpectedParent: base,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := run(t, r.Root, "rev-parse", "modelgit/promote/dev/a-2^"); got != base.String() {
		t.Errorf("branch parent = %s, want %s", got, base)
	}
	if got := run(t, r.Root, "rev-parse", "HEAD"); got != base.String() {
		t.Errorf("HEAD moved to %s", got)
	}
	b, _ := os.ReadFile(filepath.Join(r.Root, "environments/dev/a.yaml"))
	if string(b) != "v1\n" {
		t.Errorf("worktree file = %q, want untouched v1", b)
	}
	if got := run(t, r.Root, "status", "--porcelain"); got != "" {
		t.Errorf("status = %q, want clean", got)
	}
	// Creating the same branch again from base fails: it exists elsewhere.
	_, err = r.Commit(context.Background(), CommitRequest{
		Files: []File{{Path: "x", Content: []byte("x")}}, Message: "m", Author: testWho,
		Branch: "modelgit/promote/dev/a-2", ExpectedParent: base,
	})
	if !errors.Is(err, ErrRefMoved) {
		t.Errorf("second create = %v, want ErrRefMoved", err)
	}
	_ = h
}

func TestCommitRejectsBadPaths(t *testing.T) {
	r := newRepo(t)
	for _, p := range []string{"", "/abs", "a/../b", ".git/config", "a//b", "./a", "a/"} {
		_, err := r.Commit(context.Background(), CommitRequest{Files: []File{{Path: p, Content: []byte("x")}}, Message: "m", Author: testWho})
		if err == nil || !strings.Contains(err.Error(), "committing file") {
			t.Errorf("path %q: err = %v, want invalid path error", p, err)
		}
	}
}

func TestLogFollowsPrefixes(t *testing.T) {
	r := newRepo(t)
	var want []plumbing.Hash
	for i, p := range []string{"models/a/x", "models/b/x", "models/a/y", "other", "models/ab/z"} {
		w := testWho
		w.When = w.When.Add(timeSec(i))
		h, err := r.Commit(context.Background(), CommitRequest{Files: []File{{Path: p, Content: []byte(p)}}, Message: p, Author: w})
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(p, "models/a/") {
			want = append([]plumbing.Hash{h}, want...)
		}
	}
	var got []plumbing.Hash
	err := r.Log(plumbing.ZeroHash, []string{"models/a"}, func(c *object.Commit) error {
		got = append(got, c.Hash)
		return nil
	})
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("Log = %v, %v; want %v", got, err, want)
	}
	gitLog := run(t, r.Root, "log", "--format=%H", "--", "models/a")
	var gotStr []string
	for _, h := range got {
		gotStr = append(gotStr, h.String())
	}
	if strings.Join(gotStr, "\n") != gitLog {
		t.Errorf("Log disagrees with git log:\n%s\nvs\n%s", strings.Join(gotStr, "\n"), gitLog)
	}
	n := 0
	if err := r.Log(plumbing.ZeroHash, nil, func(*object.Commit) error { n++; return nil }); err != nil || n != 5 {
		t.Errorf("Log(all) visited %d, %v; want 5", n, err)
	}
}

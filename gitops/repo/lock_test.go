package repo

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestCommitWaitsForAnotherProcesssLock: a lock another process holds on
// the index or the branch is waited for (OnWait hears of it), not an
// error; the commit lands once it is released (issue 14: concurrent
// registers failed with "index.lock exists … remove the file").
func TestCommitWaitsForAnotherProcesssLock(t *testing.T) {
	for _, lock := range []string{"index.lock", "refs/heads/main.lock"} {
		t.Run(lock, func(t *testing.T) {
			r := newRepo(t)
			commit(t, r, "base", File{Path: "a.txt", Content: []byte("a\n")})
			p := filepath.Join(r.Root, ".git", filepath.FromSlash(lock))
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			var told []string
			h, err := r.Commit(context.Background(), CommitRequest{
				Files:   []File{{Path: "b.txt", Content: []byte("b\n")}},
				Message: "b", Author: testWho,
				// The other process finishes as soon as we wait for it.
				OnWait: func(msg string) { told = append(told, msg); os.Remove(p) },
			})
			if err != nil {
				t.Fatalf("Commit with %s held: %v", lock, err)
			}
			if len(told) != 1 || !strings.Contains(told[0], p) || !strings.Contains(told[0], "another git or modelgit process") {
				t.Errorf("OnWait heard %q, want one message naming %s", told, p)
			}
			if got := run(t, r.Root, "rev-parse", "HEAD"); got != h.String() {
				t.Errorf("HEAD = %s, want %s", got, h)
			}
			if st := run(t, r.Root, "status", "--porcelain", "--untracked-files=all"); st != "" {
				t.Errorf("status = %q, want clean", st)
			}
		})
	}
}

// TestCommitStaleLockFailsNamingIt: a lock nobody releases fails the
// commit after the bounded wait, naming the file and saying what to do;
// a cancelled context stops the wait.
func TestCommitStaleLockFailsNamingIt(t *testing.T) {
	r := newRepo(t)
	base := commit(t, r, "base", File{Path: "a.txt", Content: []byte("a\n")})
	lock := filepath.Join(r.Root, ".git", "refs", "heads", "main.lock")
	if err := os.WriteFile(lock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	req := CommitRequest{Files: []File{{Path: "b.txt", Content: []byte("b\n")}}, Message: "b", Author: testWho}
	_, err := r.Commit(context.Background(), req)
	if err == nil || !strings.Contains(err.Error(), lock) || !strings.Contains(err.Error(), "remove the file") {
		t.Fatalf("Commit with a stale lock = %v, want an error naming %s", err, lock)
	}
	ctx, cancel := context.WithCancel(context.Background())
	req.OnWait = func(string) { cancel() }
	if _, err := r.Commit(ctx, req); !errors.Is(err, context.Canceled) {
		t.Fatalf("Commit cancelled while waiting = %v, want context.Canceled", err)
	}
	if got := run(t, r.Root, "rev-parse", "HEAD"); got != base.String() {
		t.Errorf("HEAD moved to %s", got)
	}
}

// TestCommitFailingAfterTheRefMovedSaysWhatToRun: when the work tree or
// index cannot be written after the branch moved (a full disk, simulated
// by failHook), the error says the commit is made and gives the exact
// command that completes the rest; running it leaves git status clean
// with the user's staged change still staged (issue 14).
func TestCommitFailingAfterTheRefMovedSaysWhatToRun(t *testing.T) {
	for _, step := range []string{"worktree-write", "index-write"} {
		t.Run(step, func(t *testing.T) {
			r := newRepo(t)
			commit(t, r, "base", File{Path: "models/a/model.yaml", Content: []byte("a\n")}, File{Path: "old.txt", Content: []byte("old\n")})
			if err := os.WriteFile(filepath.Join(r.Root, "staged.txt"), []byte("mine\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			run(t, r.Root, "add", "staged.txt")
			failHook = func(s string) error {
				if s == step {
					return syscall.ENOSPC
				}
				return nil
			}
			defer func() { failHook = nil }()
			h, err := r.Commit(context.Background(), CommitRequest{
				Files: []File{
					{Path: "models/a/versions/0.1.0 (x).yaml", Content: []byte("v1\n")},
					{Path: "old.txt", Delete: true},
				},
				Message: "register", Author: testWho,
			})
			failHook = nil
			var we *WorktreeError
			if !errors.As(err, &we) || !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("Commit = %v, want a *WorktreeError wrapping ENOSPC", err)
			}
			if got := run(t, r.Root, "rev-parse", "HEAD"); h.IsZero() || got != h.String() {
				t.Fatalf("HEAD = %s, Commit returned %s: the commit should be on the branch", got, h)
			}
			for _, want := range []string{"committed " + h.String()[:12] + " to main", "no space left on device", "The commit is complete", we.Fix()} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			// What the message says to run, run as a user would.
			sh := exec.Command("sh", "-c", we.Fix())
			sh.Dir = r.Root
			if out, err := sh.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", we.Fix(), err, out)
			}
			if st := run(t, r.Root, "status", "--porcelain", "--untracked-files=all"); st != "A  staged.txt" {
				t.Errorf("status after %q = %q, want only the user's staged file", we.Fix(), st)
			}
		})
	}
}

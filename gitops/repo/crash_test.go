package repo

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

const (
	crashStepEnv = "MODELGIT_TEST_CRASH_STEP"
	crashDirEnv  = "MODELGIT_TEST_CRASH_DIR"
	crashBaseEnv = "MODELGIT_TEST_CRASH_BASE"
)

func TestMain(m *testing.M) {
	if step := os.Getenv(crashStepEnv); step != "" {
		os.Exit(crashChild(step))
	}
	// A stale lock fails a commit after a short wait here, not 10 s, and
	// OnWait hears of any wait at once.
	lockTimeout, lockNotice = 300*time.Millisecond, 0
	os.Exit(m.Run())
}

// crashChild makes the commit of crashRequest and dies at step without
// running any deferred cleanup, as kill -9 would.
func crashChild(step string) int {
	crashHook = func(s string) {
		if s == step {
			os.Exit(77)
		}
	}
	r, err := Open(os.Getenv(crashDirEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if _, err := r.Commit(context.Background(), crashRequest(plumbing.NewHash(os.Getenv(crashBaseEnv)))); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func crashRequest(base plumbing.Hash) CommitRequest {
	return CommitRequest{
		Files: []File{
			{Path: "models/a/versions/2.yaml", Content: []byte("v2\n")},
			{Path: "environments/dev/a.yaml", Content: []byte("version: 2\n")},
			{Path: "old.txt", Delete: true},
		},
		Message:        "register a 2",
		Author:         testWho,
		ExpectedParent: base,
	}
}

func TestCommitSurvivesKillAtEveryStep(t *testing.T) {
	for _, step := range []string{"object-temp-written", "objects-written", "worktree-temp-written", "ref-locked", "ref-updated", "worktree-file-written", "index-locked"} {
		t.Run(step, func(t *testing.T) {
			r := newRepo(t)
			base := commit(t, r, "base", File{Path: "environments/dev/a.yaml", Content: []byte("version: 1\n")}, File{Path: "old.txt", Content: []byte("old\n")})

			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), crashStepEnv+"="+step, crashDirEnv+"="+r.Root, crashBaseEnv+"="+base.String())
			out, err := cmd.CombinedOutput()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 77 {
				t.Fatalf("child did not stop at %s: %v\n%s", step, err, out)
			}

			if out, err := runErr(r.Root, "", "fsck", "--strict", "--no-dangling"); err != nil {
				t.Fatalf("git fsck after kill at %s: %v\n%s", step, err, out)
			}
			head := run(t, r.Root, "rev-parse", "HEAD")
			if head != base.String() && run(t, r.Root, "rev-parse", "HEAD^") != base.String() {
				t.Fatalf("HEAD %s is neither the old commit nor its child", head)
			}
			// A stale lock is left exactly where git would leave one; its
			// owner (the user) removes it, as with git.
			locks, _ := filepath.Glob(filepath.Join(r.Root, ".git", "*.lock"))
			refLocks, _ := filepath.Glob(filepath.Join(r.Root, ".git", "refs", "heads", "*.lock"))
			locks = append(locks, refLocks...)
			if wantLock := step == "ref-locked" || step == "index-locked"; (len(locks) > 0) != wantLock {
				t.Errorf("locks after kill at %s: %v", step, locks)
			}
			if len(locks) > 0 {
				_, err := r.Commit(context.Background(), crashRequest(base))
				if err == nil || !strings.Contains(err.Error(), ".lock") {
					t.Errorf("re-run with stale lock = %v, want an error naming the lock", err)
				}
				for _, l := range locks {
					os.Remove(l)
				}
			}

			h, err := r.Commit(context.Background(), crashRequest(base))
			if err != nil {
				t.Fatalf("re-run after kill at %s: %v", step, err)
			}
			if got := run(t, r.Root, "rev-parse", "HEAD"); got != h.String() {
				t.Errorf("HEAD = %s, want %s", got, h)
			}
			if got := run(t, r.Root, "rev-parse", "HEAD^"); got != base.String() {
				t.Errorf("re-run did not converge: HEAD^ = %s, want %s", got, base)
			}
			if got := run(t, r.Root, "status", "--porcelain", "--untracked-files=all"); got != "" {
				t.Errorf("status after re-run = %q, want clean", got)
			}
			if out, err := runErr(r.Root, "", "fsck", "--strict", "--no-dangling"); err != nil {
				t.Errorf("git fsck: %v\n%s", err, out)
			}
		})
	}
}

package gitops_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/check"
	"github.com/modelgit/modelgit/gitops/register"
)

const (
	// killChildEnv makes the test binary act as `modelgit register big
	// --weights $killWeightsEnv` in the repository it names: it opens the
	// registry and resolves the identity and signing key from git config,
	// as the command does.
	killChildEnv   = "MODELGIT_TEST_REGISTER_CHILD"
	killWeightsEnv = "MODELGIT_TEST_REGISTER_WEIGHTS"
)

func registerChild() int {
	dir := os.Getenv(killChildEnv)
	reg, err := gitops.Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	id, err := gitops.ResolveIdentity(dir, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	res, err := register.Register(ctx, reg, register.RegisterOptions{
		Model:    "big",
		Weights:  os.Getenv(killWeightsEnv),
		Identity: id.Signature,
		Signer:   id.Signer,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if res.Unchanged {
		fmt.Println("unchanged", res.Version.Manifest.Version)
	} else {
		fmt.Println("registered", res.Version.Manifest.Version)
	}
	return 0
}

// TestRegisterSurvivesKill9 runs register on a 64 MiB weights file in a
// child process and kills it with SIGKILL after growing delays, until a
// run completes before the kill. After every kill the repository is
// consistent (git fsck, HEAD old or a complete signed child, every blob
// whole) and re-running register converges to exactly one new version.
func TestRegisterSurvivesKill9(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.t = t
	// A first version, so every run below is a second one.
	first := f.options(spec{weights: "small\n"})
	first.Model = "big"
	if _, err := register.Register(ctx, f.reg, first); err != nil {
		t.Fatal(err)
	}

	weights := make([]byte, 64<<20)
	for i := range weights {
		weights[i] = byte(i * 7)
	}
	in := t.TempDir()
	seen := map[string]int64{}
	checkBlobs(t, f.blobDir(), seen, false)
	// Delays double until a run completes before the kill; then two more
	// between the last kill and that completion aim at the end of the run
	// (storing done, committing), where the kills matter most.
	delays := []time.Duration{0, 40, 160, 320, 640, 1280, 2560, 5120}
	completed, refined := false, false
	var lastKill time.Duration
	for i := 0; i < len(delays); i++ {
		delay := delays[i] * time.Millisecond
		oldHead := f.head()
		oldVersions := versionCount(t, f)
		// New content, new inode: the stat cache cannot answer.
		binary.BigEndian.PutUint64(weights, uint64(i+1))
		wpath := filepath.Join(in, fmt.Sprintf("model-%d.safetensors", i))
		if err := os.WriteFile(wpath, weights, 0o644); err != nil {
			t.Fatal(err)
		}

		cmd := registerCmd(f.root, wpath)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		started := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		completed = err == nil
		if err != nil && !killed(err) {
			t.Fatalf("delay %v: register failed before the kill: %v\n%s", delay, err, out.String())
		}

		// The repository is consistent as the kill left it.
		if o, e, err := runErr(f.root, nil, "", "git", "fsck", "--no-dangling"); err != nil {
			t.Fatalf("delay %v: git fsck: %v\n%s%s", delay, err, o, e)
		}
		head := f.head()
		if head != oldHead {
			if parent := git(t, f.root, "rev-parse", head+"^"); parent != oldHead {
				t.Fatalf("delay %v: HEAD %s is neither the old commit nor its child", delay, head)
			}
			git(t, f.root, "verify-commit", head)
			if !strings.Contains(git(t, f.root, "ls-tree", "-r", "--name-only", head), "models/big/versions/") {
				t.Fatalf("delay %v: the new commit holds no version", delay)
			}
		}
		checkBlobs(t, f.blobDir(), seen, true)
		locks := removeStaleLocks(t, f.root, started)
		t.Logf("killed after %v: completed=%v committed=%v stale locks=%v", delay, completed, head != oldHead, locks)

		// Re-running converges to exactly one new version.
		rerun := registerCmd(f.root, wpath)
		o, err := rerun.CombinedOutput()
		if err != nil {
			t.Fatalf("delay %v: re-running register after the kill: %v\n%s", delay, err, o)
		}
		if head != oldHead && !strings.HasPrefix(string(o), "unchanged") {
			t.Fatalf("delay %v: the killed run had committed, yet the re-run registered again:\n%s", delay, o)
		}
		if got := git(t, f.root, "rev-parse", "HEAD^"); got != oldHead {
			t.Fatalf("delay %v: HEAD^ = %s, want %s: not exactly one new commit", delay, got, oldHead)
		}
		if got := versionCount(t, f); got != oldVersions+1 {
			t.Fatalf("delay %v: %d versions, want %d", delay, got, oldVersions+1)
		}
		if st := git(t, f.root, "status", "--porcelain", "--untracked-files=all"); st != "" {
			t.Fatalf("delay %v: work tree not clean after the re-run:\n%s", delay, st)
		}
		checkBlobs(t, f.blobDir(), seen, true)
		// Signatures of the new commit, immutability, every blob present.
		rep, err := check.Verify(ctx, f.reopen(), check.VerifyOptions{Range: oldHead + "..HEAD"})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() {
			t.Fatalf("delay %v: verify: %v", delay, rep.Findings)
		}
		os.Remove(wpath)
		switch {
		case !completed:
			lastKill = delays[i]
		case !refined:
			t.Logf("register completed before a kill after %v", delay)
			refined = true
			step := (delays[i] - lastKill) / 3
			delays = append(delays[:i+1], lastKill+step, lastKill+2*step)
		}
	}
	if !refined {
		t.Fatal("register never completed before the kill, even after the longest delay")
	}
	// Every blob re-hashed once at the end: each was checked with
	// sha256sum as it appeared, so doing it after every kill would only
	// repeat that work.
	rep, err := check.Verify(ctx, f.reopen(), check.VerifyOptions{Deep: true})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Versions < 3 {
		t.Fatalf("verify --deep: %d versions, findings %v", rep.Versions, rep.Findings)
	}
}

func registerCmd(root, weights string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	// GORACE: under -race the runtime otherwise sleeps 1 s at exit.
	cmd.Env = append(os.Environ(), killChildEnv+"="+root, killWeightsEnv+"="+weights, "GORACE=atexit_sleep_ms=0")
	return cmd
}

func killed(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

func versionCount(t *testing.T, f *fixture) int {
	t.Helper()
	vs, err := f.reopen().Versions("big")
	if err != nil {
		t.Fatal(err)
	}
	return len(vs)
}

// removeStaleLocks removes the lock files a killed register left in .git,
// as a user would after checking that no git process runs: like git,
// modelgit never breaks another process's lock by itself, so a kill while a
// ref or the index is locked leaves the lock behind and the next run fails
// naming it. Only locks created since the killed process started are
// removed, so nothing else's lock is touched.
func removeStaleLocks(t *testing.T, root string, started time.Time) (removed []string) {
	t.Helper()
	gitDir := filepath.Join(root, ".git")
	err := filepath.WalkDir(gitDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".lock") {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.ModTime().Before(started.Add(-time.Second)) {
			t.Fatalf("%s predates the killed process", p)
		}
		removed = append(removed, p)
		return os.Remove(p)
	})
	if err != nil {
		t.Fatal(err)
	}
	return removed
}

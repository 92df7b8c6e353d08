package app

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildModelgit builds the real modelgit binary (not this test binary)
// into a temp directory and returns its path.
func buildModelgit(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "modelgit")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/modelgit/modelgit/cmd/modelgit")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// signalRepo makes a registry initialised by bin, with a signing key, and
// returns its root and the environment to run bin in.
func signalRepo(t *testing.T, bin string) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GORACE=atexit_sleep_ms=0", "NO_COLOR=1")
	run := func(dir, name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	key := filepath.Join(dir, "key")
	run(dir, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test@example.com", "-f", key)
	root := filepath.Join(dir, "registry")
	run(dir, "git", "init", "-q", "-b", "main", root)
	for _, kv := range [][2]string{{"user.name", "Test User"}, {"user.email", "test@example.com"}, {"gpg.format", "ssh"}, {"user.signingkey", key}} {
		run(root, "git", "config", kv[0], kv[1])
	}
	run(root, bin, "init")
	return root, env
}

func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).Output()
	if err != nil {
		t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

// TestRegisterInterruptedLeavesNothing sends SIGINT, then (in a second
// run) SIGTERM, to the real binary while it stores a large weights file:
// it exits with 130, having committed nothing, and leaves no blob, no temp
// file and no lock behind (issue 14).
func TestRegisterInterruptedLeavesNothing(t *testing.T) {
	bin := buildModelgit(t)
	root, env := signalRepo(t, bin)
	head := gitOut(t, root, "rev-parse", "HEAD")
	status := gitOut(t, root, "status", "--porcelain", "--untracked-files=all")

	// A sparse file: 4 GiB to store, none of it on disk.
	weights := filepath.Join(t.TempDir(), "model.bin")
	f, err := os.Create(weights)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(4 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	blobs := filepath.Join(root, ".modelgit", "store", "blobs", "sha256")

	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(bin, "register", "big", "--weights", weights)
			cmd.Dir, cmd.Env = root, env
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			// Signal once the blob's temp file exists: register is copying.
			var err error
		wait:
			for {
				select {
				case err = <-done:
					t.Fatalf("register ended before the signal: %v\n%s", err, out.String())
				default:
				}
				if ents, _ := os.ReadDir(blobs); len(ents) > 0 {
					break wait
				}
				time.Sleep(2 * time.Millisecond)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case err = <-done:
			case <-time.After(2 * time.Minute): // a guard against hanging, not a timing assertion
				_ = cmd.Process.Kill()
				t.Fatalf("register did not stop after %s:\n%s", sig, out.String())
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != int(ExitCancel) {
				t.Fatalf("register after %s: %v, want exit %d\n%s", sig, err, ExitCancel, out.String())
			}
			if got := gitOut(t, root, "rev-parse", "HEAD"); got != head {
				t.Errorf("HEAD moved to %s", got)
			}
			if got := gitOut(t, root, "status", "--porcelain", "--untracked-files=all"); got != status {
				t.Errorf("git status changed: %q → %q", status, got)
			}
			if ents, _ := os.ReadDir(blobs); len(ents) > 0 {
				t.Errorf("the store holds %d files after the interrupted register (%s), want none", len(ents), ents[0].Name())
			}
			var left []string
			_ = filepath.WalkDir(filepath.Join(root, ".git"), func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".lock") || strings.Contains(p, filepath.Join("modelgit", "tmp"))) {
					left = append(left, p)
				}
				return nil
			})
			if len(left) > 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}

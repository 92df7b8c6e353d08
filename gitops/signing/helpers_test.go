package signing_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/modelgit/modelgit/gitops/repo"
	"github.com/modelgit/modelgit/gitops/signing"
)

// isolate points HOME at a temp dir and keeps git away from the machine's
// config, for this process and the git subprocesses it runs.
func isolate(t *testing.T) string {
	t.Helper()
	need(t, "git", "apt-get install -y git")
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("GIT_CONFIG_GLOBAL", "")
	os.Unsetenv("GIT_CONFIG_GLOBAL")
	t.Setenv("SSH_AUTH_SOCK", "")
	t.Setenv("GIT_AUTHOR_NAME", "Test")
	t.Setenv("GIT_AUTHOR_EMAIL", "test@example.com")
	t.Setenv("GIT_COMMITTER_NAME", "Test")
	t.Setenv("GIT_COMMITTER_EMAIL", "test@example.com")
	return home
}

func need(t *testing.T, tool, install string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Fatalf("%s is required: %s", tool, install)
	}
}

func runIn(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	out, err := runErr(dir, env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func runErr(dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

var who = object.Signature{Name: "Alice", Email: "alice@example.com", When: time.Unix(1700000000, 0).UTC()}

func newRepo(t *testing.T) *repo.Repo {
	t.Helper()
	r, err := repo.Init(filepath.Join(t.TempDir(), "gitops"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func signedCommit(t *testing.T, r *repo.Repo, s signing.Signer, msg string) *object.Commit {
	t.Helper()
	h, err := r.Commit(context.Background(), repo.CommitRequest{
		Files:   []repo.File{{Path: "models/a/" + strings.ReplaceAll(msg, " ", "-") + ".yaml", Content: []byte(msg + "\n")}},
		Message: msg, Author: who, Signer: s,
	})
	if err != nil {
		t.Fatal(err)
	}
	return commitObject(t, r, h)
}

func commitObject(t *testing.T, r *repo.Repo, h plumbing.Hash) *object.Commit {
	t.Helper()
	c, err := r.CommitObject(h)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func headCommit(t *testing.T, r *repo.Repo) *object.Commit {
	t.Helper()
	h, _, err := r.Head()
	if err != nil {
		t.Fatal(err)
	}
	return commitObject(t, r, h)
}

func writeFile(t *testing.T, p, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

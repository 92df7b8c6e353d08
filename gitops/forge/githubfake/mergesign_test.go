package githubfake_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/modelgit/modelgit/gitops/forge/githubfake"
)

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=A", "GIT_AUTHOR_EMAIL=a@example.com", "GIT_COMMITTER_NAME=A", "GIT_COMMITTER_EMAIL=a@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestMergeCommitsAreSigned: like GitHub's web-flow merges, the fake's
// merge commits are signed with a key of its own, which MergeKey and
// /web-flow.pub expose; real git verifies the merge against an
// allowed_signers file holding that key, so Flux's verify mode HEAD can
// follow a branch the fake merges into.
func TestMergeCommitsAreSigned(t *testing.T) {
	s := githubfake.New(t, githubfake.Options{Owner: "o", Repo: "r"})
	ctx := context.Background()
	c := client(t, s, "")

	key := s.MergeKey()
	if !strings.HasPrefix(key, "ssh-ed25519 ") {
		t.Fatalf("MergeKey = %q, want an ssh-ed25519 authorized key", key)
	}
	resp, err := http.Get(strings.TrimSuffix(s.URL(), "/api/v3/") + "/web-flow.pub")
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(served) != key {
		t.Errorf("/web-flow.pub = %q, want MergeKey %q", served, key)
	}

	work := t.TempDir()
	git(t, work, "clone", "-q", s.GitURL(), ".")
	git(t, work, "switch", "-q", "-c", "feature")
	if err := os.WriteFile(filepath.Join(work, "f.txt"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, work, "add", "f.txt")
	git(t, work, "commit", "-q", "-m", "feature")
	git(t, work, "push", "-q", "origin", "feature")
	pr, _, err := c.PullRequests.Create(ctx, "o", "r", &github.NewPullRequest{Title: github.String("t"), Head: github.String("feature"), Base: github.String("main")})
	if err != nil {
		t.Fatal(err)
	}
	res, _, err := c.PullRequests.Merge(ctx, "o", "r", pr.GetNumber(), "", &github.PullRequestOptions{MergeMethod: "merge"})
	if err != nil {
		t.Fatal(err)
	}
	git(t, work, "fetch", "-q", "origin", "main")
	signers := filepath.Join(t.TempDir(), "allowed_signers")
	if err := os.WriteFile(signers, []byte("noreply@github.com "+key), 0o644); err != nil {
		t.Fatal(err)
	}
	out := git(t, work, "-c", "gpg.ssh.allowedSignersFile="+signers, "verify-commit", "-v", res.GetSHA())
	if !strings.Contains(out, `Good "git" signature for noreply@github.com`) {
		t.Errorf("git verify-commit of the merge:\n%s", out)
	}
	other := githubfake.New(t, githubfake.Options{})
	if other.MergeKey() == key {
		t.Errorf("two servers share a merge key")
	}
}

package githubfake_test

import (
	"context"
	"errors"
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/modelgit/modelgit/gitops/forge/githubfake"
)

func client(t *testing.T, s *githubfake.Server, token string) *github.Client {
	t.Helper()
	c, err := github.NewClient(nil).WithAuthToken(token).WithEnterpriseURLs(s.URL(), s.URL())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGitHubSemantics(t *testing.T) {
	s := githubfake.New(t, githubfake.Options{Owner: "o", Repo: "r", Token: "tok"})
	ctx := context.Background()
	c := client(t, s, "tok")

	_, resp, err := c.PullRequests.List(ctx, "o", "r", nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Rate.Limit != 5000 || resp.Rate.Remaining == 0 || resp.Rate.Reset.IsZero() {
		t.Fatalf("rate headers = %+v", resp.Rate)
	}
	var er *github.ErrorResponse
	if _, _, err := client(t, s, "wrong").PullRequests.List(ctx, "o", "r", nil); !errors.As(err, &er) || er.Response.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong token: %v, want 401", err)
	}
	if _, _, err := c.PullRequests.Get(ctx, "other", "r", 1); !errors.As(err, &er) || er.Response.StatusCode != http.StatusNotFound {
		t.Fatalf("other repo: %v, want 404", err)
	}
	if _, _, err := c.Teams.GetTeamMembershipBySlug(ctx, "o", "t", "u"); !errors.As(err, &er) || er.Response.StatusCode != http.StatusNotFound {
		t.Fatalf("non-member: %v, want 404", err)
	}
	s.AddTeamMember("o", "t", "u")
	if m, _, err := c.Teams.GetTeamMembershipBySlug(ctx, "o", "t", "U"); err != nil || m.GetState() != "active" {
		t.Fatalf("member: %v %v", m, err)
	}

	main, _, err := c.Repositories.GetCombinedStatus(ctx, "o", "r", "main", nil)
	if err != nil || main.GetState() != "pending" {
		t.Fatalf("combined status without statuses: %v %v", main, err)
	}
	for _, st := range []string{"failure", "success"} {
		if _, _, err := c.Repositories.CreateStatus(ctx, "o", "r", main.GetSHA(), &github.RepoStatus{State: github.String(st), Context: github.String("ci")}); err != nil {
			t.Fatal(err)
		}
	}
	combined, _, err := c.Repositories.GetCombinedStatus(ctx, "o", "r", "main", nil)
	if err != nil || combined.GetState() != "success" || combined.GetTotalCount() != 1 {
		t.Fatalf("combined = %+v, %v; want success from the latest status", combined, err)
	}
}

func TestServeExistingBareRepository(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "models.git")
	if out, err := exec.Command("git", "init", "--bare", "-b", "main", dir).CombinedOutput(); err != nil {
		t.Fatalf("git init (apt-get install -y git): %v\n%s", err, out)
	}
	s := githubfake.New(t, githubfake.Options{GitDir: dir})
	if s.GitDir() != dir || s.GitURL() == "" {
		t.Fatalf("GitDir %q GitURL %q", s.GitDir(), s.GitURL())
	}
	if _, err := githubfake.Start(githubfake.Options{GitDir: t.TempDir()}); err == nil {
		t.Fatal("a directory that is not a bare repository was accepted")
	}
}

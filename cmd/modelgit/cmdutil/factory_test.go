package cmdutil

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"

	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/modelgit/modelgit/gitops/forge/githubfake"
	"github.com/modelgit/modelgit/gitops/forge/githubfake/githubfaketest"
	"github.com/modelgit/modelgit/manifests"
)

// gitInit makes a real git repository in a temp directory with the given
// remotes (name → URL) and returns its path.
func gitInit(t *testing.T, remotes map[string]string) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("git is required: apt-get install -y git")
	}
	dir := t.TempDir()
	gitRun := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	gitRun("init", "-q")
	for name, url := range remotes {
		gitRun("remote", "add", name, url)
	}
	return dir
}

// TestRemoteAuth: the forge token goes to http(s) remotes on the forge's
// origin (scheme, host and port) only; for an ssh remote go-git must get no auth, so it uses the ssh
// agent (a BasicAuth there fails the push with "invalid auth method"), and
// a remote on another host never sees the token.
func TestRemoteAuth(t *testing.T) {
	tests := []struct {
		name      string
		forge     string // modelgit.yaml's forge: block, "" for none
		actions   map[string]string
		remote    string
		wantToken bool
	}{
		{name: "ssh", forge: github, remote: "git@github.com:acme/models.git"},
		{name: "ssh url", forge: github, remote: "ssh://git@github.com/acme/models.git"},
		{name: "https github", forge: github, remote: "https://github.com/acme/models.git", wantToken: true},
		{name: "https elsewhere", forge: github, remote: "https://git.example.com/acme/models.git"},
		{name: "local path", forge: github, remote: "/srv/git/models.git"},
		{name: "file url", forge: github, remote: "file:///srv/git/models.git"},
		{name: "no forge", remote: "https://github.com/acme/models.git"},
		{name: "enterprise", forge: "forge:\n  type: github\n  repository: acme/models\n  url: https://ghe.example.com/api/v3/\n", remote: "https://ghe.example.com/acme/models.git", wantToken: true},
		{name: "enterprise, github.com remote", forge: "forge:\n  type: github\n  repository: acme/models\n  url: https://ghe.example.com/api/v3/\n", remote: "https://github.com/acme/models.git"},
		{name: "local forge", forge: "forge:\n  type: github\n  repository: acme/models\n  url: http://127.0.0.1:8081/api/v3/\n", remote: "http://127.0.0.1:8081/acme/models.git", wantToken: true},
		// The forge's host but not its origin: another port may be
		// another service, plain HTTP is readable on the way.
		{name: "local forge, another port", forge: "forge:\n  type: github\n  repository: acme/models\n  url: http://127.0.0.1:8081/api/v3/\n", remote: "http://127.0.0.1:8080/acme/models.git"},
		{name: "http github", forge: github, remote: "http://github.com/acme/models.git"},
		{name: "github on another port", forge: github, remote: "https://github.com:8443/acme/models.git"},
		{name: "github, port written out", forge: github, remote: "https://GitHub.com:443/acme/models.git", wantToken: true},
		{name: "enterprise on its port", forge: "forge:\n  type: github\n  repository: acme/models\n  url: https://ghe.example.com:8443/api/v3/\n", remote: "https://ghe.example.com:8443/acme/models.git", wantToken: true},
		{name: "enterprise, default port", forge: "forge:\n  type: github\n  repository: acme/models\n  url: https://ghe.example.com:8443/api/v3/\n", remote: "https://ghe.example.com/acme/models.git"},
		{name: "actions server, http remote", actions: map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_API_URL": "https://api.github.com", "GITHUB_REPOSITORY": "acme/models", "GITHUB_SERVER_URL": "https://github.com"}, remote: "http://github.com/acme/models.git"},
		{name: "actions server", actions: map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_API_URL": "https://api.github.com", "GITHUB_REPOSITORY": "acme/models", "GITHUB_SERVER_URL": "https://github.com"}, remote: "https://github.com/acme/models.git", wantToken: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GITHUB_ACTIONS", "")
			for k, v := range tt.actions {
				t.Setenv(k, v)
			}
			t.Setenv("GITHUB_TOKEN", "")
			t.Setenv("GH_TOKEN", "ghs_secret")
			dir := gitInit(t, map[string]string{"origin": tt.remote})
			cfg := "apiVersion: modelgit.dev/v1alpha1\nkind: Config\nenvironments:\n  - name: dev\n" + tt.forge
			config, err := manifests.ParseConfig("modelgit.yaml", []byte(cfg))
			if err != nil {
				t.Fatal(err)
			}
			f := NewFactory("test")
			f.RepoDir = dir
			auth := f.RemoteAuth(config, "origin")
			if !tt.wantToken {
				if auth != nil {
					t.Fatalf("RemoteAuth(%s) = %T, want nil", tt.remote, auth)
				}
				return
			}
			ba, ok := auth.(*githttp.BasicAuth)
			if !ok || ba.Password != "ghs_secret" {
				t.Fatalf("RemoteAuth(%s) = %#v, want BasicAuth with the token", tt.remote, auth)
			}
			t.Setenv("GH_TOKEN", "")
			if auth := f.RemoteAuth(config, "origin"); auth != nil {
				t.Errorf("RemoteAuth without a token = %T, want nil", auth)
			}
			if auth := f.RemoteAuth(config, "missing"); auth != nil {
				t.Errorf("RemoteAuth of a missing remote = %T, want nil", auth)
			}
		})
	}
}

// github is modelgit.yaml's forge block for github.com.
const github = "forge:\n  type: github\n  repository: acme/models\n"

// TestForgeInActions: inside GitHub Actions, the runner's API URL and
// repository win over modelgit.yaml's forge, which a pull request's head
// controls; the disagreement is reported without the token.
func TestForgeInActions(t *testing.T) {
	fake := githubfaketest.New(t, githubfake.Options{Owner: "acme", Repo: "models"})
	var stolen atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stolen.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("[]"))
	}))
	t.Cleanup(evil.Close)
	cfg := &manifests.Config{Forge: &manifests.Forge{Type: "github", Repository: "evil/models", URL: evil.URL}}
	tests := []struct {
		name       string
		env        map[string]string
		cfg        *manifests.Config
		wantEvil   bool
		wantStderr string
	}{
		{
			name:       "actions: the runner wins",
			env:        map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_API_URL": fake.URL(), "GITHUB_REPOSITORY": "acme/models"},
			cfg:        cfg,
			wantStderr: "modelgit.yaml names the forge evil/models at " + evil.URL + ", but this GitHub Actions job runs for acme/models at " + fake.URL(),
		},
		{
			name: "actions without a forge in modelgit.yaml",
			env:  map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_API_URL": fake.URL(), "GITHUB_REPOSITORY": "acme/models"},
			cfg:  &manifests.Config{},
		},
		{
			name: "actions, same forge: nothing to say",
			env:  map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_API_URL": fake.URL() + "/", "GITHUB_REPOSITORY": "ACME/models"},
			cfg:  &manifests.Config{Forge: &manifests.Forge{Type: "github", Repository: "acme/models", URL: fake.URL()}},
		},
		{
			name:     "outside actions: modelgit.yaml",
			env:      map[string]string{"GITHUB_ACTIONS": "", "GITHUB_API_URL": fake.URL(), "GITHUB_REPOSITORY": "acme/models"},
			cfg:      cfg,
			wantEvil: true,
		},
		{
			name:     "actions without GITHUB_API_URL: modelgit.yaml",
			env:      map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_API_URL": "", "GITHUB_REPOSITORY": "acme/models"},
			cfg:      cfg,
			wantEvil: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GH_TOKEN", "ghs_secret")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			stolen.Store(0)
			ios, _, _, stderr := Test()
			f := NewFactory("test")
			f.IOStreams = ios
			fg, err := f.Forge(tt.cfg)
			if err != nil || fg == nil {
				t.Fatalf("Forge: %v, %v", fg, err)
			}
			if _, err := fg.ListPullRequests(context.Background(), "open", "modelgit/"); err != nil {
				t.Fatalf("listing pull requests: %v", err)
			}
			if got := stolen.Load() > 0; got != tt.wantEvil {
				t.Errorf("requests to modelgit.yaml's forge.url: %v, want %v", got, tt.wantEvil)
			}
			if tt.wantStderr == "" && stderr.Len() > 0 {
				t.Errorf("stderr = %q, want nothing", stderr)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.wantStderr)
			}
			if strings.Contains(stderr.String(), "ghs_secret") {
				t.Errorf("stderr prints the token: %q", stderr)
			}
		})
	}
	t.Run("no forge anywhere", func(t *testing.T) {
		t.Setenv("GITHUB_ACTIONS", "")
		f := NewFactory("test")
		if fg, err := f.Forge(&manifests.Config{}); fg != nil || err != nil {
			t.Errorf("Forge = %v, %v; want nil, nil", fg, err)
		}
	})
}

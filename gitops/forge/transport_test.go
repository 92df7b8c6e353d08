package forge

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestTokenOnlyToTheAPIOrigin: the token goes with requests to the API's
// scheme, host and port, and not with a redirect elsewhere: another port
// on the same host, or another host name for the same address.
func TestTokenOnlyToTheAPIOrigin(t *testing.T) {
	var mu sync.Mutex
	got := map[string]string{} // server → Authorization
	pr := `{"number": 1, "state": "open", "head": {"ref": "x", "sha": "abc"}, "base": {"ref": "main"}}`
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got["elsewhere "+r.Host] = r.Header.Get("Authorization")
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(pr))
	}))
	defer elsewhere.Close()
	var api *httptest.Server
	api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got["api "+r.Host+" "+r.URL.Path] = r.Header.Get("Authorization")
		mu.Unlock()
		switch r.URL.Path {
		case "/api/v3/repos/acme/models/pulls/1": // another port
			http.Redirect(w, r, elsewhere.URL+"/moved", http.StatusFound)
		case "/api/v3/repos/acme/models/pulls/2": // another name, same port
			http.Redirect(w, r, strings.Replace(api.URL, "127.0.0.1", "localhost", 1)+"/moved", http.StatusFound)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(pr))
		}
	}))
	defer api.Close()
	g, err := NewGitHub(GitHubOptions{Repository: "acme/models", Token: "tok-8812", BaseURL: api.URL + "/api/v3/"})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 2} {
		if _, err := g.GetPullRequest(context.Background(), n); err != nil {
			t.Fatalf("GetPullRequest(%d): %v", n, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	apiHost := strings.TrimPrefix(api.URL, "http://")
	for k, v := range got {
		switch {
		case strings.HasPrefix(k, "api "+apiHost+" /api/v3/"):
			if v != "Bearer tok-8812" {
				t.Errorf("%s: Authorization %q, want the token", k, v)
			}
		case v != "":
			t.Errorf("%s got the token: %q", k, v)
		}
	}
	if len(got) != 4 {
		t.Errorf("requests: %v, want 2 to the API and 2 redirected", got)
	}
}

func TestOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://api.github.com/":          "https://api.github.com:443",
		"https://API.github.com:443/x":     "https://api.github.com:443",
		"http://ghe.example.com/api/v3":    "http://ghe.example.com:80",
		"https://ghe.example.com:8443/":    "https://ghe.example.com:8443",
		"https://user:pw@github.com/a.git": "https://github.com:443",
		"http://[::1]:8080/":               "http://[::1]:8080",
		"ssh://git@github.com/acme/m.git":  "",
		"git@github.com:acme/m.git":        "",
		"/srv/git/models.git":              "",
		"file:///srv/git/models.git":       "",
	} {
		if got := Origin(in); got != want {
			t.Errorf("Origin(%q) = %q, want %q", in, got, want)
		}
	}
}

package store

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/modelgit/modelgit/manifests"
)

// TestOCIEnvCredentialsGoOnlyToTheNamedHost: MODELGIT_REGISTRY_USERNAME
// and _PASSWORD reach a registry only when MODELGIT_REGISTRY_HOST names
// exactly its host and port; a registry a cloned modelgit.yaml names
// (here one recording every Authorization header) gets nothing otherwise.
func TestOCIEnvCredentialsGoOnlyToTheNamedHost(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		if r.Header.Get("Authorization") == "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="recording"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNotFound)
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	otherPort := "127.0.0.1:1"
	if strings.HasSuffix(addr, ":1") {
		otherPort = "127.0.0.1:2"
	}
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv(EnvRegistryUsername, "ci-bot")
	t.Setenv(EnvRegistryPassword, "registry-secret-31")
	d := manifests.FromBytes([]byte("x"))

	for _, tc := range []struct {
		name, host string
		sent       bool
		want       string // in the error
	}{
		{"no host named", "", false, EnvRegistryHost + " names, and it is not set: set " + EnvRegistryHost + "=" + addr},
		{"another host", "registry.example.com", false, "and it names registry.example.com"},
		{"same host, another port", otherPort, false, "and it names " + otherPort},
		{"this registry", addr, true, ""},
		{"this registry, written as a URL", "https://" + strings.ToUpper(addr) + "/", true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			seen = nil
			mu.Unlock()
			t.Setenv(EnvRegistryHost, tc.host)
			st, err := Open("oci://"+addr+"/models/x", "")
			if err != nil {
				t.Fatal(err)
			}
			_, err = st.Stat(context.Background(), d)
			mu.Lock()
			defer mu.Unlock()
			var auth []string
			for _, h := range seen {
				if h != "" {
					auth = append(auth, h)
				}
			}
			if tc.sent {
				if len(auth) == 0 || !strings.HasPrefix(auth[0], "Basic ") {
					t.Fatalf("the named registry got no credentials (%v); Stat: %v", seen, err)
				}
				return
			}
			if len(auth) > 0 {
				t.Fatalf("credentials were sent to a registry %s does not name: %q", EnvRegistryHost, auth)
			}
			if !errors.Is(err, ErrAuthRequired) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Stat: %v, want ErrAuthRequired containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "registry-secret-31") {
				t.Errorf("the password leaked into %q", err)
			}
		})
	}

	// Options a caller builds for a store it chose itself keep working
	// without a Host.
	o, err := NewOCI("oci://"+addr+"/models/x", OCIOptions{Username: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	seen = nil
	if _, err := o.Stat(context.Background(), d); err != nil && errors.Is(err, ErrAuthRequired) {
		t.Fatalf("explicit options without Host: %v", err)
	}
}

package store

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReach: a store that cannot be read at all — a file:// directory
// that does not exist (a store inside another clone, as CI sees it), a
// registry that cannot be connected to, answers 401 or 403 — is
// ErrUnreachable, saying what to configure; a store that answers, even
// without the blob, is reachable (#13).
func TestReach(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), ".modelgit", "store")
	err := Reach(ctx, NewFile(dir))
	if !errors.Is(err, ErrUnreachable) || errors.Is(err, ErrNotFound) {
		t.Fatalf("Reach of a missing directory = %v, want ErrUnreachable", err)
	}
	for _, want := range []string{"cannot reach the store file://" + filepath.ToSlash(dir), "does not exist", "in CI configure", "store: in modelgit.yaml", EnvRegistryHost, EnvRegistryUsername, EnvRegistryPassword} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Reach = %q, lacks %q", err, want)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Reach(ctx, NewFile(dir)); err != nil {
		t.Errorf("Reach of an existing directory = %v", err)
	}
	if err := Reach(ctx, NewMemory()); err != nil {
		t.Errorf("Reach of a store that cannot tell = %v", err)
	}

	serve := func(status int, body string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}))
		t.Cleanup(srv.Close)
		return strings.TrimPrefix(srv.URL, "http://")
	}
	closed := freeAddr(t)
	for _, tc := range []struct {
		name, addr string
		want       []string // nil: reachable
	}{
		{"a blob missing", serve(http.StatusNotFound, ""), nil},
		{"401", serve(http.StatusUnauthorized, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`), []string{"needs credentials", "in CI configure the registry's credentials", EnvRegistryHost + "="}},
		{"403", serve(http.StatusForbidden, `{"errors":[{"code":"DENIED","message":"denied"}]}`), []string{"lack permission", EnvRegistryUsername}},
		{"no connection", closed, []string{"unreachable", "cannot connect", EnvRegistryPassword}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := OCIOptions{Retries: -1}
			if tc.name == "403" {
				opts.Username, opts.Password = "u", "p"
			}
			o, err := NewOCI("oci://"+tc.addr+"/models/x", opts)
			if err != nil {
				t.Fatal(err)
			}
			err = Reach(ctx, o)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Reach = %v, want reachable", err)
				}
				return
			}
			if !errors.Is(err, ErrUnreachable) {
				t.Fatalf("Reach = %v, want ErrUnreachable", err)
			}
			for _, want := range append(tc.want, "cannot reach the store oci://"+tc.addr+"/models/x") {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Reach = %q, lacks %q", err, want)
				}
			}
		})
	}
}

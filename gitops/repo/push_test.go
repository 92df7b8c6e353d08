package repo

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/go-git/go-git/v5/config"
)

// TestPushNeverForces pushes from two clones of one bare repository: the
// second push is refused as non-fast-forward, and succeeds after a fetch
// and a re-applied commit on the new tip — the loop promote runs.
func TestPushNeverForces(t *testing.T) {
	isolate(t)
	ctx := context.Background()
	bare := filepath.Join(t.TempDir(), "remote.git")
	run(t, ".", "init", "--bare", "-b", "main", bare)

	clone := func(name string) *Repo {
		r, err := Init(filepath.Join(t.TempDir(), name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.git.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{bare}}); err != nil {
			t.Fatal(err)
		}
		return r
	}
	a, b := clone("a"), clone("b")
	base := commit(t, a, "base", File{Path: "modelgit.yaml", Content: []byte("kind: Config\n")})
	if err := a.Push(ctx, "origin", "main", nil); err != nil {
		t.Fatal(err)
	}
	tip, err := b.Fetch(ctx, "origin", "main", nil)
	if err != nil || tip != base {
		t.Fatalf("Fetch = %s, %v; want %s", tip, err, base)
	}
	if _, err := b.Commit(ctx, CommitRequest{Files: []File{{Path: "models/b.yaml", Content: []byte("b\n")}}, Message: "b", Author: testWho, ExpectedParent: base}); err != nil {
		t.Fatal(err)
	}
	commit(t, a, "a", File{Path: "models/a.yaml", Content: []byte("a\n")})
	if err := a.Push(ctx, "origin", "main", nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Push(ctx, "origin", "main", nil); !errors.Is(err, ErrNonFastForward) {
		t.Fatalf("second push = %v, want ErrNonFastForward", err)
	}
	// Re-apply b's change on the new tip, as promote does, and push again.
	tip, err = b.Fetch(ctx, "origin", "main", nil)
	if err != nil {
		t.Fatal(err)
	}
	ra, err := b.git.Reference("refs/remotes/origin/main", true)
	if err != nil || ra.Hash() != tip {
		t.Fatalf("remote-tracking ref = %v, %v", ra, err)
	}
	if err := b.ResetBranch("main", tip, testWho); err == nil {
		t.Fatal("ResetBranch of the checked-out branch succeeded")
	}
	if err := b.ResetBranch("retry", tip, testWho); err != nil {
		t.Fatal(err)
	}
	onTip, err := b.Commit(ctx, CommitRequest{Files: []File{{Path: "models/b.yaml", Content: []byte("b\n")}}, Message: "b again", Author: testWho, Branch: "retry", ExpectedParent: tip})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.PushAs(ctx, "origin", "retry", "main", nil); err != nil {
		t.Fatalf("push after re-apply: %v", err)
	}
	if got := run(t, bare, "rev-parse", "main"); got != onTip.String() {
		t.Errorf("remote main = %s, want %s", got, onTip)
	}
	if got := run(t, bare, "log", "--format=%s", "main"); got != "b again\na\nbase" {
		t.Errorf("remote history = %q: nothing may be lost", got)
	}
	// Pushing again is a no-op, not an error.
	if err := b.PushAs(ctx, "origin", "retry", "main", nil); err != nil {
		t.Errorf("up-to-date push = %v", err)
	}
	// A branch the remote lacks fetches as the zero hash.
	if h, err := b.Fetch(ctx, "origin", "nope", nil); err != nil || !h.IsZero() {
		t.Errorf("Fetch(missing) = %s, %v", h, err)
	}
}

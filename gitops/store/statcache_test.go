package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelgit/modelgit/manifests"
)

// openTestCache opens a cache whose clock runs an hour ahead, so files
// just written are outside the racy window.
func openTestCache(t *testing.T, file string) *StatCache {
	t.Helper()
	c, err := OpenStatCache(file)
	if err != nil {
		t.Fatal(err)
	}
	c.now = func() time.Time { return time.Now().Add(time.Hour) }
	return c
}

func TestStatCache(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := filepath.Join(dir, "weights.bin")
	if err := os.WriteFile(p, []byte("version one"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := openTestCache(t, filepath.Join(dir, "cache", "stat.json"))
	h := &Hasher{Cache: c}

	// Miss, then recorded.
	res, err := h.Hash(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() != 1 {
		t.Fatalf("cache has %d entries after hashing, want 1", c.Len())
	}
	// Hit: poison the entry; a hit returns it without reading the file.
	fi, _ := os.Stat(p)
	fake := manifests.FromBytes([]byte("not the content"))
	c.Set(p, fi, fake)
	if got, _ := h.Hash(ctx, p); got.Digest != fake {
		t.Fatalf("unchanged file: digest %s, want the cached %s (a hit)", got.Digest, fake)
	}

	// Modified with the same size and the same mtime: ctime gives it away.
	mtime := fi.ModTime()
	if err := os.WriteFile(p, []byte("version two"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	got, err := h.Hash(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if want := manifests.FromBytes([]byte("version two")); got.Digest != want {
		t.Fatalf("modified file: digest %s, want %s (a miss)", got.Digest, want)
	}

	// Touched: same content, new mtime: a miss that re-hashes to the same digest.
	fi, _ = os.Stat(p)
	c.Set(p, fi, fake)
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(p, later, later); err != nil {
		t.Fatal(err)
	}
	if got, _ := h.Hash(ctx, p); got.Digest != manifests.FromBytes([]byte("version two")) {
		t.Fatalf("touched file: digest %s, want a re-hash", got.Digest)
	}
	_ = res

	// Saved and reloaded.
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	c2 := openTestCache(t, filepath.Join(dir, "cache", "stat.json"))
	fi, _ = os.Stat(p)
	if d, ok := c2.Get(p, fi); !ok || d != manifests.FromBytes([]byte("version two")) {
		t.Errorf("reloaded cache: Get = %s, %v", d, ok)
	}
}

func TestStatCacheRacyWindow(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := OpenStatCache(filepath.Join(dir, "c.json")) // real clock
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	c.Set(p, fi, manifests.FromBytes([]byte("x")))
	if c.Len() != 0 {
		t.Errorf("a file modified just now was cached; a same-size rewrite in the same mtime tick would hit a stale entry")
	}
}

func TestOpenStatCacheTolerant(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"missing":        "",
		"corrupt":        "{not json",
		"wrong format":   `{"format": 99, "entries": {"/x": {"size": 1}}}`,
		"truncated json": `{"format": 1, "entries": {"/x": {"si`,
	} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(dir, name+".json")
			if content != "" {
				if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			c, err := OpenStatCache(file)
			if err != nil || c.Len() != 0 {
				t.Fatalf("OpenStatCache = %v entries, %v; want an empty cache", c.Len(), err)
			}
		})
	}
}

package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelgit/modelgit/manifests"
)

// smallDir writes n small files into two subdirectories of a fresh
// directory and returns it.
func smallDir(t *testing.T, n int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tok")
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("d%d", i%2), fmt.Sprintf("f%03d", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(fmt.Sprintf("file %03d\n", i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// poisonDir replaces the tree digest cached for dir, so that a result
// carrying it can only have come from the directory entry (a hit).
func poisonDir(t *testing.T, c *StatCache, dir string) manifests.Digest {
	t.Helper()
	abs, _ := filepath.Abs(dir)
	fake := manifests.FromBytes([]byte("not this tree"))
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.dirs[abs]
	if !ok {
		t.Fatalf("no directory entry for %s", dir)
	}
	e.Digest = fake
	c.dirs[abs] = e
	return fake
}

// TestStatCacheDirectoryHit: an unchanged directory added again to the
// same file store, once an Add found all its blobs there, is one lookup
// of its directory entry (the poisoned digest comes back), survives Save
// and reopen, and serves a hash-only pass too.
func TestStatCacheDirectoryHit(t *testing.T) {
	ctx := context.Background()
	dir := smallDir(t, 20)
	st := NewFile(t.TempDir())
	cacheFile := filepath.Join(t.TempDir(), "stat.json")
	c := openTestCache(t, cacheFile)
	h := &Hasher{Cache: c}
	want, err := h.Add(ctx, st, dir)
	if err != nil {
		t.Fatal(err)
	}
	// The first Add wrote every blob, so it cannot vouch for the blob
	// directory as it found it; the second finds every blob there and
	// records the directory as stored.
	if _, err := h.Add(ctx, st, dir); err != nil {
		t.Fatal(err)
	}
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	c = openTestCache(t, cacheFile)
	h = &Hasher{Cache: c}
	fake := poisonDir(t, c, dir)
	got, err := h.Add(ctx, st, dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != fake || got.Files != want.Files || got.Size != want.Size || !got.IsDir {
		t.Fatalf("unchanged directory: %+v, want the cached entry (digest %s, %d files, %d bytes)", got, fake, want.Files, want.Size)
	}
	if c.loaded {
		t.Error("a directory hit read the file entries from disk")
	}
	if got, err := h.Hash(ctx, dir); err != nil || got.Digest != fake {
		t.Fatalf("Hash of the unchanged directory = %s, %v; want the cached %s", got.Digest, err, fake)
	}
}

// TestStatCacheDirectoryChanges: whatever changed in a directory since it
// was cached, its files are looked at again and the changed file is read:
// a rewrite with the same size and a new mtime, a new file (new inode)
// put in place with the old mtime, a file added or removed. Each time
// the digest is the real one (Hash without a cache agrees).
func TestStatCacheDirectoryChanges(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, dir string)
	}{
		{"same size, new mtime", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "d1", "f007")
			write(t, p, "FILE 007\n")
			later := time.Now().Add(time.Minute)
			if err := os.Chtimes(p, later, later); err != nil {
				t.Fatal(err)
			}
		}},
		{"same size and mtime, new inode", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "d1", "f007")
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			tmp := filepath.Join(dir, "new")
			write(t, tmp, "FILE 007\n")
			if err := os.Chtimes(tmp, fi.ModTime(), fi.ModTime()); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, p); err != nil {
				t.Fatal(err)
			}
		}},
		{"file added", func(t *testing.T, dir string) { write(t, filepath.Join(dir, "d0", "g"), "new\n") }},
		{"file removed", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "d0", "f004")); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := smallDir(t, 20)
			st := NewFile(t.TempDir())
			c := openTestCache(t, filepath.Join(t.TempDir(), "stat.json"))
			h := &Hasher{Cache: c}
			if _, err := h.Add(ctx, st, dir); err != nil {
				t.Fatal(err)
			}
			fake := poisonDir(t, c, dir)
			tc.change(t, dir)
			want, err := (&Hasher{}).Hash(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			got, err := h.Add(ctx, st, dir)
			if err != nil {
				t.Fatal(err)
			}
			if got.Digest == fake || got.Digest != want.Digest {
				t.Fatalf("changed directory: digest %s, want %s (re-hashed)", got.Digest, want.Digest)
			}
			for _, e := range got.Tree.Entries {
				if _, err := st.Stat(ctx, e.Digest); err != nil {
					t.Errorf("%s: %v", e.Path, err)
				}
			}
		})
	}
}

// TestStatCacheDirectoryStoreChanged: the directory is unchanged but a
// blob was removed from the store (or the store is another one): the
// blob directory's stat data says so, every blob is checked again and the
// missing one is stored again.
func TestStatCacheDirectoryStoreChanged(t *testing.T) {
	ctx := context.Background()
	dir := smallDir(t, 20)
	st := NewFile(t.TempDir())
	c := openTestCache(t, filepath.Join(t.TempDir(), "stat.json"))
	h := &Hasher{Cache: c}
	res, err := h.Add(ctx, st, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Add(ctx, st, dir); err != nil { // records it as stored
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(dir)
	if e := c.dirs[abs]; e.Store == "" {
		t.Fatalf("directory entry %+v does not record the store", e)
	}
	gone := res.Tree.Entries[3].Digest
	if err := os.Remove(st.Path(gone)); err != nil {
		t.Fatal(err)
	}
	got, err := h.Add(ctx, st, dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != res.Digest {
		t.Fatalf("digest %s, want %s", got.Digest, res.Digest)
	}
	if _, err := st.Stat(ctx, gone); err != nil {
		t.Fatalf("the removed blob was not stored again: %v", err)
	}

	other := NewFile(t.TempDir())
	if _, err := h.Add(ctx, other, dir); err != nil {
		t.Fatal(err)
	}
	for _, e := range res.Tree.Entries {
		if _, err := other.Stat(ctx, e.Digest); err != nil {
			t.Errorf("another store: %s: %v", e.Path, err)
		}
	}
	if _, err := other.Stat(ctx, res.Digest); err != nil {
		t.Errorf("another store: the listing: %v", err)
	}
}

// TestStatCacheDirectoryRacy: a directory with a file modified just now
// (the real clock) gets no directory entry, as such a file gets no file
// entry (see racyWindow).
func TestStatCacheDirectoryRacy(t *testing.T) {
	dir := smallDir(t, 4)
	c, err := OpenStatCache(filepath.Join(t.TempDir(), "stat.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&Hasher{Cache: c}).Add(context.Background(), NewFile(t.TempDir()), dir); err != nil {
		t.Fatal(err)
	}
	if len(c.dirs) != 0 {
		t.Errorf("directory entries %v for files modified just now", c.dirs)
	}
}

// TestHasherCheckKeepsTheWalk: Check walks once; Add uses that walk (a
// file added after Check is not in the tree) and forgets it (the next Add
// walks again).
func TestHasherCheckKeepsTheWalk(t *testing.T) {
	ctx := context.Background()
	dir := smallDir(t, 4)
	h := &Hasher{}
	if _, err := h.Check(dir); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "d0", "late"), "late\n")
	st := NewMemory()
	res, err := h.Add(ctx, st, dir)
	if err != nil || res.Files != 4 {
		t.Fatalf("Add after Check: %d files, %v; want the 4 Check saw", res.Files, err)
	}
	if res, err = h.Add(ctx, st, dir); err != nil || res.Files != 5 {
		t.Fatalf("second Add: %d files, %v; want 5", res.Files, err)
	}
}

func write(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

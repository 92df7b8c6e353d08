package store

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/manifests"
)

func TestRestoreTreeRoundTrip(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	writeTree(t, src, sampleTree, keys(sampleTree))
	st := NewFile(t.TempDir())
	res, err := (&Hasher{}).Add(ctx, st, src)
	if err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "restored")
	if err := Restore(ctx, st, res.Digest, manifests.MediaTypeTree, dest); err != nil {
		t.Fatal(err)
	}
	back, err := (&Hasher{}).Hash(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	if back.Digest != res.Digest {
		t.Errorf("restored tree digest %s, want %s", back.Digest, res.Digest)
	}
	for p, content := range sampleTree {
		b, err := os.ReadFile(filepath.Join(dest, filepath.FromSlash(p)))
		if err != nil || string(b) != content {
			t.Errorf("%s: %v", p, err)
		}
	}

	// A single file.
	f := filepath.Join(src, "config.json")
	fr, err := (&Hasher{}).Add(ctx, st, f)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "sub", "config.json")
	if err := Restore(ctx, st, fr.Digest, "application/json", out); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); string(b) != sampleTree["config.json"] {
		t.Errorf("restored file = %q", b)
	}
}

func TestRestoreRefusesEscapingPaths(t *testing.T) {
	ctx := context.Background()
	st := NewMemory()
	evil := []byte("pwned")
	de := manifests.FromBytes(evil)
	if err := st.Put(ctx, de, int64(len(evil)), bytes.NewReader(evil)); err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	dest := filepath.Join(base, "dest")
	for _, p := range []string{"../escaped", "a/../../escaped", "/abs/escaped"} {
		listing := []byte(de.String() + " 5 " + p + "\n")
		d := manifests.FromBytes(listing)
		if err := st.Put(ctx, d, int64(len(listing)), bytes.NewReader(listing)); err != nil {
			t.Fatal(err)
		}
		err := Restore(ctx, st, d, manifests.MediaTypeTree, dest)
		if err == nil || !strings.Contains(err.Error(), "parsing tree listing line 1: path") {
			t.Errorf("Restore of %q: err = %v, want a refusal naming the line", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(base, "escaped")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a file escaped dest: %v", err)
	}
}

func TestRestoreSymlinkInDestStaysInside(t *testing.T) {
	ctx := context.Background()
	st := NewMemory()
	data := []byte("data")
	dd := manifests.FromBytes(data)
	st.Put(ctx, dd, 4, bytes.NewReader(data))
	listing := []byte(dd.String() + " 4 link/f\n")
	dl := manifests.FromBytes(listing)
	st.Put(ctx, dl, int64(len(listing)), bytes.NewReader(listing))

	base := t.TempDir()
	dest, outside := filepath.Join(base, "dest"), filepath.Join(base, "outside")
	os.MkdirAll(dest, 0o755)
	os.MkdirAll(outside, 0o755)
	mustSymlink(t, outside, filepath.Join(dest, "link")) // planted by an attacker
	if err := Restore(ctx, st, dl, manifests.MediaTypeTree, dest); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(outside, "f")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Restore followed a symlink out of dest: %v", err)
	}
}

func TestRestoreCorruptBlobLeavesNothing(t *testing.T) {
	ctx := context.Background()
	st := NewFile(t.TempDir())
	data := []byte("the real weights")
	d, _, err := st.Ingest(ctx, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(st.Path(d), 0o644)
	os.WriteFile(st.Path(d), []byte("tampered weights"), 0o644)
	dir := t.TempDir()
	out := filepath.Join(dir, "w.bin")
	err = Restore(ctx, st, d, "application/octet-stream", out)
	var mm *DigestMismatchError
	if !errors.As(err, &mm) {
		t.Fatalf("Restore of a corrupt blob: err = %v, want DigestMismatchError", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files left after a failed restore: %v", entries)
	}
}

func TestRestoreMissingBlob(t *testing.T) {
	err := Restore(context.Background(), NewMemory(), dA, manifests.MediaTypeTree, t.TempDir())
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
}

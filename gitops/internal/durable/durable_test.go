package durable

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// names lists dir's entries.
func names(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestWriteFileReplacesWithModeAndLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a", "b.yaml")
	if err := WriteFile(p, []byte("old"), 0o600, nil); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("new"), 0o444, nil); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "new" {
		t.Fatalf("content = %q, %v; want %q", b, err, "new")
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o444 {
		t.Errorf("mode = %v, want 0444", fi.Mode().Perm())
	}
	if got := names(t, filepath.Dir(p)); len(got) != 1 || got[0] != "b.yaml" {
		t.Errorf("directory holds %q, want only b.yaml", got)
	}
}

func TestWriteFileFailingRenameKeepsOldAndRemovesTemp(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "x")
	if err := os.MkdirAll(filepath.Join(target, "child"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(target, []byte("data"), 0o644, nil); err == nil {
		t.Fatal("renaming over a non-empty directory succeeded")
	}
	if got := names(t, dir); len(got) != 1 || got[0] != "x" {
		t.Errorf("directory holds %q after a failed write, want only x", got)
	}
}

func TestBeforeRenameSeesCompleteTempAndOldTarget(t *testing.T) {
	dir, tmp := t.TempDir(), t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	called := false
	err := WriteFile(p, []byte("new content"), 0o640, &Options{TempDir: tmp, Prefix: "tmp_obj_", BeforeRename: func() {
		called = true
		if b, _ := os.ReadFile(p); string(b) != "old" {
			t.Errorf("target before the rename = %q, want %q", b, "old")
		}
		got := names(t, tmp)
		if len(got) != 1 || !strings.HasPrefix(got[0], "tmp_obj_") {
			t.Fatalf("temp dir holds %q, want one tmp_obj_* file", got)
		}
		fi, err := os.Stat(filepath.Join(tmp, got[0]))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() != int64(len("new content")) || fi.Mode().Perm() != 0o640 {
			t.Errorf("temp file before the rename: size %d mode %v, want %d and 0640", fi.Size(), fi.Mode().Perm(), len("new content"))
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !called {
		t.Fatal("BeforeRename was not called")
	}
	if b, _ := os.ReadFile(p); string(b) != "new content" {
		t.Errorf("target = %q", b)
	}
	if got := names(t, tmp); len(got) != 0 {
		t.Errorf("temp dir holds %q after the write", got)
	}
}

func TestTempCommitOnceDiscardAfterIsNoOp(t *testing.T) {
	dir := t.TempDir()
	tf, err := CreateTemp(dir, ".tmp-", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer tf.Discard()
	if _, err := tf.WriteString("blob"); err != nil {
		t.Fatal(err)
	}
	final := filepath.Join(dir, "final")
	if err := tf.Commit(final, 0o444, nil); err != nil {
		t.Fatal(err)
	}
	tf.Discard()
	if _, err := os.Stat(final); err != nil {
		t.Fatalf("Discard after Commit removed the file: %v", err)
	}
	if err := tf.Commit(filepath.Join(dir, "again"), 0o444, nil); err == nil {
		t.Error("a second Commit succeeded")
	}
	if got := names(t, dir); len(got) != 1 {
		t.Errorf("directory holds %q, want only final", got)
	}
}

func TestDiscardRemovesTemp(t *testing.T) {
	dir := t.TempDir()
	tf, err := CreateTemp(dir, ".tmp-", 0)
	if err != nil {
		t.Fatal(err)
	}
	tf.Discard()
	if _, err := os.Stat(tf.Name()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("temp file after Discard: %v", err)
	}
}

// TestOneDurableWrite holds "one durable write, one place": no code of
// modelgit but this package makes temp files or syncs directories (the
// lock files of git's own protocol in gitops/repo are not temp files).
func TestOneDurableWrite(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	forbidden := []string{"os.CreateTemp(", "func syncDir(", "func tempName(", "ioutil.TempFile("}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" || d.Name() == "e2e" || d.Name() == "bench") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		if abs, _ := filepath.Abs(filepath.Dir(p)); abs == mustAbs(t, ".") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, f := range forbidden {
			if strings.Contains(string(b), f) {
				t.Errorf("%s has %q: write files through package durable", p, f)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

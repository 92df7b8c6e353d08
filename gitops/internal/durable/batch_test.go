package durable

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestBatchNamesNothingBeforeCommit(t *testing.T) {
	dir := t.TempDir()
	var b Batch
	for i := range 20 {
		tf, err := CreateTemp(dir, ".tmp-", 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fmt.Fprintf(tf, "blob %d", i); err != nil {
			t.Fatal(err)
		}
		if err := b.Add(tf, filepath.Join(dir, fmt.Sprintf("b%02d", i)), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "b00")); err == nil {
		t.Fatal("a batched file has its name before Commit")
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	got := names(t, dir)
	if len(got) != 20 {
		t.Fatalf("directory holds %q, want b00…b19 only", got)
	}
	for i := range 20 {
		p := filepath.Join(dir, fmt.Sprintf("b%02d", i))
		c, err := os.ReadFile(p)
		if err != nil || string(c) != fmt.Sprintf("blob %d", i) {
			t.Errorf("%s = %q, %v", p, c, err)
		}
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o444 {
			t.Errorf("%s: mode %v, %v; want 0444", p, fi.Mode().Perm(), err)
		}
	}
	if b.Len() != 0 {
		t.Errorf("Len after Commit = %d", b.Len())
	}
}

func TestBatchDiscardRemovesTemps(t *testing.T) {
	dir := t.TempDir()
	var b Batch
	tf, err := CreateTemp(dir, ".tmp-", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Add(tf, filepath.Join(dir, "x"), 0o444); err != nil {
		t.Fatal(err)
	}
	b.Discard()
	if got := names(t, dir); len(got) != 0 {
		t.Errorf("directory holds %q after Discard", got)
	}
	if err := b.Commit(); err != nil {
		t.Errorf("Commit of an empty batch: %v", err)
	}
}

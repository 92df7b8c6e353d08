package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/modelgit/modelgit/gitops/render"
)

// TestRunWritesATreeThatBuilds: rendergen writes a new directory that
// render.BuildCluster builds, with every model's object in it, as
// bench/render.sh needs before it times anything.
func TestRunWritesATreeThatBuilds(t *testing.T) {
	out := filepath.Join(t.TempDir(), "tree")
	if err := run(4, out, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "modelgit.yaml")); err != nil {
		t.Fatal(err)
	}
	b, err := render.BuildCluster(os.DirFS(out), "gpu")
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b, []byte("\nkind: ")) + bytes.Count(b[:min(len(b), 6)], []byte("kind: ")); n < 4 {
		t.Errorf("the gpu cluster builds %d objects from 4 models, want at least 4:\n%s", n, b)
	}
}

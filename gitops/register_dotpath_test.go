package gitops_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops/register"
)

// TestRegisterDotPathsRecordTheDirectoryName: an artifact or data path
// that is "." or ends in "/." or "/.." records the name of the directory
// it is (what pull writes it under), not "." or "..", which pull refuses;
// the root directory, which has no name, is refused before anything is
// stored.
func TestRegisterDotPathsRecordTheDirectoryName(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "model", "shard-1.bin"), "weights\n")
	writeFile(t, filepath.Join(dir, "data", "sub", "train.csv"), "a,b\n1,2\n")
	opts := register.RegisterOptions{Model: "dots", Identity: alice, Signer: f.signer,
		Weights: filepath.Join(dir, "model") + string(filepath.Separator) + ".",
		Data:    filepath.Join(dir, "data", "sub") + string(filepath.Separator) + ".."}
	res, err := register.Register(ctx, f.reg, opts)
	if err != nil {
		t.Fatal(err)
	}
	mv := res.Version.Manifest
	if got := mv.Artifacts.Weights.Path; got != "model" {
		t.Errorf("weights path = %q, want %q", got, "model")
	}
	if got := mv.Data.Path; got != "data" {
		t.Errorf("data path = %q, want %q", got, "data")
	}
	out := filepath.Join(t.TempDir(), "out")
	if _, err := register.Pull(ctx, f.reg, res.Version, out, register.PullOptions{}); err != nil {
		t.Fatalf("pull: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(out, "model", "shard-1.bin")); err != nil || string(b) != "weights\n" {
		t.Errorf("pulled model/shard-1.bin = %q, %v", b, err)
	}

	head := f.head()
	opts.Weights, opts.Data = string(filepath.Separator), ""
	_, err = register.Register(ctx, f.reg, opts)
	if err == nil || !strings.Contains(err.Error(), "root directory") || !strings.Contains(err.Error(), "--weights") {
		t.Fatalf("register --weights /: %v; want a refusal naming the root directory", err)
	}
	if errors.Is(err, register.ErrNoWeights) || f.head() != head {
		t.Errorf("the refusal changed the branch")
	}
}

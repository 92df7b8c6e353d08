package gitops_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/audit"
	"github.com/modelgit/modelgit/gitops/register"
	"github.com/modelgit/modelgit/gitops/signing"
	"github.com/modelgit/modelgit/gitops/store"
	"github.com/modelgit/modelgit/manifests"
)

var sharded = spec{
	shards: map[string]string{
		"model-00001-of-00002.safetensors": "shard one\n",
		"model-00002-of-00002.safetensors": "shard two\n",
		"nested/config.json":               `{"layers": 2}`,
	},
	schema: base.schema,
	config: base.config,
	data:   base.data,
}

func TestHistoryShowsEveryVersionWithItsCommit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var commits []string
	for i, s := range []spec{base, {weights: "weights v2\n", schema: base.schema, config: base.config, params: base.params, data: base.data}, sharded} {
		commits = append(commits, f.register(s).Commit.String())
		if i == 0 {
			// An unrelated commit between versions must not confuse History.
			writeFile(t, filepath.Join(f.root, "README.md"), "# registry\n")
			git(t, f.root, "add", "README.md")
			gitCommit(t, f, true, "Readme")
		}
	}
	h, err := audit.History(f.reg, "fraud")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"0.1.0+data.1", "0.1.1+data.1", "0.1.2+data.1"}
	if len(h) != len(want) {
		t.Fatalf("History: %d entries, want %d", len(h), len(want))
	}
	for i, e := range h {
		path := manifests.VersionFile("fraud", want[i])
		if e.Version.String() != want[i] {
			t.Errorf("entry %d: version %s, want %s (oldest first)", i, e.Version, want[i])
		}
		if e.Commit != commits[i] {
			t.Errorf("%s: commit %s, want %s", want[i], e.Commit, commits[i])
		}
		// git agrees on the commit that added the file.
		if added := git(t, f.root, "log", "--format=%H", "--diff-filter=A", "--", path); added != e.Commit {
			t.Errorf("%s: git log --diff-filter=A says %s, History %s", want[i], added, e.Commit)
		}
		if !e.Signature.Signed || !e.Signature.Trusted || e.Signature.Format != signing.FormatSSH || !strings.Contains(e.Signature.Signer, "alice@example.com") {
			t.Errorf("%s: signature %+v, want trusted ssh by alice", want[i], e.Signature)
		}
		if e.RegisteredBy != "Alice <alice@example.com>" || e.RegisteredAt.IsZero() || e.DataHash == "" || e.Reason == "" {
			t.Errorf("%s: entry %+v", want[i], e)
		}
		v, err := f.reg.Resolve("fraud@" + want[i])
		if err != nil {
			t.Fatal(err)
		}
		if v.Digest != e.Digest || v.Path != path {
			t.Errorf("%s: Resolve gives %s at %s, History %s", want[i], v.Digest, v.Path, e.Digest)
		}
		p, err := audit.ProvenanceOf(f.reg, v)
		if err != nil {
			t.Fatal(err)
		}
		if p.Commit != e.Commit || !p.Signature.Trusted {
			t.Errorf("%s: provenance %+v", want[i], p)
		}
	}
	if h, err := audit.History(f.reg, "nobody"); err != nil || len(h) != 0 {
		t.Errorf("History(unknown model) = %v, %v; want nothing", h, err)
	}
}

func TestHistoryRevokedSigner(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	mallory, malloryPub := sshKey(t, "mallory@example.com")
	s, err := signing.LoadSSHSigner(mallory)
	if err != nil {
		t.Fatal(err)
	}
	// register refuses a key that is not allowed at HEAD: mallory's key
	// is allowed (by a commit alice signs) while she registers, and
	// removed afterwards.
	signers := filepath.Join(f.root, "policies", "allowed_signers")
	before, err := os.ReadFile(signers)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, signers, string(before)+`alice@example.com namespaces="git" `+malloryPub+"\n")
	git(t, f.root, "commit", "-q", "-S", "-am", "trust mallory")
	f.signer = s
	f.register(base)
	f.signer = nil
	writeFile(t, signers, string(before))
	git(t, f.root, "commit", "-q", "-S", "-am", "revoke mallory")
	o := f.options(sharded)
	o.Signer = nil
	if _, err := register.Register(ctx, f.reg, o); err != nil {
		t.Fatal(err)
	}
	h, err := audit.History(f.reg, "fraud")
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2 {
		t.Fatalf("History: %+v", h)
	}
	// History answers what was trusted when the commit was made: the
	// key was allowed then (docs/audit.md); verify also reports it as
	// removed since.
	if e := h[0].Signature; !e.Signed || !e.Trusted || e.Reason != "" {
		t.Errorf("signed by a key allowed then, revoked since: %+v", e)
	}
	if e := h[1].Signature; e.Signed || e.Trusted {
		t.Errorf("unsigned: %+v", e)
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.register(base)
	s := base
	s.params = `{"learning_rate": 0.2}`
	f.register(s)
	for ref, want := range map[string]string{
		"fraud":              "0.1.1+data.1",
		"fraud@latest":       "0.1.1+data.1",
		"fraud@0.1.0+data.1": "0.1.0+data.1",
	} {
		v, err := f.reg.Resolve(ref)
		if err != nil {
			t.Errorf("Resolve(%q): %v", ref, err)
			continue
		}
		if got := v.Manifest.Version.String(); got != want {
			t.Errorf("Resolve(%q) = %s, want %s", ref, got, want)
		}
		if v.Name() != "fraud@"+want || v.Digest != manifests.FromBytes(v.Raw) {
			t.Errorf("Resolve(%q): name %s digest %s", ref, v.Name(), v.Digest)
		}
	}
	_, err := f.reg.Resolve("nobody")
	if !errors.Is(err, gitops.ErrUnknownModel) {
		t.Errorf("unknown model: %v", err)
	}
	mustContain(t, err, "registered: fraud")
	_, err = f.reg.Resolve("fraud@9.9.9")
	if !errors.Is(err, gitops.ErrUnknownVersion) {
		t.Errorf("unknown version: %v", err)
	}
	mustContain(t, err, "0.1.0+data.1, 0.1.1+data.1")
	_, err = f.reg.Resolve("fraud@one")
	mustContain(t, err, `"fraud@one"`)
	if models, err := f.reg.Models(); err != nil || strings.Join(models, ",") != "fraud" {
		t.Errorf("Models() = %v, %v", models, err)
	}
}

func TestPullWritesOriginalBytes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	o := f.options(sharded)
	o.Pipeline = filepath.Join(filepath.Dir(o.Schema), "preprocess.pkl")
	writeFile(t, o.Pipeline, "pipeline bytes\n")
	res, err := register.Register(ctx, f.reg, o)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "pulled")
	pulled, err := register.Pull(ctx, f.reg, res.Version, out, register.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pulled) != 4 {
		t.Errorf("pulled %d artifacts, want 4: %+v", len(pulled), pulled)
	}
	// Every original file and its pulled copy, hashed by sha256sum.
	pairs := map[string]string{
		o.Pipeline: filepath.Join(out, "preprocess.pkl"),
		o.Schema:   filepath.Join(out, "features.json"),
		o.Config:   filepath.Join(out, "inference.yaml"),
	}
	for name := range sharded.shards {
		pairs[filepath.Join(o.Weights, name)] = filepath.Join(out, "model", name)
	}
	var all []string
	for a, b := range pairs {
		all = append(all, a, b)
	}
	sums := sha256sum(t, all...)
	for a, b := range pairs {
		if sums[a] == "" || sums[a] != sums[b] {
			t.Errorf("%s (%s) pulled as %s (%s)", a, sums[a], b, sums[b])
		}
	}
	// Nothing else: no temp files, no extra files but the pull record.
	pairs[""] = filepath.Join(out, register.PullRecord)
	var files []string
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if len(files) != len(pairs) {
		t.Errorf("pulled files %v, want %d", files, len(pairs))
	}
}

func TestPullCorruptBlobLeavesNoFile(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	single := f.register(base).Version
	sh := f.register(sharded).Version

	tests := []struct {
		name  string
		v     *gitops.VersionRef
		blob  string // digest to corrupt
		final string // relative to the pull directory
	}{
		{"file", single, single.Manifest.Artifacts.Weights.Digest.String(), "model.safetensors"},
		{"shard", sh, shardDigest(t, f, sh, "model-00002-of-00002.safetensors"), "model/model-00002-of-00002.safetensors"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			flipByte(t, f.blobPath(tc.blob))
			out := t.TempDir()
			_, err := register.Pull(ctx, f.reg, tc.v, out, register.PullOptions{})
			mustContain(t, err, "pulling weights", "digest mismatch")
			if _, serr := os.Lstat(filepath.Join(out, tc.final)); !os.IsNotExist(serr) {
				t.Errorf("%s exists after a failed pull (%v)", tc.final, serr)
			}
			// Nothing at all: no temp file, no stage, no other artifact.
			if ents, _ := os.ReadDir(out); len(ents) > 0 {
				t.Errorf("left behind after a failed pull: %v", ents)
			}
		})
	}
}

// shardDigest finds the blob of one file of a directory artifact through
// its tree listing in the store.
func shardDigest(t *testing.T, f *fixture, v *gitops.VersionRef, name string) string {
	t.Helper()
	tree, err := store.ReadTree(ctx, f.reg.Store(), v.Manifest.Artifacts.Weights.Digest)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range tree.Entries {
		if e.Path == name {
			return e.Digest.String()
		}
	}
	t.Fatalf("%s not in the tree %+v", name, tree)
	return ""
}

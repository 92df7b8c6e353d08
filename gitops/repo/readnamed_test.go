package repo

import (
	"context"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// ReadNamed answers hashes and <commit>:<path> names with the object, its
// type and content, leaves out what names nothing, and DecodeTree reads a
// tree it returns.
func TestReadNamed(t *testing.T) {
	r := newRepo(t)
	h := commit(t, r, "first", File{Path: "policies/allowed_signers", Content: []byte("a@example.com ssh-ed25519 AAAA\n")})
	names := []string{h.String(), h.String() + ":policies", h.String() + ":policies/allowed_signers", h.String() + ":nothing", plumbing.ZeroHash.String()}
	got, err := r.ReadNamed(context.Background(), names)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("ReadNamed answered %d names, want 3 (the missing path and object left out): %v", len(got), got)
	}
	if c := got[names[0]]; c.Type != plumbing.CommitObject || c.Hash != h {
		t.Errorf("commit: %v %s, want a commit %s", c.Type, c.Hash, h)
	}
	if b := got[names[2]]; b.Type != plumbing.BlobObject || string(b.Data) != "a@example.com ssh-ed25519 AAAA\n" {
		t.Errorf("blob: %v %q", b.Type, b.Data)
	}
	tr := got[names[1]]
	if tr.Type != plumbing.TreeObject {
		t.Fatalf("policies: %v, want a tree", tr.Type)
	}
	tree, err := DecodeTree(tr.Hash, tr.Data)
	if err != nil {
		t.Fatal(err)
	}
	if len(tree.Entries) != 1 || tree.Entries[0].Name != "allowed_signers" || tree.Entries[0].Hash != got[names[2]].Hash {
		t.Errorf("policies/ entries: %+v", tree.Entries)
	}
}

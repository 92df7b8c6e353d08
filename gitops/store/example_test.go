package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/modelgit/modelgit/gitops/store"
	"github.com/modelgit/modelgit/manifests"
)

// A directory's digest is the digest of its listing, which is stored as a
// blob next to the files' blobs.
func ExampleHasher_Add() {
	dir, _ := os.MkdirTemp("", "model")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "config.json"), []byte("{}\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "tokenizer"), 0o755)
	os.WriteFile(filepath.Join(dir, "tokenizer", "vocab.txt"), []byte("hello\n"), 0o644)

	st, _ := store.Open("mem://", "")
	res, err := (&store.Hasher{}).Add(context.Background(), st, dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s", res.Tree.Listing())
	fmt.Println(res.Files, "files,", res.Size, "bytes")
	fmt.Println(res.Digest == manifests.FromBytes(res.Tree.Listing()), res.MediaType())
	// Output:
	// sha256:ca3d163bab055381827226140568f3bef7eaac187cebd76878e0b63e9e442356 3 config.json
	// sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03 6 tokenizer/vocab.txt
	// 2 files, 9 bytes
	// true application/vnd.modelgit.tree.v1+text
}

func ExampleOpen() {
	oci, _ := store.Open("oci://ghcr.io/acme/models", "/repo")
	fmt.Println(oci.URL())
	st, _ := store.Open("", "/repo")
	fmt.Println(st.URL())
	// Output:
	// oci://ghcr.io/acme/models
	// file:///repo/.modelgit/store
}

package repo

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/modelgit/modelgit/gitops/internal/durable"
)

// buildTree returns the hash of the root tree base (zero for none) with the
// changes applied, writing every new blob and tree.
func (r *Repo) buildTree(base plumbing.Hash, changes []File) (plumbing.Hash, error) {
	h, err := r.editTree(base, changes)
	if err != nil || !h.IsZero() {
		return h, err
	}
	// Everything was deleted: the root is the empty tree.
	obj := &plumbing.MemoryObject{}
	if err := (&object.Tree{}).Encode(obj); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("encoding tree: %w", err)
	}
	return r.writeObject(obj)
}

// editTree returns base with the changes applied, or zero when the result
// is empty (git stores no empty subtrees).
func (r *Repo) editTree(base plumbing.Hash, changes []File) (plumbing.Hash, error) {
	entries := map[string]object.TreeEntry{}
	if !base.IsZero() {
		t, err := r.git.TreeObject(base)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("reading tree %s: %w", base, err)
		}
		for _, e := range t.Entries {
			entries[e.Name] = e
		}
	}
	sub := map[string][]File{}
	var subOrder []string
	for _, f := range changes {
		first, rest, nested := strings.Cut(f.Path, "/")
		if !nested {
			if f.Delete {
				delete(entries, first)
				continue
			}
			h, err := r.writeObject(blobObject(f.Content))
			if err != nil {
				return plumbing.ZeroHash, err
			}
			entries[first] = object.TreeEntry{Name: first, Mode: f.Mode, Hash: h}
			continue
		}
		if _, ok := sub[first]; !ok {
			subOrder = append(subOrder, first)
		}
		f.Path = rest
		sub[first] = append(sub[first], f)
	}
	for _, name := range subOrder {
		var subBase plumbing.Hash
		if e, ok := entries[name]; ok && e.Mode == filemode.Dir {
			subBase = e.Hash
		} else if ok && allDeletes(sub[name]) {
			continue // deleting below a file: nothing to do
		}
		h, err := r.editTree(subBase, sub[name])
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if h.IsZero() {
			delete(entries, name) // git stores no empty trees
			continue
		}
		entries[name] = object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h}
	}
	if len(entries) == 0 {
		return plumbing.ZeroHash, nil
	}
	list := make([]object.TreeEntry, 0, len(entries))
	for _, e := range entries {
		list = append(list, e)
	}
	// Git sorts tree entries by name, with directories compared as name+"/".
	key := func(e object.TreeEntry) string {
		if e.Mode == filemode.Dir {
			return e.Name + "/"
		}
		return e.Name
	}
	sort.Slice(list, func(i, j int) bool { return key(list[i]) < key(list[j]) })
	obj := &plumbing.MemoryObject{}
	if err := (&object.Tree{Entries: list}).Encode(obj); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("encoding tree: %w", err)
	}
	return r.writeObject(obj)
}

func allDeletes(fs []File) bool {
	for _, f := range fs {
		if !f.Delete {
			return false
		}
	}
	return true
}

func blobObject(b []byte) *plumbing.MemoryObject {
	o := &plumbing.MemoryObject{}
	o.SetType(plumbing.BlobObject)
	_, _ = o.Write(b)
	return o
}

// writeObject stores obj as a loose object unless the repository has it.
// Unlike go-git's object writer it fsyncs the file before renaming it into
// place, so a ref never points at an object that a crash could lose.
func (r *Repo) writeObject(obj *plumbing.MemoryObject) (plumbing.Hash, error) {
	h := obj.Hash()
	if r.git.Storer.HasEncodedObject(h) == nil {
		return h, nil
	}
	hex := h.String()
	dir := filepath.Join(r.commonDir, "objects", hex[:2])
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return h, fmt.Errorf("writing object %s: %w", hex, err)
	}
	rd, err := obj.Reader()
	if err != nil {
		return h, fmt.Errorf("writing object %s: %w", hex, err)
	}
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	fmt.Fprintf(zw, "%s %d\x00", obj.Type(), obj.Size())
	if _, err := io.Copy(zw, rd); err != nil {
		return h, fmt.Errorf("writing object %s: %w", hex, err)
	}
	if err := zw.Close(); err != nil {
		return h, fmt.Errorf("writing object %s: %w", hex, err)
	}
	final := filepath.Join(dir, hex[2:])
	// git's own temporary objects are named tmp_obj_*; `git prune` (and so
	// gc) removes stale ones a crash left behind.
	if err := writeFileAtomic(dir, "tmp_obj_", final, buf.Bytes(), 0o444, "object-temp-written"); err != nil {
		return h, fmt.Errorf("writing object %s: %w", hex, err)
	}
	return h, nil
}

// writeFileAtomic writes data to a temp file in tmpDir named after prefix,
// fsyncs it and renames it over name, then fsyncs name's directory. tmpDir
// must be on name's file system; step names the crash checkpoint between
// writing and renaming.
func writeFileAtomic(tmpDir, prefix, name string, data []byte, perm os.FileMode, step string) error {
	return durable.WriteFile(name, data, perm, &durable.Options{TempDir: tmpDir, Prefix: prefix, BeforeRename: func() { checkpoint(step) }})
}

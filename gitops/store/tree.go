package store

import (
	"bytes"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/modelgit/modelgit/manifests"
)

// Entry is one file of a Tree.
type Entry struct {
	// Path is slash-separated and relative to the tree root.
	Path   string
	Digest manifests.Digest
	Size   int64
}

// Tree is the content of a directory: its files, sorted by Path in byte
// order. Empty directories are not represented.
type Tree struct {
	Entries []Entry
}

// Listing returns the canonical listing of t: one line
// "sha256:<hex> <size> <path>\n" per file, in the order of t.Entries (which
// callers keep sorted). The tree digest is manifests.FromBytes(Listing()),
// and the listing is stored as a blob of media type
// manifests.MediaTypeTree.
func (t Tree) Listing() []byte {
	var b bytes.Buffer
	for _, e := range t.Entries {
		b.WriteString(e.Digest.String())
		b.WriteByte(' ')
		b.WriteString(strconv.FormatInt(e.Size, 10))
		b.WriteByte(' ')
		b.WriteString(e.Path)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// Digest returns the tree digest, the digest of Listing().
func (t Tree) Digest() manifests.Digest { return manifests.FromBytes(t.Listing()) }

// Size returns the total size of the files.
func (t Tree) Size() int64 {
	var n int64
	for _, e := range t.Entries {
		n += e.Size
	}
	return n
}

// sortEntries puts entries in canonical (byte) order of Path.
func sortEntries(es []Entry) {
	sort.Slice(es, func(i, j int) bool { return es[i].Path < es[j].Path })
}

// ParseListing parses a canonical listing, strictly: every line must be
// "sha256:<hex> <size> <path>" with a decimal size, a relative
// slash-separated path without "." or ".." elements, in strictly increasing
// byte order, and no path may be both a file and a directory. Errors name
// the line.
func ParseListing(b []byte) (Tree, error) {
	var t Tree
	if len(b) == 0 {
		return t, nil
	}
	if b[len(b)-1] != '\n' {
		return Tree{}, fmt.Errorf("parsing tree listing: last line does not end with a newline")
	}
	files := map[string]bool{}
	lines := strings.Split(string(b[:len(b)-1]), "\n")
	for i, line := range lines {
		e, err := parseListingLine(line)
		if err != nil {
			return Tree{}, fmt.Errorf("parsing tree listing line %d: %w", i+1, err)
		}
		if n := len(t.Entries); n > 0 && t.Entries[n-1].Path >= e.Path {
			return Tree{}, fmt.Errorf("parsing tree listing line %d: path %q is not after %q: lines must be sorted by path without duplicates", i+1, e.Path, t.Entries[n-1].Path)
		}
		// In byte order a file comes before anything below it, so checking
		// each path's parents against earlier files finds every conflict.
		for dir := path.Dir(e.Path); dir != "."; dir = path.Dir(dir) {
			if files[dir] {
				return Tree{}, fmt.Errorf("parsing tree listing line %d: path %q is inside %q, which is a file", i+1, e.Path, dir)
			}
		}
		files[e.Path] = true
		t.Entries = append(t.Entries, e)
	}
	return t, nil
}

func parseListingLine(line string) (Entry, error) {
	ds, rest, ok1 := strings.Cut(line, " ")
	ss, p, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 {
		return Entry{}, fmt.Errorf("%q: want \"sha256:<hex> <size> <path>\"", line)
	}
	d, err := manifests.ParseDigest(ds)
	if err != nil {
		return Entry{}, fmt.Errorf("digest: %w", err)
	}
	size, err := strconv.ParseInt(ss, 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != ss {
		return Entry{}, fmt.Errorf("size %q: want a decimal number of bytes", ss)
	}
	if err := checkPath(p); err != nil {
		return Entry{}, err
	}
	return Entry{Path: p, Digest: d, Size: size}, nil
}

// checkPath accepts only relative, clean, slash-separated paths that stay
// inside the tree root.
func checkPath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("empty path")
	case strings.ContainsAny(p, "\n\x00"):
		return fmt.Errorf("path %q: contains a newline or NUL", p)
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("path %q: absolute, want a path relative to the tree root", p)
	}
	for _, el := range strings.Split(p, "/") {
		switch el {
		case "..":
			return fmt.Errorf("path %q: \"..\" would escape the tree root", p)
		case "", ".":
			return fmt.Errorf("path %q: not clean (empty or \".\" element)", p)
		}
	}
	return nil
}

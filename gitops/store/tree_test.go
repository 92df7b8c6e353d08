package store

import (
	"bytes"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/manifests"
)

var (
	dA = manifests.FromBytes([]byte("a"))
	dB = manifests.FromBytes([]byte("b"))
)

func TestParseListingRoundTrip(t *testing.T) {
	tree := Tree{Entries: []Entry{
		{Path: "a b/c d.txt", Digest: dA, Size: 1},
		{Path: "a-b", Digest: dB, Size: 0},
		{Path: "z", Digest: dA, Size: 1 << 40},
	}}
	got, err := ParseListing(tree.Listing())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Listing(), tree.Listing()) {
		t.Errorf("round trip:\n%s\nwant:\n%s", got.Listing(), tree.Listing())
	}
	if empty, err := ParseListing(nil); err != nil || len(empty.Entries) != 0 {
		t.Errorf("empty listing: %v, %v", empty, err)
	}
}

func TestParseListingErrors(t *testing.T) {
	line := func(d manifests.Digest, rest string) string { return d.String() + " " + rest + "\n" }
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"no final newline", strings.TrimSuffix(line(dA, "1 a"), "\n"), "last line does not end with a newline"},
		{"missing fields", "sha256:abc\n", `line 1: "sha256:abc": want "sha256:<hex> <size> <path>"`},
		{"bad digest", "md5:abc 1 a\n", `line 1: digest: invalid digest "md5:abc"`},
		{"bad size", line(dA, "-1 a"), `line 1: size "-1": want a decimal number of bytes`},
		{"leading zero size", line(dA, "01 a"), `line 1: size "01"`},
		{"dotdot", line(dA, "1 ../etc/passwd"), `line 1: path "../etc/passwd": ".." would escape the tree root`},
		{"inner dotdot", line(dA, "1 a/../../b"), `".." would escape`},
		{"absolute", line(dA, "1 /etc/passwd"), `absolute`},
		{"empty path", line(dA, "1 "), `line 1: empty path`},
		{"not clean", line(dA, "1 a//b"), `not clean`},
		{"dot", line(dA, "1 ./a"), `not clean`},
		{"unsorted", line(dA, "1 b") + line(dA, "1 a"), `line 2: path "a" is not after "b"`},
		{"duplicate", line(dA, "1 a") + line(dB, "1 a"), `line 2: path "a" is not after "a"`},
		{"file and dir", line(dA, "1 a") + line(dA, "1 a-b") + line(dA, "1 a/x"), `line 3: path "a/x" is inside "a", which is a file`},
		{"empty line", line(dA, "1 a") + "\n", `line 2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseListing([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseListing error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// FuzzParseListing checks that whatever parses is canonical: it prints
// back to the same bytes and has only safe paths.
func FuzzParseListing(f *testing.F) {
	f.Add([]byte(Tree{Entries: []Entry{{Path: "a/b", Digest: dA, Size: 3}, {Path: "c", Digest: dB}}}.Listing()))
	f.Add([]byte(dA.String() + " 1 ../x\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		tree, err := ParseListing(b)
		if err != nil {
			return
		}
		if !bytes.Equal(tree.Listing(), b) {
			t.Fatalf("parsed listing is not canonical:\n%q\nprints as\n%q", b, tree.Listing())
		}
		for _, e := range tree.Entries {
			if checkPath(e.Path) != nil {
				t.Fatalf("unsafe path accepted: %q", e.Path)
			}
		}
	})
}

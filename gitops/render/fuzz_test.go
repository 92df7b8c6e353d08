package render

import (
	"testing"
)

// FuzzValidate feeds Validate arbitrary YAML streams: it may refuse them,
// never panic.
func FuzzValidate(f *testing.F) {
	files, err := All(testInput())
	if err != nil {
		f.Fatal(err)
	}
	for _, fl := range files {
		f.Add(fl.Content)
	}
	f.Add([]byte("---\n---\n"))
	f.Add([]byte("apiVersion: v1\nkind: Service\nmetadata: 3\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = Validate(b)
	})
}

// FuzzSplitYAML checks that cutting a stream into documents loses no
// document text.
func FuzzSplitYAML(f *testing.F) {
	f.Add([]byte("a: 1\n---\nb: 2\n"))
	f.Add([]byte("--- \n---\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n := 0
		for _, d := range splitYAML(b) {
			n += len(d)
		}
		if n > len(b) {
			t.Fatalf("documents hold %d bytes of a %d-byte stream", n, len(b))
		}
	})
}

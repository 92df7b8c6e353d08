package manifests

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"0.1.0", "1.4.0+data.7", "01.2.3", "1.2.3-rc.1", "1.2.3+data.0", "", "1.2", "9999999999.0.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVersion(s)
		if err != nil {
			if !strings.Contains(err.Error(), "want MAJOR.MINOR.PATCH") {
				t.Errorf("error %q does not say what is valid", err)
			}
			return
		}
		if v.String() != s {
			t.Errorf("ParseVersion(%q).String() = %q", s, v.String())
		}
		if err := v.Valid(); err != nil {
			t.Errorf("ParseVersion(%q) accepts what Valid refuses: %v", s, err)
		}
		for _, next := range []Version{v.NextMajor(), v.NextMinor(), v.NextPatch(), v.NextData()} {
			_, perr := ParseVersion(next.String())
			if verr := next.Valid(); (verr == nil) != (perr == nil) {
				t.Errorf("%s: Valid says %v, ParseVersion says %v", next, verr, perr)
			}
		}
		text, _ := v.MarshalText()
		var back Version
		if err := back.UnmarshalText(text); err != nil || back != v || back.Compare(v) != 0 {
			t.Errorf("text round trip of %q: %v, %v", s, back, err)
		}
		if n := v.NextPatch(); n.Compare(v) <= 0 {
			t.Errorf("NextPatch(%s) = %s is not greater", v, n)
		}
	})
}

func FuzzParseDigest(f *testing.F) {
	for _, s := range []string{"sha256:" + hexA, "sha256:" + strings.ToUpper(hexA), "md5:abc", "sha256:", ":", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDigest(s)
		if err != nil {
			return
		}
		if d.String() != s || len(d.Hex()) != 64 {
			t.Errorf("ParseDigest(%q) = %q", s, d)
		}
		var back Digest
		text, _ := d.MarshalText()
		if err := back.UnmarshalText(text); err != nil || back != d {
			t.Errorf("text round trip of %q: %v, %v", s, back, err)
		}
	})
}

func FuzzParseModelVersion(f *testing.F) {
	if b, err := os.ReadFile("testdata/modelversion.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(minimalVersion))
	f.Add([]byte(strings.Replace(minimalVersion, "size: 10", "size: ten", 1)))
	f.Add([]byte(minimalVersion + "params:\n  a: [1, 2.0, {b: c}]\n  t: 2024-01-01\n  n: ~\n"))
	f.Add([]byte(minimalVersion + "metrics:\n  a: .inf\n"))
	f.Add([]byte("a: &x [*x]\n"))
	for _, extra := range []string{
		"reason: |\n  line one\n  line two: \"quoted\"\n",
		"params:\n  \"y\": on\n  big: 18446744073709551615\n  neg: -0.0\n  inf: -.inf\n  e: 1e400\n  hex: 0x1F\n  s: \"0x1F\"\n",
		"params:\n  base: &b {lr: 1}\n  other:\n    <<: *b\n",
		"targets: [&t staging, *t]\n",
		"params:\n  bin: !!binary aGVsbG8=\n",
		"params:\n  t: 2024-01-01T10:00:00+02:00\n  d: 2024-01-01\n",
		"metrics:\n  a: 1e-320\n  b: 0x10\n",
	} {
		f.Add([]byte(minimalVersion + extra))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		mv, err := ParseModelVersion("fuzz.yaml", data)
		if err != nil {
			fes := AsFileErrors(err)
			if len(fes) == 0 {
				t.Fatalf("error is not FileErrors: %T %v", err, err)
			}
			lines := bytes.Count(data, []byte("\n")) + 2
			for i, fe := range fes {
				if fe.File != "fuzz.yaml" || fe.Line < 0 || fe.Line > lines || fe.Msg == "" {
					t.Errorf("bad FileError %+v", fe)
				}
				if i > 0 && fe.Line < fes[i-1].Line {
					t.Errorf("errors not sorted by line: %v", err)
				}
			}
			return
		}
		b1, err := Marshal(mv)
		if err != nil {
			t.Fatalf("Marshal of a parsed version: %v", err)
		}
		mv2, err := ParseModelVersion("canonical.yaml", b1)
		if err != nil {
			t.Fatalf("parsing the canonical form: %v\n%s", err, b1)
		}
		b2, err := Marshal(mv2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b1, b2) {
			t.Fatalf("parse→marshal→parse is not stable:\n%s\n---\n%s", b1, b2)
		}
		if d := Diff(mv, mv2); len(d) != 0 {
			t.Fatalf("the canonical form differs: %+v", d)
		}
	})
}

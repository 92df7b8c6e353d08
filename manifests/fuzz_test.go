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
		mv := checkParse(t, data, ParseModelVersion)
		if mv == nil {
			return
		}
		b1, _ := Marshal(mv)
		mv2, _ := ParseModelVersion("canonical.yaml", b1)
		if d := Diff(mv, mv2); len(d) != 0 {
			t.Fatalf("the canonical form differs: %+v", d)
		}
	})
}

// checkParse is the property every manifest parser holds: any bytes give
// a value or FileErrors naming the file and lines within it, earliest
// first; a value's canonical form (Marshal, what modelgit writes) parses
// again to the same canonical form. It returns the value, or nil.
func checkParse[T any](t *testing.T, data []byte, parse func(file string, data []byte) (*T, error)) *T {
	t.Helper()
	v, err := parse("fuzz.yaml", data)
	if err != nil {
		fes := AsFileErrors(err)
		if len(fes) == 0 {
			t.Fatalf("error is not FileErrors: %T %v", err, err)
		}
		// YAML ends a line at \n, \r\n or a lone \r (as editors do).
		lines := bytes.Count(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")), []byte("\n")) + bytes.Count(data, []byte("\r")) + 2
		for i, fe := range fes {
			if fe.File != "fuzz.yaml" || fe.Line < 0 || fe.Line > lines || fe.Msg == "" {
				t.Errorf("bad FileError %+v", fe)
			}
			if i > 0 && fe.Line < fes[i-1].Line {
				t.Errorf("errors not sorted by line: %v", err)
			}
		}
		return nil
	}
	b1, err := Marshal(v)
	if err != nil {
		t.Fatalf("Marshal of a parsed value: %v", err)
	}
	v2, err := parse("canonical.yaml", b1)
	if err != nil {
		t.Fatalf("parsing the canonical form: %v\n%s", err, b1)
	}
	b2, err := Marshal(v2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1, b2) {
		t.Fatalf("parse→marshal→parse is not stable:\n%s\n---\n%s", b1, b2)
	}
	return v
}

// FuzzParseRelease: environments/<env>/<model>.yaml, which promote writes
// with Marshal and render, status, verify and check read.
func FuzzParseRelease(f *testing.F) {
	if b, err := os.ReadFile("testdata/release.yaml"); err == nil {
		f.Add(b)
	}
	head := "apiVersion: modelgit.dev/v1alpha1\nkind: Release\nmodel: fraud\nenvironment: prod\n"
	pin := "    digest: sha256:" + hexA + "\n"
	for _, body := range []string{
		"strategy: replace\nversions:\n  - version: 1.0.0\n" + pin,
		"strategy: canary\nversions:\n  - version: 1.0.0\n" + pin + "    weight: 90\n    role: stable\n  - version: 1.1.0+data.2\n" + pin + "    weight: 10\n    role: canary\n",
		"strategy: ab\nmatch: x-variant=b\nversions:\n  - version: 1.0.0\n" + pin + "  - version: 1.0.1\n" + pin,
		"strategy: blue-green\nversions:\n  - version: 1.0.0\n" + pin + "    storageUri: oci://r.example/m@sha256:" + hexA + "\n",
		"strategy: canary\nversions:\n  - version: 1.0.0\n" + pin + "    weight: 101\n",
		"strategy: replace\nversions:\n  - version: 01.0.0\n    digest: md5:x\n",
		"strategy: replace\nversions: [&a {version: 1.0.0, digest: \"sha256:" + hexA + "\"}, *a]\n",
	} {
		f.Add([]byte(head + body))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParse(t, data, ParseRelease)
	})
}

// FuzzParseConfig: modelgit.yaml, the first file every command reads,
// from a clone that may be anyone's.
func FuzzParseConfig(f *testing.F) {
	// The fixture, and the modelgit.yaml modelgit init writes.
	for _, file := range []string{"testdata/config.yaml", "../templates/init/modelgit.yaml"} {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	head := "apiVersion: modelgit.dev/v1alpha1\nkind: Config\n"
	for _, body := range []string{
		"environments:\n  - name: dev\n",
		"store: oci://registry.example.com/ml/models\nenvironments: [{name: dev}, {name: prod, branch: release}]\nclusters:\n  - name: gpu-prod\n    environment: prod\n    gpu: {resource: nvidia.com/gpu, count: 1, nodeSelector: {a: b}, tolerations: [{key: k, operator: Exists}]}\n",
		"environments: [{name: dev}]\nclusters: [{name: cpu, environment: dev, gpu: {count: 0}}]\n",
		"environments: [{name: dev}]\nforge: {type: github, repository: acme/models, url: https://ghe.example.com/api/v3/}\n",
		"environments: [{name: dev}, {name: dev}]\nclusters: [{name: c, environment: nope}]\n",
		"store: s3://bucket\nenvironments: []\n",
	} {
		f.Add([]byte(head + body))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParse(t, data, ParseConfig)
	})
}

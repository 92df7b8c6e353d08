package manifests

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

func TestMarshalRoundTrip(t *testing.T) {
	for _, tt := range validFiles {
		t.Run(tt.file, func(t *testing.T) {
			in, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			x, err := tt.parse(tt.file, in)
			if err != nil {
				t.Fatal(err)
			}
			b1, err := Marshal(x)
			if err != nil {
				t.Fatal(err)
			}
			y, err := tt.parse("marshalled", b1)
			if err != nil {
				t.Fatalf("parsing the canonical form: %v\n%s", err, b1)
			}
			if !reflect.DeepEqual(x, y) {
				t.Errorf("Parse(Marshal(x)) != x\n x = %+v\n y = %+v", x, y)
			}
			b2, err := Marshal(y)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b1, b2) {
				t.Errorf("Marshal is not stable:\n%s\n---\n%s", b1, b2)
			}
		})
	}
}

func TestMarshalCanonicalForm(t *testing.T) {
	at := time.Date(2024, 5, 1, 14, 0, 0, 0, time.FixedZone("CEST", 2*3600))
	frac := time.Date(2024, 5, 1, 12, 0, 0, 500_000_000, time.UTC)
	mv := &ModelVersion{
		APIVersion: APIVersion,
		Kind:       KindModelVersion,
		Model:      "m",
		Version:    Version{1, 0, 0, 1},
		Artifacts: Artifacts{Weights: &Artifact{
			Path: "w.bin", Digest: MustParseDigest("sha256:" + hexA), Size: 3, MediaType: "application/octet-stream",
		}},
		Params:       map[string]any{"z": 1.0, "a": 2, "m": []any{0.5, 3.0}, "n": map[string]any{"y": 1e21, "x": "2024-01-01"}},
		Metrics:      map[string]float64{"b": 0.1, "a": 2},
		TrainedAt:    &frac,
		RegisteredBy: "ada",
		RegisteredAt: at,
	}
	got, err := Marshal(mv)
	if err != nil {
		t.Fatal(err)
	}
	want := `apiVersion: modelgit.dev/v1alpha1
kind: ModelVersion
model: m
version: 1.0.0+data.1
artifacts:
  weights:
    path: w.bin
    digest: sha256:` + hexA + `
    size: 3
    mediaType: application/octet-stream
params:
  a: 2
  m:
    - 0.5
    - 3.0
  "n":
    x: "2024-01-01"
    "y": 1e+21
  z: 1.0
metrics:
  a: 2
  b: 0.1
trainedAt: 2024-05-01T12:00:00.5Z
registeredBy: ada
registeredAt: 2024-05-01T12:00:00Z
`
	if string(got) != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", got, want)
	}
	if mv.Params["z"] != 1.0 || mv.RegisteredAt.Location().String() != "CEST" {
		t.Error("Marshal changed its input")
	}
	back, err := ParseModelVersion("m.yaml", got)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := back.Params["z"].(float64); !ok {
		t.Errorf("params.z read back as %T, want float64", back.Params["z"])
	}
}

func TestVersionDigest(t *testing.T) {
	b, mv := readVersion(t)
	d1, err := VersionDigest(mv)
	if err != nil {
		t.Fatal(err)
	}
	canon, _ := Marshal(mv)
	if d1 != FromBytes(canon) {
		t.Errorf("VersionDigest = %s, want the digest of Marshal", d1)
	}
	// Reordering keys and changing the time zone does not change the digest.
	shuffled := strings.Replace(string(b), "trainedAt: 2024-05-01T10:00:00+02:00", "trainedAt: 2024-05-01T08:00:00Z", 1)
	shuffled = strings.Replace(shuffled, "  accuracy: 0.96\n  latency_ms: 12\n", "  latency_ms: 12.0\n  accuracy: 0.960\n", 1)
	mv2, err := ParseModelVersion("v2.yaml", []byte(shuffled))
	if err != nil {
		t.Fatal(err)
	}
	if d2, _ := VersionDigest(mv2); d2 != d1 {
		t.Errorf("equal content gave digests %s and %s", d1, d2)
	}
	mv2.Metrics["accuracy"] = 0.97
	if d3, _ := VersionDigest(mv2); d3 == d1 {
		t.Error("a different metric gave the same digest")
	}
}

func TestJSONIsCamelCase(t *testing.T) {
	_, mv := readVersion(t)
	j, err := json.Marshal(mv)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"apiVersion":"modelgit.dev/v1alpha1"`, `"version":"1.4.0+data.7"`, `"mediaType":"application/octet-stream"`, `"digest":"sha256:` + hexA + `"`, `"registeredAt":"2024-05-01T12:00:00.5Z"`, `"trainedAt":"2024-05-01T08:00:00Z"`} {
		if !strings.Contains(string(j), want) {
			t.Errorf("JSON lacks %s:\n%s", want, j)
		}
	}
	for _, bad := range []string{`"Major"`, `"APIVersion"`, `"hex"`, `"schema":null`} {
		if strings.Contains(string(j), bad) {
			t.Errorf("JSON has %s:\n%s", bad, j)
		}
	}
	var back ModelVersion
	if err := json.Unmarshal(j, &back); err != nil {
		t.Fatal(err)
	}
	if back.Version != mv.Version || back.Artifacts.Weights.Digest != mv.Artifacts.Weights.Digest {
		t.Errorf("JSON round trip lost values: %+v", back)
	}
}

func BenchmarkParseModelVersion(b *testing.B) {
	data, _ := readVersion(b)
	for b.Loop() {
		if _, err := ParseModelVersion("v.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshal(b *testing.B) {
	_, mv := readVersion(b)
	for b.Loop() {
		if _, err := Marshal(mv); err != nil {
			b.Fatal(err)
		}
	}
}

// yamlV3Marshal is Marshal without its own key sorting: what yaml.v3
// writes for v, canonicalized the same way. For values holding no float
// in an interface it must equal Marshal, byte for byte (digests of every
// registered version depend on it).
func yamlV3Marshal(t *testing.T, v any) []byte {
	t.Helper()
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		t.Fatal(err)
	}
	canonicalize(&n)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		t.Fatal(err)
	}
	enc.Close()
	return b.Bytes()
}

// FuzzMarshalKeyOrder: Marshal orders map keys exactly as yaml.v3 does,
// for any keys, at any depth.
func FuzzMarshalKeyOrder(f *testing.F) {
	for _, s := range []string{
		"a|b|A|a10|a2|a02|a002|1|01|10|é|_x|-y|x1y|x01y|yes|on|~|null|1:20|0x1F|",
		"metric_1|metric_10|metric_9|metric_09|m 1|m\t1|٣|a٣|a3|\n|a\nb",
		"aa|a|aaa|a0|a00|0|00|000|a1b2|a1b10|a01b2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		keys := strings.Split(s, "|")
		keys = keys[:min(len(keys), 40)] // the nested map is keys²
		flat := map[string]string{}
		nested := map[string]map[string]float64{}
		for i, k := range keys {
			flat[k] = k
			inner := map[string]float64{}
			for j, k2 := range keys {
				inner[k2] = float64(i*len(keys) + j)
			}
			nested[k] = inner
		}
		for _, v := range []any{flat, nested, &Model{Name: "m", Labels: flat, Metrics: flat}} {
			got, err := Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if want := yamlV3Marshal(t, v); !bytes.Equal(got, want) {
				t.Fatalf("Marshal differs from yaml.v3:\n%s\n---\n%s", got, want)
			}
		}
	})
}

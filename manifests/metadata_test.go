package manifests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"
)

// readBack is what every command does with a registered version: the
// metrics and params go into a manifest, which is marshalled, parsed
// again and written as JSON (show -o json).
func readBack(t *testing.T, metrics map[string]float64, params map[string]any) {
	t.Helper()
	mv, err := ParseModelVersion("base.yaml", []byte(minimalVersion))
	if err != nil {
		t.Fatal(err)
	}
	mv.Metrics, mv.Params = metrics, params
	raw, err := Marshal(mv)
	if err != nil {
		t.Fatalf("marshalling an accepted version: %v", err)
	}
	back, err := ParseModelVersion("registered.yaml", raw)
	if err != nil {
		t.Fatalf("a version made of accepted metrics and params does not parse: %v\n%s", err, raw)
	}
	if _, err := json.Marshal(back); err != nil {
		t.Fatalf("a version made of accepted metrics and params has no JSON form: %v", err)
	}
}

func TestReadMetadataRefusesWhatCannotBeReadBack(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, params, metrics string
		want                  string // in the error, after "in.yaml:"
	}{
		{name: "NaN param", params: "lr: .nan\n", want: `1:5: field "lr": .nan is not a finite number`},
		{name: "Inf param in JSON", params: `{"a": {"b": [1, -.Inf]}}`, want: `1:17: field "a.b[1]": -.Inf is not a finite number`},
		{name: "second document", params: "lr: 0.1\n---\nepochs: 3\n", want: `2:1: more than one YAML document`},
		{name: "second document in metrics", metrics: "a: 1\n---\nb: 2\n", want: `2:1: more than one YAML document`},
		{name: "empty metric name", metrics: `{"": 0.5, "ok": 1}`, want: `1:1: metric name "" is not valid: it is empty`},
		{name: "newline in metric name", metrics: "\"a\\nb\": 0.5\n", want: `1:9: field "a\nb": metric name "a\nb" is not valid: it holds the control`},
		{name: "newline in param name", params: "opt:\n  \"x\\ny\": 1\n", want: `2:11: field "opt.x\ny": hyperparameter name`},
		{name: "NaN metric", metrics: "a: .nan\n", want: `1:4: field "a": want a finite number, got ".nan"`},
		{name: "list of metrics", metrics: "- a\n", want: `1:1: want a mapping of metric name to number, got a list`},
		{name: "alias param", params: "a: &x 1\nb: *x\n", want: `2:4: field "b": aliases are not supported`},
		{name: "empty", metrics: "# nothing\n", want: ` the file is empty: want a mapping`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.params != "" {
				_, err = ReadParams("in.yaml", strings.NewReader(tc.params))
			} else {
				_, err = ReadMetrics("in.yaml", strings.NewReader(tc.metrics))
			}
			if err == nil || !strings.Contains(err.Error(), "in.yaml:"+tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, "in.yaml:"+tc.want)
			}
			if len(AsFileErrors(err)) == 0 {
				t.Errorf("error is not a FileError: %T", err)
			}
		})
	}
}

// A version manifest holding what register once committed is refused by
// the same checks, naming the field.
func TestParseModelVersionMetadataChecks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ extra, want string }{
		{"params:\n  lr: .nan\n", `field "params.lr": .nan is not a finite number`},
		{"metrics:\n  \"\": 0.5\n", `field "metrics.": metric name "" is not valid`},
		{"metrics:\n  \"a\\nb\": 0.5\n", `metric name "a\nb" is not valid`},
	} {
		_, err := ParseModelVersion("mv.yaml", []byte(minimalVersion+tc.extra))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.extra, err, tc.want)
		}
	}
}

func TestReadMetadataAcceptsAndReadsBack(t *testing.T) {
	t.Parallel()
	m, err := ReadMetrics("m.json", strings.NewReader(`{"accuracy": 0.97, "latency p95": 41, "f1": "0.5"}`))
	if err != nil || m["accuracy"] != 0.97 || m["latency p95"] != 41 || m["f1"] != 0.5 {
		t.Fatalf("ReadMetrics = %v, %v", m, err)
	}
	p, err := ReadParams("p.yaml", strings.NewReader("lr: 1e-3\nlayers: [64, 32]\nopt: {name: adam, beta: [0.9, 0.999]}\nat: 2024-01-01T10:00:00+02:00\nbig: 18446744073709551615\nnote: ~\n"))
	if err != nil {
		t.Fatal(err)
	}
	if at, ok := p["at"].(time.Time); !ok || at.Location() != time.UTC {
		t.Errorf("a time param is %#v, want UTC as the manifest reader gives it", p["at"])
	}
	readBack(t, m, p)
}

func TestReadMetadataLimits(t *testing.T) {
	t.Parallel()
	t.Run("size", func(t *testing.T) {
		// An endless reader (a device such as /dev/zero) stops at the limit.
		_, err := ReadParams("/dev/zero", endless{})
		if err == nil || !strings.Contains(err.Error(), "/dev/zero: the file is larger than 1048576 bytes (1 MiB)") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("metrics", func(t *testing.T) {
		_, err := ReadMetrics("m.json", strings.NewReader(metricsJSON(MaxMetadataValues+1, 0)))
		if err == nil || !strings.Contains(err.Error(), "m.json:1:1: 10001 metrics; at most 10000 are supported") {
			t.Fatalf("got %v", err)
		}
		if _, err := ReadMetrics("m.json", strings.NewReader(metricsJSON(MaxMetadataValues, 0))); err != nil {
			t.Fatalf("10000 metrics: %v", err)
		}
	})
	t.Run("params", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("a: [")
		for i := range MaxMetadataValues {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("1")
		}
		b.WriteString("]\n")
		_, err := ReadParams("p.yaml", strings.NewReader(b.String()))
		if err == nil || !strings.Contains(err.Error(), "p.yaml:1:1: 10001 values; a params file holds at most 10000") {
			t.Fatalf("got %v", err)
		}
	})
}

// The memory a metrics file costs is proportional to its size: reading
// the largest file allowed and turning it into a version manifest (what
// register does) allocates a bounded multiple of its size.
func TestReadMetricsMemory(t *testing.T) {
	in := metricsJSON(MaxMetadataValues, 85)
	if len(in) > MaxMetadataFileSize || len(in) < MaxMetadataFileSize*3/4 {
		t.Fatalf("test bug: input is %d bytes", len(in))
	}
	var m map[string]float64
	alloc := allocated(func() {
		var err error
		if m, err = ReadMetrics("m.json", strings.NewReader(in)); err != nil {
			t.Fatal(err)
		}
	})
	// Measured: about 30 bytes allocated per input byte.
	if limit := uint64(64 * len(in)); alloc > limit {
		t.Errorf("reading %d bytes of metrics allocated %d MiB, want at most %d MiB", len(in), alloc>>20, limit>>20)
	}
	mv, _ := ParseModelVersion("base.yaml", []byte(minimalVersion))
	mv.Metrics = m
	var raw []byte
	alloc = allocated(func() {
		var err error
		if raw, err = Marshal(mv); err != nil {
			t.Fatal(err)
		}
	})
	// Measured: 171 MiB when yaml.v3 sorted the keys (a []rune pair per
	// comparison: n log n times the name length), 81 MiB since Marshal
	// sorts them once (most of it yaml.v3's emitter, linear in the size).
	if limit := uint64(128 * len(in)); alloc > limit {
		t.Errorf("marshalling %d bytes of metrics allocated %d MiB, want at most %d MiB", len(in), alloc>>20, limit>>20)
	}
	alloc = allocated(func() {
		if _, err := ParseModelVersion("mv.yaml", raw); err != nil {
			t.Fatal(err)
		}
	})
	if limit := uint64(64 * len(in)); alloc > limit {
		t.Errorf("parsing a version with %d bytes of metrics allocated %d MiB, want at most %d MiB", len(in), alloc>>20, limit>>20)
	}
}

func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// metricsJSON returns a JSON object of n metrics whose names are padded
// to about pad bytes.
func metricsJSON(n, pad int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		if i > 0 {
			b.WriteString(",\n")
		}
		name := fmt.Sprintf("metric_%d", i)
		name += strings.Repeat("x", max(0, pad-len(name)))
		fmt.Fprintf(&b, "%q: %d.25", name, i)
	}
	b.WriteString("}")
	return b.String()
}

type endless struct{}

func (endless) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

var _ io.Reader = endless{}

// FuzzReadMetadata: whatever ReadMetrics and ReadParams accept can be
// committed and read back (the manifest parses and has a JSON form);
// whatever they refuse is refused with an error naming the file and a
// line within it.
func FuzzReadMetadata(f *testing.F) {
	for _, s := range []string{
		`{"accuracy": 0.97, "auc": 1}`,
		"lr: 0.1\nlayers: [1, 2]\nopt: {a: b}\n",
		"a: .nan\n", "a: .inf\n", "\"\": 1\n", "\"a\\nb\": 1\n",
		"a: 1\n---\nb: 2\n", "a: &x 1\nb: *x\n", "<<: {a: 1}\n",
		"t: 2024-01-01\nn: ~\nbig: 1e400\nhex: 0x1F\n",
		"a: !!binary aGVsbG8=\n", "a: [[[[1]]]]\n", "1: 2\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) + 2
		check := func(err error) {
			fes := AsFileErrors(err)
			if len(fes) == 0 {
				t.Fatalf("error is not FileErrors: %T %v", err, err)
			}
			for _, fe := range fes {
				if fe.File != "in.yaml" || fe.Line < 0 || fe.Line > lines || fe.Msg == "" {
					t.Errorf("bad FileError %+v", fe)
				}
			}
		}
		m, merr := ReadMetrics("in.yaml", bytes.NewReader(data))
		if merr != nil {
			check(merr)
		}
		p, perr := ReadParams("in.yaml", bytes.NewReader(data))
		if perr != nil {
			check(perr)
		}
		if merr == nil || perr == nil {
			readBack(t, m, p)
		}
	})
}

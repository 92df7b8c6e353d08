package gitops_test

import (
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops/register"
)

func TestReadFeaturesShapes(t *testing.T) {
	t.Parallel()
	want := map[string]string{"amount": "number", "hour": "integer"}
	tests := []struct {
		name, content string
		want          map[string]string
		err           string
	}{
		{"list of objects", `{"features": [{"name": "amount", "type": "number"}, {"name": "hour", "type": "integer"}]}`, want, ""},
		{"features mapping", "features:\n  amount: number\n  hour: integer\n", want, ""},
		{"JSON Schema", `{"type": "object", "properties": {"amount": {"type": "number"}, "hour": {"type": "integer"}}}`, want, ""},
		{"JSON Schema nullable and format", `{"properties": {"ts": {"type": ["string", "null"], "format": "date-time"}}}`, map[string]string{"ts": "null|string/date-time"}, ""},
		{"bare mapping", "amount: number\nhour: integer\n", want, ""},
		{"bare names", `{"features": ["amount", "hour"]}`, map[string]string{"amount": "", "hour": ""}, ""},
		{"duplicate", "features:\n  - {name: a, type: int}\n  - {name: a, type: float}\n", nil, ":3:"},
		{"scalar", "42\n", nil, "want a mapping"},
		{"empty", "", nil, "empty"},
		{"bad value", "features:\n  amount: [1, 2]\n", nil, `field "features.amount"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "features.yaml")
			writeFile(t, p, tc.content)
			got, err := register.ReadFeatures(p)
			if tc.err != "" {
				mustContain(t, err, p, tc.err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("ReadFeatures = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReadInterfaceAndParams(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "inference.yaml")
	writeFile(t, p, "batch_size: 8\ninputs:\n  - {name: amount, type: float}\noutputs:\n  score: float\n")
	in, out, err := register.ReadInterface(p)
	if err != nil || in["amount"] != "float" || out["score"] != "float" {
		t.Errorf("ReadInterface = %v, %v, %v", in, out, err)
	}
	writeFile(t, p, "batch_size: 8\n")
	if in, out, err := register.ReadInterface(p); err != nil || in != nil || out != nil {
		t.Errorf("config without an interface: %v, %v, %v", in, out, err)
	}
	pp := filepath.Join(dir, "params.json")
	writeFile(t, pp, `{"lr": 0.1, "layers": [64, 32], "opt": {"name": "adam"}}`)
	params, err := register.ReadParams(pp)
	if err != nil || params["lr"] != 0.1 || len(params) != 3 {
		t.Errorf("ReadParams = %v, %v", params, err)
	}
	mp := filepath.Join(dir, "metrics.yaml")
	writeFile(t, mp, "accuracy: 0.97\nauc: 1\naccuracy: 0.5\n")
	_, err = register.ReadMetrics(mp)
	if err == nil || !strings.Contains(err.Error(), mp) {
		t.Errorf("duplicate metric: %v", err)
	}
}

// FuzzReadFeatures: any bytes give features or an error naming the file,
// never a panic.
func FuzzReadFeatures(f *testing.F) {
	for _, s := range []string{
		`{"features": [{"name": "a", "type": "int"}]}`,
		`{"properties": {"a": {"type": ["number", "null"]}}}`,
		"features:\n  a: int\n",
		"- a\n- b\n",
		"features: [a, {name: b}, [c]]\n",
		"&x a: *x\n",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content string) {
		p := filepath.Join(dir, "features.yaml")
		writeFile(t, p, content)
		got, err := register.ReadFeatures(p)
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error does not name the file: %v", err)
			}
			return
		}
		for name := range got {
			if name == "" {
				t.Errorf("a feature without a name in %v", got)
			}
		}
		if _, _, err := register.ReadInterface(p); err != nil && !strings.Contains(err.Error(), p) {
			t.Errorf("ReadInterface error does not name the file: %v", err)
		}
		if _, err := register.ReadMetrics(p); err != nil && !strings.Contains(err.Error(), p) {
			t.Errorf("ReadMetrics error does not name the file: %v", err)
		}
	})
}

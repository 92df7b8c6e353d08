package manifests

import (
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
	"k8s.io/kube-openapi/pkg/validation/validate"
	sigsyaml "sigs.k8s.io/yaml"
)

func TestReadFeatureSchemaForms(t *testing.T) {
	want := map[string]string{"amount": "float32", "emb": "float32[64]"}
	for name, doc := range map[string]string{
		"list":    `{"features": [{"name": "amount", "type": "float32"}, {"name": "emb", "type": "float32", "shape": [64]}]}`,
		"mapping": `{"features": {"amount": "float32", "emb": {"type": "float32", "shape": [64]}}}`,
		"bare":    "amount: float32\nemb: {type: float32, shape: [64]}\n",
		"inline":  "features:\n  amount: float32\n  emb: float32[64]\n",
	} {
		got, err := ReadFeatureSchema(name, strings.NewReader(doc))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(got) != 2 || got["amount"] != want["amount"] || got["emb"] != want["emb"] {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	js := `{"type": "object", "properties": {"amount": {"type": "number", "format": "double"}, "c": {"type": ["string", "null"]}}}`
	got, err := ReadFeatureSchema("js", strings.NewReader(js))
	if err != nil || got["amount"] != "number/double" || got["c"] != "null|string" {
		t.Errorf("JSON Schema: %v, %v", got, err)
	}
}

// TestFormatsRefuseUnknownFields: a misspelt field is an error naming the
// file, line and field, as in manifests, not silently dropped (#13).
func TestFormatsRefuseUnknownFields(t *testing.T) {
	for _, tc := range []struct {
		name, doc, want string
		read            func(string, string) error
	}{
		{"shape misspelt", "features:\n  - name: emb\n    type: float32\n    shpe: [64]\n", `f:4:5: field "features[0].shpe": unknown field in an entry`, features},
		{"top-level", `{"features": [], "feature": []}`, `field "feature": unknown field`, features},
		{"json schema keyword", `{"properties": {"a": {"type": "number", "minimun": 0}}}`, `field "properties.a.minimun": unknown field in a JSON Schema property`, features},
		{"bad shape", "features:\n  emb: {type: float32, shape: [a]}\n", `field "features.emb.shape[0]": want a dimension`, features},
		{"shape twice", "features:\n  emb: {type: \"float32[3]\", shape: [3]}\n", `has a shape already`, features},
		{"input near miss", "input:\n  a: float32\n", `field "input": unknown field; did you mean "inputs"?`, inference},
		{"Outputs", "inputs: {a: float32}\nOutputs: {b: float32}\n", `did you mean "outputs"?`, inference},
		{"entry field", "inputs:\n  a: {type: float32, dtype: x}\n", `field "inputs.a.dtype": unknown field`, inference},
		{"not a mapping", "- a\n", `want a mapping`, inference},
	} {
		err := tc.read("f", tc.doc)
		var fe FileErrors
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, &fe) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	// The runtime's own settings are not modelgit's to judge.
	in, err := ReadInferenceConfig("f", strings.NewReader("batch_size: 8\ninputs: {a: float32}\n"))
	if err != nil || in.Inputs["a"] != "float32" {
		t.Errorf("runtime settings: %+v, %v", in, err)
	}
	if in, err := ReadInferenceConfig("f", strings.NewReader("batch_size: 8\n")); in != nil || err != nil {
		t.Errorf("no interface: %+v, %v", in, err)
	}
}

func features(file, doc string) error {
	_, err := ReadFeatureSchema(file, strings.NewReader(doc))
	return err
}

func inference(file, doc string) error {
	_, err := ReadInferenceConfig(file, strings.NewReader(doc))
	return err
}

// TestShapeChangeIsMajor (#13).
func TestShapeChangeIsMajor(t *testing.T) {
	old := &ModelVersion{Version: Version{Minor: 1}, Interface: &Interface{Inputs: map[string]string{"x": "float32[-1,30]", "y": "int64"}}}
	next := &ModelVersion{Interface: &Interface{Inputs: map[string]string{"x": "float32[-1,31]", "y": "int64[4]"}}}
	p := Propose(old, next)
	if p.Bump != BumpMajor || p.Version.String() != "1.0.0" {
		t.Fatalf("Propose: %+v", p)
	}
	got := strings.Join(p.Reasons, "\n")
	for _, want := range []string{`input "x" shape changed [-1,30] → [-1,31]: breaking API change`, `input "y" shape changed (none) → [4]: breaking API change`} {
		if !strings.Contains(got, want) {
			t.Errorf("reasons %q lack %q", got, want)
		}
	}
}

var exampleRE = regexp.MustCompile("(?s)<!-- example: ([a-z]+) -->\n```(json|yaml)\n(.*?)```")

// TestFormatExamples checks every example in docs/formats.md against the
// published JSON Schema of its kind and against the code that reads it,
// and that every kind has one (#13).
func TestFormatExamples(t *testing.T) {
	doc, err := os.ReadFile("../docs/formats.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range exampleRE.FindAllStringSubmatch(string(doc), -1) {
		kind, text := m[1], m[3]
		seen[kind] = true
		file := "docs/formats.md (" + kind + ")"
		switch kind {
		case "features":
			_, err = ReadFeatureSchema(file, strings.NewReader(text))
		case "inference":
			_, err = ReadInferenceConfig(file, strings.NewReader(text))
		case "metrics":
			_, err = ReadMetrics(file, strings.NewReader(text))
		case "params":
			_, err = ReadParams(file, strings.NewReader(text))
		case "model":
			_, err = ParseModel(file, []byte(text))
		default:
			t.Errorf("example of unknown kind %q", kind)
			continue
		}
		if err != nil {
			t.Errorf("%s does not read: %v", file, err)
		}
		if problems := validateAgainstSchema(t, kind, text); len(problems) > 0 {
			t.Errorf("%s does not validate against modelgit schema %s: %v", file, kind, problems)
		}
	}
	for _, k := range append([]string{"model"}, FormatKinds...) {
		if !seen[k] {
			t.Errorf("docs/formats.md has no example of %s", k)
		}
	}
	// And the schemas refuse what the readers refuse.
	if p := validateAgainstSchema(t, "features", `{"features": [{"name": "a", "shpe": [1]}]}`); len(p) == 0 {
		t.Error("the features schema accepts an unknown field")
	}
	if p := validateAgainstSchema(t, "model", "apiVersion: modelgit.dev/v1alpha1\nkind: Model\nname: m\nregister: {weigths: x}\n"); len(p) == 0 {
		t.Error("the model schema accepts an unknown field under register")
	}
}

// validateAgainstSchema validates a YAML or JSON document against the
// published schema with kube-openapi's validator (already in the build).
func validateAgainstSchema(t *testing.T, kind, text string) []string {
	t.Helper()
	raw, err := SchemaFile(kind)
	if err != nil {
		t.Fatal(err)
	}
	// kube-openapi's validator does not follow $ref: inline them.
	var generic map[string]any
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatalf("schema %s: %v", kind, err)
	}
	defs, _ := generic["$defs"].(map[string]any)
	delete(generic, "$defs")
	var inline func(v any) any
	inline = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				return inline(defs[strings.TrimPrefix(ref, "#/$defs/")])
			}
			for k, c := range x {
				x[k] = inline(c)
			}
		case []any:
			for i, c := range x {
				x[i] = inline(c)
			}
		}
		return v
	}
	raw, _ = json.Marshal(inline(generic))
	var s spec.Schema
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("schema %s: %v", kind, err)
	}
	j, err := sigsyaml.YAMLToJSON([]byte(text))
	if err != nil {
		t.Fatalf("%s: %v", kind, err)
	}
	var data any
	if err := json.Unmarshal(j, &data); err != nil {
		t.Fatal(err)
	}
	var out []string
	if res := validate.NewSchemaValidator(&s, nil, "", strfmt.Default).Validate(data); res != nil {
		for _, e := range res.Errors {
			out = append(out, e.Error())
		}
	}
	return out
}

func TestSchemaFile(t *testing.T) {
	for _, n := range SchemaNames() {
		b, err := SchemaFile(strings.ToUpper(n))
		if err != nil || !json.Valid(b) {
			t.Errorf("SchemaFile(%s): %v", n, err)
		}
	}
	if _, err := SchemaFile("nope"); err == nil {
		t.Error("SchemaFile(nope) succeeded")
	}
}

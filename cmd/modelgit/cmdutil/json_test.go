package cmdutil

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzIndentJSON: IndentJSON indents any compact JSON exactly as
// json.Indent does.
func FuzzIndentJSON(f *testing.F) {
	for _, s := range []string{
		`{}`, `[]`, `{"a":[]}`, `{"a":{},"b":[1,2,{"c":null}]}`, `"x"`, `12`,
		`{"s":"a \"quoted\" {[,:]} \\ back\\\\","t":"\u003c\u00e9"}`,
		`[[[]],[{}],{"":""}]`, `{"a":true,"b":false,"c":-1.5e10}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var v any
		if json.Unmarshal(raw, &v) != nil {
			return
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, raw); err != nil {
			return
		}
		var want bytes.Buffer
		if err := json.Indent(&want, compact.Bytes(), "", "  "); err != nil {
			t.Fatal(err)
		}
		if got := IndentJSON(nil, compact.Bytes(), 0); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("IndentJSON(%s):\n got %s\nwant %s", compact.Bytes(), got, want.Bytes())
		}
	})
}

// TestPrintJSONLikeEncoder: PrintJSON writes what an Encoder with SetIndent("", "  ")
// and no HTML escaping writes, for values of every kind.
func TestPrintJSONLikeEncoder(t *testing.T) {
	type inner struct {
		S string            `json:"s"`
		M map[string]any    `json:"m,omitempty"`
		L []int             `json:"l"`
		P *float64          `json:"p"`
		E []string          `json:"e"`
		O map[string]string `json:"o"`
	}
	f := 1.5
	for _, v := range []any{
		nil, 0, "a <b> & \"c\"", []any{}, map[string]any{},
		inner{S: "x\ny\t\u2028<&>", M: map[string]any{"k": []any{1, "two", nil, true, map[string]any{}}}, L: []int{1, 2}, P: &f, E: []string{}},
		[]inner{{}, {S: "{[,:]}"}},
	} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := PrintJSON(&got, v); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("PrintJSON(%#v):\n got %q\nwant %q", v, got.String(), want.String())
		}
	}
}

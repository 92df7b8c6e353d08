package manifests

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// color is a TextUnmarshaler the decoder does not know.
type color string

func (c *color) UnmarshalText(b []byte) error {
	switch string(b) {
	case "red", "blue":
		*c = color(b)
		return nil
	}
	return errors.New("color " + string(b) + " is not red or blue")
}

// widget is a manifest kind of a test's own, decoded with Decode.
type widget struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Name       string   `yaml:"name" validate:"required"`
	Size       int      `yaml:"size,omitempty"`
	Colors     []color  `yaml:"colors,omitempty"`
	Tags       []string `yaml:"tags,omitempty"`
}

const widgetHead = "apiVersion: modelgit.dev/v1alpha1\nkind: Widget\nname: w\n"

func TestDecode(t *testing.T) {
	desc := map[reflect.Type]string{reflect.TypeFor[color](): "a color (red or blue)"}
	tests := []struct {
		name string
		in   string
		opts DecodeOptions
		want []string // each error line, in order; none for success
	}{
		{name: "valid", in: widgetHead + "size: 3\ncolors: [red]\n"},
		{
			name: "required, type and text errors",
			in:   "apiVersion: modelgit.dev/v1alpha1\nkind: Widget\nsize: x\ncolors: [green, {}]\n",
			opts: DecodeOptions{Describe: desc},
			want: []string{
				`w.yaml:1:1: field "name": required field is missing; want a string`,
				`w.yaml:3:7: field "size": want an integer, got "x"`,
				`w.yaml:4:10: field "colors[0]": color green is not red or blue`,
				`w.yaml:4:17: field "colors[1]": want a color (red or blue), got a mapping`,
			},
		},
		{
			name: "wrong kind",
			in:   "apiVersion: modelgit.dev/v1alpha1\nkind: Model\n",
			want: []string{`w.yaml:2:7: field "kind": got "Model", want "Widget"`},
		},
		{name: "alias followed", in: widgetHead + "tags: &t [a]\nx: *t\n", want: []string{`w.yaml:5:1: field "x": unknown field; valid fields are apiVersion, kind, name, size, colors, tags`}},
		{name: "alias value followed", in: "apiVersion: modelgit.dev/v1alpha1\nkind: Widget\nname: &n w\nsize: 1\ntags: [*n]\n"},
		{
			name: "alias refused",
			in:   "apiVersion: modelgit.dev/v1alpha1\nkind: Widget\nname: &n w\ntags: [*n]\n",
			opts: DecodeOptions{NoAliases: true},
			want: []string{`w.yaml:4:8: field "tags[0]": aliases (*n) are not supported in a Widget manifest; write the value out`},
		},
		{
			name: "alias refused with noun",
			in:   "apiVersion: modelgit.dev/v1alpha1\nkind: Widget\nname: &n w\ntags: [*n]\n",
			opts: DecodeOptions{NoAliases: true, Noun: "widget file"},
			want: []string{`w.yaml:4:8: field "tags[0]": aliases (*n) are not supported in a widget file; write the value out`},
		},
		{
			name: "validate fails at field",
			in:   widgetHead + "size: -1\n",
			want: []string{`w.yaml:4:7: field "size": size -1 is negative`},
		},
		{
			name: "null field counts as absent",
			in:   widgetHead + "size: ~\n",
			want: []string{`w.yaml:1:1: field "size": size is not written`},
		},
		{
			name: "null field kept",
			in:   widgetHead + "size: ~\n",
			opts: DecodeOptions{KeepNulls: true},
			want: []string{`w.yaml:4:7: field "size": size is null`},
		},
	}
	validate := func(c *Checker, w *widget) {
		switch {
		case w.Size < 0:
			c.Fail("size", "size %d is negative", w.Size)
		case !c.Has("size"):
			c.Fail("size", "size is not written")
		case w.Size == 0:
			c.Fail("size", "size is null")
		}
		if c.File() != "w.yaml" {
			t.Errorf("File() = %q", c.File())
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := Decode("w.yaml", []byte(tt.in), "Widget", tt.opts, validate)
			if len(tt.want) == 0 {
				if err != nil || w == nil {
					t.Fatalf("Decode = %v, %v; want a widget", w, err)
				}
				return
			}
			if w != nil || err == nil {
				t.Fatalf("Decode = %v, %v; want errors", w, err)
			}
			got := strings.Split(err.Error(), "\n")
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(tt.want, "\n     "))
			}
		})
	}
}

func TestCheckerAtAndAdd(t *testing.T) {
	in := widgetHead + "tags:\n  - a\n  - b\n"
	_, err := Decode("w.yaml", []byte(in), "Widget", DecodeOptions{}, func(c *Checker, w *widget) {
		if n := c.At("tags[1]"); n.Line != 6 || n.Column != 5 {
			t.Errorf("At(tags[1]) at %d:%d, want 6:5", n.Line, n.Column)
		}
		if n := c.At("tags[7]"); n.Line != 5 || n.Column != 3 {
			t.Errorf("At(tags[7]) at %d:%d, want the list at 5:3", n.Line, n.Column)
		}
		if n := c.At("nothing.here"); n.Line != 1 || n.Column != 1 {
			t.Errorf("At(nothing.here) at %d:%d, want the root at 1:1", n.Line, n.Column)
		}
		c.Add(&FileError{Line: 6, Column: 6, Field: "tags[1]", Msg: "b is too short"})
	})
	want := `w.yaml:6:6: field "tags[1]": b is too short`
	if err == nil || err.Error() != want {
		t.Errorf("Decode error = %v, want %s", err, want)
	}
	if w, err := Decode[widget]("w.yaml", []byte(widgetHead), "Widget", DecodeOptions{}, nil); err != nil || w.Name != "w" {
		t.Errorf("Decode with nil validate = %v, %v", w, err)
	}
}

package manifests

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Marshal returns the canonical YAML form of a manifest (or any value):
// the same content always gives the same bytes. Struct fields keep their
// declared order, map keys are sorted, indentation is two spaces, times
// are UTC RFC 3339 (with a fraction only when there is one) and floats are
// the shortest form that reads back to the same number, always with a
// decimal point or exponent so they stay floats.
func Marshal(v any) ([]byte, error) {
	var n yaml.Node
	if err := n.Encode(floatsInAny(reflect.ValueOf(v)).Interface()); err != nil {
		return nil, fmt.Errorf("encoding YAML: %w", err)
	}
	canonicalize(&n)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, fmt.Errorf("encoding YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding YAML: %w", err)
	}
	return b.Bytes(), nil
}

// VersionDigest returns the digest of mv's canonical form: what a Release
// pins next to the version number.
func VersionDigest(mv *ModelVersion) (Digest, error) {
	b, err := Marshal(mv)
	if err != nil {
		return Digest{}, fmt.Errorf("marshalling version %s of model %q: %w", mv.Version, mv.Model, err)
	}
	return FromBytes(b), nil
}

func canonicalize(n *yaml.Node) {
	n.HeadComment, n.LineComment, n.FootComment = "", "", ""
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!timestamp" {
			if t, err := time.Parse(time.RFC3339Nano, n.Value); err == nil {
				n.Value = t.UTC().Format(time.RFC3339Nano)
			}
		}
	default:
		for _, c := range n.Content {
			canonicalize(c)
		}
	}
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	return slices.Sorted(maps.Keys(m))
}

// canonFloat is a float held in an interface (a hyperparameter). It
// marshals with a decimal point even when integral, so that it reads back
// as a float and not as an int.
type canonFloat float64

// MarshalYAML implements yaml.Marshaler.
func (f canonFloat) MarshalYAML() (any, error) {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: formatFloat(float64(f))}, nil
}

func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return ".nan"
	case math.IsInf(f, 1):
		return ".inf"
	case math.IsInf(f, -1):
		return "-.inf"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

// floatsInAny returns a copy of v in which every float64 held in an
// interface is a canonFloat. v itself is not changed.
func floatsInAny(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		e := v.Elem()
		var nv reflect.Value
		if e.Kind() == reflect.Float64 || e.Kind() == reflect.Float32 {
			nv = reflect.ValueOf(canonFloat(e.Float()))
		} else {
			nv = floatsInAny(e)
		}
		out := reflect.New(v.Type()).Elem()
		out.Set(nv)
		return out
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		out := reflect.New(v.Type().Elem())
		out.Elem().Set(floatsInAny(v.Elem()))
		return out
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			if !t.Field(i).IsExported() {
				return v // a value type such as Digest or time.Time
			}
		}
		out := reflect.New(t).Elem()
		for i := range t.NumField() {
			out.Field(i).Set(floatsInAny(v.Field(i)))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			out.SetMapIndex(it.Key(), floatsInAny(it.Value()))
		}
		return out
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			out.Index(i).Set(floatsInAny(v.Index(i)))
		}
		return out
	}
	return v
}

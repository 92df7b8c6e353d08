package manifests

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"
)

// Marshal returns the canonical YAML form of a manifest (or any value):
// the same content always gives the same bytes. Struct fields keep their
// declared order, map keys are sorted, indentation is two spaces, times
// are UTC RFC 3339 (with a fraction only when there is one) and floats are
// the shortest form that reads back to the same number, always with a
// decimal point or exponent so they stay floats.
func Marshal(v any) ([]byte, error) {
	m := &marshaller{sortKeys: true}
	m.nonce = fmt.Sprintf("\x00modelgit-sorted-%p-", m)
	var n yaml.Node
	if err := n.Encode(m.copy(reflect.ValueOf(v)).Interface()); err != nil {
		return nil, fmt.Errorf("encoding YAML: %w", err)
	}
	if len(m.sorted) > 0 {
		var entries yaml.Node
		if err := entries.Encode(m.sorted); err == nil {
			m.stitch(&n, entries.Content)
		} else {
			// A key yaml.v3 cannot write as a list item (a multi-line
			// key): let yaml.v3 sort, at its cost.
			m = &marshaller{}
			if err := n.Encode(m.copy(reflect.ValueOf(v)).Interface()); err != nil {
				return nil, fmt.Errorf("encoding YAML: %w", err)
			}
		}
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

// marshaller makes the copy of a value that Marshal encodes.
//
// yaml.v3 sorts a map's keys with a comparison that converts both keys to
// []rune on every call: 10,000 metrics cost over 150 MiB of garbage.
// The copy therefore holds each map of more than one string key as a
// one-entry placeholder map whose key is nonce+i, and sorted[i] holds
// its entries, sorted once in yaml.v3's order (yamlKeys), as a list
// key, value, key, value…; stitch puts them back in the encoded tree.
// Keys and values are encoded by the same yaml.v3 code either way, so the
// bytes are those yaml.v3 writes for the map itself.
type marshaller struct {
	sortKeys bool
	nonce    string
	sorted   [][]any
}

// stitch replaces every placeholder mapping under n by its entries.
func (m *marshaller) stitch(n *yaml.Node, entries []*yaml.Node) {
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[0].Kind == yaml.ScalarNode {
		if id, ok := strings.CutPrefix(n.Content[0].Value, m.nonce); ok {
			if i, err := strconv.Atoi(id); err == nil && i < len(entries) {
				n.Content = entries[i].Content
			}
		}
	}
	for _, c := range n.Content {
		m.stitch(c, entries)
	}
}

// copy returns a copy of v in which every float64 held in an interface
// is a canonFloat and every map of more than one string key a
// placeholder (see marshaller). v itself is not changed.
func (m *marshaller) copy(v reflect.Value) reflect.Value {
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
			nv = m.copy(e)
		}
		out := reflect.New(v.Type()).Elem()
		out.Set(nv)
		return out
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		out := reflect.New(v.Type().Elem())
		out.Elem().Set(m.copy(v.Elem()))
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
			out.Field(i).Set(m.copy(v.Field(i)))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		if m.sortKeys && v.Len() > 1 && v.Type().Key().Kind() == reflect.String {
			keys := yamlKeys{keys: v.MapKeys()}
			keys.runes = make([][]rune, len(keys.keys))
			for i, k := range keys.keys {
				keys.runes[i] = []rune(k.String())
			}
			sort.Sort(keys)
			entries := make([]any, 0, 2*len(keys.keys))
			for _, k := range keys.keys {
				entries = append(entries, k.Interface(), m.copy(v.MapIndex(k)).Interface())
			}
			out := reflect.MakeMapWithSize(v.Type(), 1)
			key := reflect.ValueOf(m.nonce + strconv.Itoa(len(m.sorted))).Convert(v.Type().Key())
			out.SetMapIndex(key, reflect.Zero(v.Type().Elem()))
			m.sorted = append(m.sorted, entries)
			return out
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			out.SetMapIndex(it.Key(), m.copy(it.Value()))
		}
		return out
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			out.Index(i).Set(m.copy(v.Index(i)))
		}
		return out
	}
	return v
}

// yamlKeys sorts string map keys as yaml.v3's keyList does (sorter.go:
// letters before other characters, runs of digits by their number), with
// each key's runes computed once rather than on every comparison.
type yamlKeys struct {
	keys  []reflect.Value
	runes [][]rune
}

func (l yamlKeys) Len() int { return len(l.keys) }

func (l yamlKeys) Swap(i, j int) {
	l.keys[i], l.keys[j] = l.keys[j], l.keys[i]
	l.runes[i], l.runes[j] = l.runes[j], l.runes[i]
}

func (l yamlKeys) Less(i, j int) bool {
	ar, br := l.runes[i], l.runes[j]
	digits := false
	for i := 0; i < len(ar) && i < len(br); i++ {
		if ar[i] == br[i] {
			digits = unicode.IsDigit(ar[i])
			continue
		}
		al := unicode.IsLetter(ar[i])
		bl := unicode.IsLetter(br[i])
		if al && bl {
			return ar[i] < br[i]
		}
		if al || bl {
			if digits {
				return al
			}
			return bl
		}
		var ai, bi int
		var an, bn int64
		if ar[i] == '0' || br[i] == '0' {
			for j := i - 1; j >= 0 && unicode.IsDigit(ar[j]); j-- {
				if ar[j] != '0' {
					an = 1
					bn = 1
					break
				}
			}
		}
		for ai = i; ai < len(ar) && unicode.IsDigit(ar[ai]); ai++ {
			an = an*10 + int64(ar[ai]-'0')
		}
		for bi = i; bi < len(br) && unicode.IsDigit(br[bi]); bi++ {
			bn = bn*10 + int64(br[bi]-'0')
		}
		if an != bn {
			return an < bn
		}
		if ai != bi {
			return ai < bi
		}
		return ar[i] < br[i]
	}
	return len(ar) < len(br)
}

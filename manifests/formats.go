package manifests

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The files register reads besides the artifacts' bytes: the feature
// schema (--schema) and the inference config (--config). docs/formats.md
// shows a complete example of each; JSONSchemaOf("features") and
// JSONSchemaOf("inference") describe them for editors.
//
// A feature, input or output is a name with a type and, optionally, a
// shape. The version manifest keeps them as name → "TYPE" or
// "TYPE[D1,D2,…]" (a dimension of -1 is any size), so that a change of
// shape is a change of the declared interface, which is breaking.

// MaxFormatFileSize is the largest feature schema or inference config
// read: 1 MiB.
const MaxFormatFileSize = 1 << 20

// entryFields are the fields of one feature, input or output written as a
// mapping.
var entryFields = []string{"name", "type", "shape", "description"}

// jsonSchemaTop and jsonSchemaProperty are the JSON Schema keywords a
// feature schema written as JSON Schema may use, at the top and in each
// property.
var (
	jsonSchemaTop      = []string{"$schema", "$id", "$comment", "title", "description", "type", "required", "properties", "additionalProperties"}
	jsonSchemaProperty = []string{"type", "format", "description", "title", "$comment", "enum", "const", "default", "examples", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minLength", "maxLength", "pattern", "items", "minItems", "maxItems", "nullable", "deprecated", "readOnly", "writeOnly"}
)

// ReadFeatureSchema reads a feature schema from r and returns feature name
// → type (TYPE or TYPE[SHAPE]). file names r in errors, which are
// FileErrors. It accepts:
//
//	{"features": [{"name": "amount", "type": "float32", "shape": [1], "description": "…"}, …]}
//	{"features": {"amount": "float32", "tokens": {"type": "int64", "shape": [-1]}}}
//	{"properties": {"amount": {"type": "number"}, …}}   (a JSON Schema)
//	{"amount": "float32", …}
//
// and refuses unknown fields as manifests do: a misspelt "shape" would
// otherwise be dropped silently.
func ReadFeatureSchema(file string, r io.Reader) (map[string]string, error) {
	c, err := readFormat(file, r, "feature schema")
	if c == nil || err != nil {
		return nil, err
	}
	root := c.root
	if root.Kind != yaml.MappingNode {
		c.errorf(root, "", "want a mapping: {\"features\": [...]}, a JSON Schema with \"properties\", or {name: type}; got %s", describeNode(root))
		return nil, c.result()
	}
	var out map[string]string
	switch {
	case mappingValue(root, "features") != nil:
		for i := 0; i+1 < len(root.Content); i += 2 {
			if k := root.Content[i].Value; k != "features" && k != "$schema" && k != "description" {
				c.errorf(root.Content[i], k, "unknown field; a feature schema has features (and optionally $schema, description)")
			}
		}
		out = c.namedTypes("features", mappingValue(root, "features"), false)
	case mappingValue(root, "properties") != nil:
		c.knownKeys(root, "", jsonSchemaTop, "a JSON Schema feature schema")
		out = c.namedTypes("properties", mappingValue(root, "properties"), true)
	default:
		out = c.namedTypes("", root, false)
	}
	if len(c.errs) > 0 {
		return nil, c.result()
	}
	return out, nil
}

// ReadInferenceConfig reads the interface an inference config declares:
// its inputs and outputs, each in a form ReadFeatureSchema accepts under
// "features". The other top-level fields are the serving runtime's own
// settings (batch size, threads …), which modelgit stores with the
// artifact and does not read; a near miss of inputs or outputs ("input",
// "Outputs") is refused rather than read as one. A config that declares
// neither has no interface: nil.
func ReadInferenceConfig(file string, r io.Reader) (*Interface, error) {
	c, err := readFormat(file, r, "inference config")
	if c == nil || err != nil {
		return nil, err
	}
	root := c.root
	if root.Kind != yaml.MappingNode {
		c.errorf(root, "", "want a mapping with inputs and outputs (and the runtime's own settings); got %s", describeNode(root))
		return nil, c.result()
	}
	var in, out map[string]string
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch name := k.Value; name {
		case "inputs":
			in = c.namedTypes("inputs", v, false)
		case "outputs":
			out = c.namedTypes("outputs", v, false)
		default:
			switch base := strings.TrimSuffix(strings.ToLower(name), "s"); base {
			case "input", "output":
				c.errorf(k, name, "unknown field; did you mean %q? (inputs and outputs declare the API)", base+"s")
			}
			if strings.EqualFold(name, "interface") {
				c.errorf(k, name, "unknown field; declare the API with inputs and outputs at the top level")
			}
		}
	}
	if len(c.errs) > 0 {
		return nil, c.result()
	}
	if in == nil && out == nil {
		return nil, nil
	}
	return &Interface{Inputs: in, Outputs: out}, nil
}

func readFormat(file string, r io.Reader, what string) (*Checker, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFormatFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", file, err)
	}
	if len(data) > MaxFormatFileSize {
		return nil, FileErrors{{File: file, Msg: fmt.Sprintf("the file is larger than %d bytes (1 MiB), the limit for a %s: is this the right file?", MaxFormatFileSize, what)}}
	}
	c := &Checker{file: file, nodes: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	if !c.document(data, "the file is empty: want a mapping", "more than one YAML document; want a single mapping") {
		return nil, c.result()
	}
	return c, nil
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// knownKeys reports the keys of mapping n not in known.
func (c *Checker) knownKeys(n *yaml.Node, path string, known []string, what string) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; !slices.Contains(known, k.Value) {
			c.errorf(k, join(path, k.Value), "unknown field in %s; want one of %s", what, strings.Join(known, ", "))
		}
	}
}

// namedTypes reads [{name, type, shape, description}], a list of names,
// {name: type} or {name: {type, shape, description}}; with jsonSchema the
// values are JSON Schema properties.
func (c *Checker) namedTypes(field string, n *yaml.Node, jsonSchema bool) map[string]string {
	out := map[string]string{}
	seen := map[string]*yaml.Node{}
	add := func(at *yaml.Node, path, name, typ string) {
		if name == "" {
			c.errorf(at, path, "a name is empty; every entry needs one")
			return
		}
		if first, dup := seen[name]; dup {
			c.errorf(at, join(field, name), "given twice (first at line %d)", first.Line)
			return
		}
		seen[name] = at
		out[name] = typ
	}
	switch n.Kind {
	case yaml.SequenceNode:
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", field, i)
			switch item.Kind {
			case yaml.ScalarNode: // a bare list of names
				add(item, p, item.Value, "")
			case yaml.MappingNode:
				c.knownKeys(item, p, entryFields, "an entry")
				name := mappingValue(item, "name")
				if name == nil || name.Kind != yaml.ScalarNode {
					c.errorf(item, p+".name", "missing: every entry needs a name")
					continue
				}
				add(item, p, name.Value, c.entryType(p, item, false))
			default:
				c.errorf(item, p, "want {name: …, type: …}, got %s", describeNode(item))
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := join(field, k.Value)
			switch v.Kind {
			case yaml.ScalarNode:
				add(k, p, k.Value, v.Value)
			case yaml.MappingNode:
				if jsonSchema {
					c.knownKeys(v, p, jsonSchemaProperty, "a JSON Schema property")
				} else {
					c.knownKeys(v, p, entryFields[1:], "an entry")
				}
				add(k, p, k.Value, c.entryType(p, v, jsonSchema))
			default:
				c.errorf(v, p, "want a type name or {type: …, shape: […]}, got %s", describeNode(v))
			}
		}
	default:
		c.errorf(n, field, "want a list or a mapping, got %s", describeNode(n))
	}
	return out
}

// entryType is the TYPE[SHAPE] of an entry written as a mapping (or a
// JSON Schema property, whose type may be a list and whose format is
// appended as TYPE/FORMAT).
func (c *Checker) entryType(path string, n *yaml.Node, jsonSchema bool) string {
	typ := ""
	if t := mappingValue(n, "type"); t != nil {
		switch {
		case t.Kind == yaml.ScalarNode:
			typ = t.Value
		case t.Kind == yaml.SequenceNode && jsonSchema: // "type": ["number", "null"]
			var parts []string
			for _, p := range t.Content {
				parts = append(parts, p.Value)
			}
			sort.Strings(parts)
			typ = strings.Join(parts, "|")
		default:
			c.errorf(t, path+".type", "want a type name such as float32, got %s", describeNode(t))
		}
	}
	if f := mappingValue(n, "format"); jsonSchema && f != nil && f.Kind == yaml.ScalarNode {
		typ += "/" + f.Value
	}
	s := mappingValue(n, "shape")
	if s == nil {
		return typ
	}
	if s.Kind != yaml.SequenceNode {
		c.errorf(s, path+".shape", "want a list of dimensions such as [-1, 30] (-1: any size), got %s", describeNode(s))
		return typ
	}
	if strings.Contains(typ, "[") {
		c.errorf(s, path+".shape", "the type %q has a shape already; give it in one place", typ)
		return typ
	}
	dims := make([]string, len(s.Content))
	for i, d := range s.Content {
		v, err := strconv.Atoi(d.Value)
		if d.Kind != yaml.ScalarNode || err != nil || v < -1 {
			c.errorf(d, fmt.Sprintf("%s.shape[%d]", path, i), "want a dimension: a size of 0 or more, or -1 for any size; got %q", d.Value)
			continue
		}
		dims[i] = strconv.Itoa(v)
	}
	return typ + "[" + strings.Join(dims, ",") + "]"
}

// SplitShape splits a declared type "TYPE[D1,D2]" into "TYPE" and
// "[D1,D2]" ("" when no shape is declared).
func SplitShape(t string) (typ, shape string) {
	if i := strings.IndexByte(t, '['); i >= 0 && strings.HasSuffix(t, "]") {
		return t[:i], t[i:]
	}
	return t, ""
}

package register

import (
	"fmt"
	"io"
	"sort"

	"gopkg.in/yaml.v3"

	"github.com/modelgit/modelgit/manifests"
)

// readYAMLFile reads a JSON or YAML file (a regular file of at most
// manifests.MaxMetadataFileSize bytes) into a node tree whose positions
// name lines in error messages.
func readYAMLFile(path string) (*yaml.Node, error) {
	f, err := openMetadata(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, manifests.MaxMetadataFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", path, err)
	}
	if len(data) > manifests.MaxMetadataFileSize {
		return nil, tooLarge(path, int64(len(data)))
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parsing %q: %w", path, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: the file is empty: want a mapping", path)
	}
	return doc.Content[0], nil
}

func nodeErr(path string, n *yaml.Node, field, format string, a ...any) error {
	return fmt.Errorf("%s:%d:%d: field %q: %s", path, n.Line, n.Column, field, fmt.Sprintf(format, a...))
}

// ReadMetrics reads a metrics file with manifests.ReadMetrics, which
// checks it as a version manifest's metrics are checked.
func ReadMetrics(path string) (map[string]float64, error) {
	f, err := openMetadata(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return manifests.ReadMetrics(path, f)
}

// ReadParams reads a hyperparameters file with manifests.ReadParams, which
// checks it as a version manifest's params are checked.
func ReadParams(path string) (map[string]any, error) {
	f, err := openMetadata(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return manifests.ReadParams(path, f)
}

// ReadFeatures reads a feature schema and returns feature name → type. It
// accepts the common shapes:
//
//	{"features": [{"name": "amount", "type": "float"}, …]}
//	{"features": {"amount": "float", …}}
//	{"properties": {"amount": {"type": "number"}, …}}   (JSON Schema)
//	{"amount": "float", …}
func ReadFeatures(path string) (map[string]string, error) {
	n, err := readYAMLFile(path)
	if err != nil {
		return nil, err
	}
	if n.Kind != yaml.MappingNode {
		return nil, nodeErr(path, n, "", "want a mapping: {\"features\": [...]}, a JSON Schema with \"properties\", or {name: type}")
	}
	if f := mapValue(n, "features"); f != nil {
		return namedTypes(path, "features", f)
	}
	if p := mapValue(n, "properties"); p != nil {
		return namedTypes(path, "properties", p)
	}
	return namedTypes(path, "", n)
}

// ReadInterface reads the inputs and outputs an inference config declares
// (keys "inputs" and "outputs", in any shape ReadFeatures accepts). A
// config without them has no declared interface: nil, nil.
func ReadInterface(path string) (inputs, outputs map[string]string, err error) {
	n, err := readYAMLFile(path)
	if err != nil {
		return nil, nil, err
	}
	if n.Kind != yaml.MappingNode {
		return nil, nil, nil
	}
	if in := mapValue(n, "inputs"); in != nil {
		if inputs, err = namedTypes(path, "inputs", in); err != nil {
			return nil, nil, err
		}
	}
	if out := mapValue(n, "outputs"); out != nil {
		if outputs, err = namedTypes(path, "outputs", out); err != nil {
			return nil, nil, err
		}
	}
	return inputs, outputs, nil
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// namedTypes reads [{name, type}], {name: type} or {name: {type: T}}.
func namedTypes(path, field string, n *yaml.Node) (map[string]string, error) {
	out := map[string]string{}
	add := func(at *yaml.Node, name, typ string) error {
		if name == "" {
			return nodeErr(path, at, field, "a feature has no name")
		}
		if _, dup := out[name]; dup {
			return nodeErr(path, at, field+"."+name, "given twice")
		}
		out[name] = typ
		return nil
	}
	switch n.Kind {
	case yaml.SequenceNode:
		for i, item := range n.Content {
			f := fmt.Sprintf("%s[%d]", field, i)
			if item.Kind == yaml.ScalarNode { // a bare list of names
				if err := add(item, item.Value, ""); err != nil {
					return nil, err
				}
				continue
			}
			if item.Kind != yaml.MappingNode {
				return nil, nodeErr(path, item, f, "want {name: …, type: …}, got a %s", kindName(item))
			}
			name, typ := mapValue(item, "name"), mapValue(item, "type")
			if name == nil {
				return nil, nodeErr(path, item, f+".name", "missing: every feature needs a name")
			}
			if err := add(item, name.Value, scalarOrJoin(typ)); err != nil {
				return nil, err
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			typ := ""
			switch v.Kind {
			case yaml.ScalarNode:
				typ = v.Value
			case yaml.MappingNode:
				typ = scalarOrJoin(mapValue(v, "type"))
				if f := mapValue(v, "format"); f != nil && f.Kind == yaml.ScalarNode {
					typ += "/" + f.Value
				}
			default:
				return nil, nodeErr(path, v, joinField(field, k.Value), "want a type name or {type: …}, got a %s", kindName(v))
			}
			if err := add(k, k.Value, typ); err != nil {
				return nil, err
			}
		}
	default:
		return nil, nodeErr(path, n, field, "want a list or a mapping, got a %s", kindName(n))
	}
	return out, nil
}

func scalarOrJoin(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	if n.Kind == yaml.SequenceNode { // JSON Schema "type": ["number", "null"]
		var parts []string
		for _, c := range n.Content {
			parts = append(parts, c.Value)
		}
		sort.Strings(parts)
		s := ""
		for i, p := range parts {
			if i > 0 {
				s += "|"
			}
			s += p
		}
		return s
	}
	return n.Value
}

func joinField(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "scalar"
	case yaml.AliasNode:
		return "alias"
	}
	return "document"
}

package policies

import (
	"bytes"
	"cmp"
	"encoding"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/modelgit/modelgit/manifests"
)

// This file is the strict YAML reader of policies: it checks the node tree
// against the Go types before decoding, so that every problem (unknown
// field, wrong type, missing required field) is reported with file, line,
// column and the dotted field path, in the same form as manifests. The
// manifests package keeps its own reader unexported; this one follows it.

var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

// checker collects the problems of one file and remembers where each field
// is, so that semantic checks can name a line too.
type checker struct {
	file  string
	data  []byte
	root  *yaml.Node
	errs  []*manifests.FileError
	nodes map[string]*yaml.Node // field path → value node
	keys  map[string]*yaml.Node // field path → key node
}

func newChecker(file string, data []byte) *checker {
	return &checker{file: file, data: data, nodes: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
}

func (c *checker) errorf(n *yaml.Node, field, format string, args ...any) {
	e := &manifests.FileError{File: c.file, Field: field, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	c.errs = append(c.errs, e)
}

// fail reports a problem with the value at field, located at that value or,
// when the field is absent, at its nearest present ancestor.
func (c *checker) fail(field, format string, args ...any) {
	c.errorf(c.at(field), field, format, args...)
}

// has reports whether field was written in the file.
func (c *checker) has(field string) bool {
	_, ok := c.nodes[field]
	return ok
}

func (c *checker) at(field string) *yaml.Node {
	for p := field; p != ""; p = parentPath(p) {
		if n, ok := c.nodes[p]; ok {
			return n
		}
	}
	return c.root
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// result returns the problems as manifests.FileErrors, earliest first.
func (c *checker) result() error {
	slices.SortStableFunc(c.errs, func(a, b *manifests.FileError) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column), cmp.Compare(a.Field, b.Field))
	})
	return manifests.FileErrors(c.errs)
}

// decodeStrict checks the document against T and decodes it into out. It
// reports whether decoding succeeded; problems are in c.errs.
func decodeStrict[T any](c *checker, kind string, out *T) bool {
	if !c.load(kind) {
		return false
	}
	c.walk(c.root, reflect.TypeFor[T](), "")
	if len(c.errs) > 0 {
		return false
	}
	dec := yaml.NewDecoder(bytes.NewReader(c.data))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil {
		// The walk accepts only what the decoder accepts, so this is a
		// safety net: keep the line the decoder names.
		c.yamlError(err)
		return false
	}
	return true
}

// parserProblems are the yaml.v3 parser messages, whose line yaml.v3
// reports 0-based (its scanner messages are 1-based).
var parserProblems = map[string]bool{
	"did not find expected <document start>": true,
	"did not find expected node content":     true,
	"did not find expected key":              true,
	"did not find expected '-' indicator":    true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found undefined tag handle":             true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

func (c *checker) yamlError(err error) {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	for _, m := range msgs {
		e := &manifests.FileError{File: c.file, Msg: "invalid YAML: " + strings.TrimPrefix(m, "yaml: ")}
		if sm := yamlLineRE.FindStringSubmatch(m); sm != nil {
			e.Line, _ = strconv.Atoi(sm[1])
			e.Msg = "invalid YAML: " + sm[2]
			if parserProblems[sm[2]] {
				e.Line++
			}
		}
		c.errs = append(c.errs, e)
	}
}

// load parses the YAML into c.root and checks apiVersion and kind. It
// reports whether the walk should go on.
func (c *checker) load(kind string) bool {
	dec := yaml.NewDecoder(bytes.NewReader(c.data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			c.errorf(nil, "", "file is empty; want a %s manifest", kind)
		} else {
			c.yamlError(err)
		}
		return false
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		if err != nil {
			c.yamlError(err)
		} else {
			c.errorf(&extra, "", "more than one YAML document; want a single %s manifest", kind)
		}
		return false
	}
	c.root = &doc
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		c.root = doc.Content[0]
	}
	if c.root.Kind != yaml.MappingNode {
		c.errorf(c.root, "", "want a %s manifest (a mapping with apiVersion and kind), got %s", kind, describeNode(c.root))
		return false
	}
	var apiVersion, kindNode *yaml.Node
	for i := 0; i+1 < len(c.root.Content); i += 2 {
		switch c.root.Content[i].Value {
		case "apiVersion":
			apiVersion = c.root.Content[i+1]
		case "kind":
			kindNode = c.root.Content[i+1]
		}
	}
	switch {
	case kindNode == nil:
		c.errorf(c.root, "kind", "required field is missing; want %q", kind)
		return false
	case kindNode.Kind != yaml.ScalarNode || kindNode.Value != kind:
		c.errorf(kindNode, "kind", "got %s, want %q", describeNode(kindNode), kind)
		return false
	}
	switch {
	case apiVersion == nil:
		c.errorf(c.root, "apiVersion", "required field is missing; want %q", manifests.APIVersion)
	case apiVersion.Kind != yaml.ScalarNode || apiVersion.Value != manifests.APIVersion:
		c.errorf(apiVersion, "apiVersion", "got %s, want %q", describeNode(apiVersion), manifests.APIVersion)
	}
	return true
}

// field is a struct field as the YAML sees it.
type field struct {
	name     string
	typ      reflect.Type
	required bool
}

func structFields(t reflect.Type) []field {
	var fs []field
	for sf := range t.Fields() {
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		fs = append(fs, field{name: name, typ: sf.Type, required: hasRule(sf.Tag.Get("validate"), "required")})
	}
	return fs
}

func hasRule(tag, rule string) bool {
	for r := range strings.SplitSeq(tag, ",") {
		if strings.TrimSpace(r) == rule {
			return true
		}
	}
	return false
}

var durationType = reflect.TypeFor[Duration]()

// describeType says in words what a value of type t must look like.
func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == durationType {
		return `a duration such as "24h", "90m" or "7d"`
	}
	switch t.Kind() {
	case reflect.Struct:
		return "a mapping"
	case reflect.Map:
		return "a mapping of names to " + plural(describeType(t.Elem()))
	case reflect.Slice:
		return "a list of " + plural(describeType(t.Elem()))
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.Bool:
		return "true or false"
	}
	return "any value"
}

func plural(s string) string {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "an "), "a ")
	switch {
	case s == "true or false":
		return "booleans"
	case strings.HasPrefix(s, "mapping"):
		return "mappings" + strings.TrimPrefix(s, "mapping")
	case strings.HasPrefix(s, "list"):
		return "lists" + strings.TrimPrefix(s, "list")
	}
	w, rest, _ := strings.Cut(s, " ")
	if rest != "" {
		return w + "s " + rest
	}
	return w + "s"
}

// describeNode says in words what n is, for "got …".
func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "null"
		}
		return strconv.Quote(n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// walk checks the node against the Go type the decoder will fill, so that
// every problem is found (the decoder stops at the first bad value) with
// its line and field path.
func (c *checker) walk(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind == yaml.AliasNode {
		// Expanding aliases multiplies work and errors; a policy is short
		// enough to write out.
		c.errorf(n, path, "aliases (*%s) are not supported in a policy; write the value out", n.Value)
		return
	}
	c.nodes[path] = n
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	wrong := func() {
		c.errorf(n, path, "want %s, got %s", describeType(t), describeNode(n))
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		if n.Kind != yaml.ScalarNode || isNull(n) {
			wrong()
			return
		}
		u := reflect.New(t).Interface().(encoding.TextUnmarshaler)
		if err := u.UnmarshalText([]byte(n.Value)); err != nil {
			c.errorf(n, path, "%v", err)
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			wrong()
			return
		}
		c.walkStruct(n, t, path)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			wrong()
			return
		}
		seen := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if !c.key(k, path, seen) {
				continue
			}
			p := join(path, k.Value)
			if isNull(v) {
				c.errorf(v, p, "want %s, got null", describeType(t.Elem()))
				continue
			}
			c.walk(v, t.Elem(), p)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			wrong()
			return
		}
		for i, item := range n.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			if isNull(item) {
				c.errorf(item, p, "want %s, got null", describeType(t.Elem()))
				continue
			}
			c.walk(item, t.Elem(), p)
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode || isNull(n) {
			wrong()
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		var x int64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&x) != nil || reflect.Zero(t).OverflowInt(x) {
			wrong()
		}
	case reflect.Float64, reflect.Float32:
		var x float64
		if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") || n.Decode(&x) != nil {
			wrong()
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			wrong()
		}
	default:
		c.errorf(n, path, "internal error: cannot check Go type %s", t)
	}
}

// key checks a mapping key: a plain name, not repeated.
func (c *checker) key(k *yaml.Node, path string, seen map[string]*yaml.Node) bool {
	if k.Kind != yaml.ScalarNode || isNull(k) {
		c.errorf(k, path, "want a name as mapping key, got %s", describeNode(k))
		return false
	}
	if k.Value == "<<" && k.ShortTag() == "!!merge" {
		c.errorf(k, path, "merge keys (<<) are not supported; write the fields out")
		return false
	}
	if first, ok := seen[k.Value]; ok {
		c.errorf(k, join(path, k.Value), "duplicate key, first defined at line %d", first.Line)
		return false
	}
	seen[k.Value] = k
	c.keys[join(path, k.Value)] = k
	return true
}

func (c *checker) walkStruct(n *yaml.Node, t reflect.Type, path string) {
	fields := structFields(t)
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !c.key(k, path, seen) {
			continue
		}
		p := join(path, k.Value)
		j := slices.IndexFunc(fields, func(f field) bool { return f.name == k.Value })
		if j < 0 {
			c.errorf(k, p, "unknown field%s; valid fields are %s", suggest(k.Value, fields), fieldNames(fields))
			continue
		}
		f := fields[j]
		if isNull(v) {
			c.nodes[p] = v
			if f.required {
				c.errorf(v, p, "required field is empty; want %s", describeType(f.typ))
			}
			continue
		}
		if f.required && v.Kind == yaml.ScalarNode && v.Value == "" {
			c.errorf(v, p, "required field is empty; want %s", describeType(f.typ))
			continue
		}
		c.walk(v, f.typ, p)
	}
	at := n
	if k, ok := c.keys[path]; ok {
		at = k
	}
	for _, f := range fields {
		if _, ok := seen[f.name]; !ok && f.required {
			c.errorf(at, join(path, f.name), "required field is missing; want %s", describeType(f.typ))
		}
	}
}

func fieldNames(fs []field) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.name
	}
	return strings.Join(names, ", ")
}

// suggest returns ` (did you mean "x"?)` for a near miss.
func suggest(name string, fs []field) string {
	best, bestD := "", 3
	for _, f := range fs {
		if d := editDistance(strings.ToLower(name), strings.ToLower(f.name)); d < bestD {
			best, bestD = f.name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

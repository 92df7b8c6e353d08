package manifests

import (
	"encoding"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// field is a struct field as the YAML sees it.
type field struct {
	name     string
	typ      reflect.Type
	required bool
	// hint, from the field's hint tag, replaces "want <type>" when a
	// required field is missing or empty: how to write it.
	hint string
}

// fieldsByType caches structFields: reading the tags of every struct of a
// manifest again for each manifest checked cost a cold which (247
// manifests) 10 ms.
var fieldsByType sync.Map // reflect.Type → []field

// structFields lists t's fields as the YAML sees them, in order. The slice
// is shared: callers do not change it.
func structFields(t reflect.Type) []field {
	if fs, ok := fieldsByType.Load(t); ok {
		return fs.([]field)
	}
	fs := readFields(t)
	fieldsByType.Store(t, fs)
	return fs
}

func readFields(t reflect.Type) []field {
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
		fs = append(fs, field{name: name, typ: sf.Type, required: hasRule(sf.Tag.Get("validate"), "required"), hint: sf.Tag.Get("hint")})
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

// describeType says in words what a value of type t must look like.
func (c *Checker) describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if d, ok := c.opts.Describe[t]; ok {
		return d
	}
	switch t {
	case digestType:
		return "a digest sha256:<64 hex digits>"
	case versionType:
		return "a version MAJOR.MINOR.PATCH or MAJOR.MINOR.PATCH+data.N"
	case timeType:
		return "an RFC 3339 time such as 2024-05-01T12:00:00Z"
	}
	switch t.Kind() {
	case reflect.Struct:
		return "a mapping"
	case reflect.Map:
		return "a mapping of names to " + plural(c.describeType(t.Elem()))
	case reflect.Slice:
		return "a list of " + plural(c.describeType(t.Elem()))
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
	case s == "any value":
		return "any values"
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
// every problem is found (the decoder stops at the first bad text value)
// with its line and field path.
func (c *Checker) walk(n *yaml.Node, t reflect.Type, path string) {
	n, ok := c.deref(n, path)
	if !ok {
		return
	}
	c.nodes[path] = n
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	wrong := func() {
		c.errorf(n, path, "want %s, got %s", c.describeType(t), describeNode(n))
	}
	if t.Kind() != reflect.Interface && reflect.PointerTo(t).Implements(textUnmarshalerType) {
		c.walkText(n, t, path, wrong)
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
		c.walkMap(n, t, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			wrong()
			return
		}
		for i, item := range n.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			if isNull(item) {
				c.errorf(item, p, "want %s, got null", c.describeType(t.Elem()))
				continue
			}
			c.walk(item, t.Elem(), p)
		}
	case reflect.Interface:
		c.walkAny(n, path, 0)
	case reflect.String, reflect.Int, reflect.Int64, reflect.Int32, reflect.Float64, reflect.Float32, reflect.Bool:
		if !scalarFits(n, t) {
			wrong()
		}
	default:
		c.errorf(n, path, "internal error: cannot check Go type %s", t)
	}
}

// deref follows an alias (when the options allow them) to its node.
func (c *Checker) deref(n *yaml.Node, path string) (*yaml.Node, bool) {
	if n.Kind == yaml.AliasNode && c.opts.NoAliases {
		c.errorf(n, path, "aliases (*%s) are not supported in a %s; write the value out", n.Value, c.noun())
		return nil, false
	}
	for depth := 0; n.Kind == yaml.AliasNode; depth++ {
		if depth > 16 || n.Alias == nil {
			c.errorf(n, path, "alias nests too deep")
			return nil, false
		}
		n = n.Alias
	}
	return n, true
}

// walkText checks a value of a type that reads itself from text (a
// version, a digest, a time).
func (c *Checker) walkText(n *yaml.Node, t reflect.Type, path string, wrong func()) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		wrong()
		return
	}
	if t == timeType {
		if _, err := time.Parse(time.RFC3339Nano, n.Value); err != nil {
			wrong()
		}
		return
	}
	if t == digestType && n.Value == "" {
		wrong() // the zero Digest reads from "", but no file may hold one
		return
	}
	u := reflect.New(t).Interface().(encoding.TextUnmarshaler)
	if err := u.UnmarshalText([]byte(n.Value)); err != nil {
		c.errorf(n, path, "%v", err)
	}
}

// walkMap checks each key and value of a mapping read into a Go map.
func (c *Checker) walkMap(n *yaml.Node, t reflect.Type, path string) {
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !c.key(k, path, seen) {
			continue
		}
		p := join(path, k.Value)
		if isNull(v) && t.Elem().Kind() != reflect.Interface {
			c.errorf(v, p, "want %s, got null", c.describeType(t.Elem()))
			continue
		}
		c.walk(v, t.Elem(), p)
	}
}

// scalarFits reports whether n is a scalar of Go kind t: a string, an
// integer that fits, a number, a bool.
func scalarFits(n *yaml.Node, t reflect.Type) bool {
	if n.Kind != yaml.ScalarNode || isNull(n) && t.Kind() == reflect.String {
		return false
	}
	switch t.Kind() {
	case reflect.String:
		return true
	case reflect.Int, reflect.Int64, reflect.Int32:
		var x int64
		return n.ShortTag() == "!!int" && n.Decode(&x) == nil && !reflect.Zero(t).OverflowInt(x)
	case reflect.Float64, reflect.Float32:
		var x float64
		return (n.ShortTag() == "!!int" || n.ShortTag() == "!!float") && n.Decode(&x) == nil
	case reflect.Bool:
		return n.ShortTag() == "!!bool"
	}
	return false
}

// key checks a mapping key: a plain name, not repeated.
func (c *Checker) key(k *yaml.Node, path string, seen map[string]*yaml.Node) bool {
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

func (c *Checker) walkStruct(n *yaml.Node, t reflect.Type, path string) {
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
			if c.opts.KeepNulls {
				c.nodes[p] = v
			}
			if f.required {
				c.errorf(v, p, "required field is empty; %s", c.want(f))
			}
			continue
		}
		if f.required && v.Kind == yaml.ScalarNode && v.Value == "" {
			c.errorf(v, p, "required field is empty; %s", c.want(f))
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
			c.errorf(at, join(path, f.name), "required field is missing; %s", c.want(f))
		}
	}
}

// want says what a required field should hold: its hint, else "want"
// and its type.
func (c *Checker) want(f field) string {
	if f.hint != "" {
		return f.hint
	}
	return "want " + c.describeType(f.typ)
}

// walkAny checks free-form values (hyperparameters): mapping keys must be
// strings so that the value also has a JSON form.
func (c *Checker) walkAny(n *yaml.Node, path string, depth int) {
	if depth > 64 {
		c.errorf(n, path, "value nests too deep")
		return
	}
	c.nodes[path] = n
	switch n.Kind {
	case yaml.AliasNode:
		c.errorf(n, path, "aliases are not supported here; write the value out")
	case yaml.MappingNode:
		seen := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.ShortTag() != "!!str" && k.ShortTag() != "!!merge" {
				c.errorf(k, path, "want a string as mapping key, got %s (quote it)", describeNode(k))
				continue
			}
			if !c.key(k, path, seen) {
				continue
			}
			c.walkAny(v, join(path, k.Value), depth+1)
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			c.walkAny(item, path+"["+strconv.Itoa(i)+"]", depth+1)
		}
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!float":
			// JSON (show -o json, the Action's outputs) has no NaN or
			// infinity: a value that cannot be written there is refused
			// here, where every reader and register see it.
			var f float64
			if n.Decode(&f) == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
				c.errorf(n, path, "%s is not a finite number; want a number such as 0.5 or 1e-3 (JSON has no NaN or infinity)", n.Value)
			}
		case "!!str", "!!int", "!!bool", "!!null", "!!timestamp":
		default:
			c.errorf(n, path, "tag %s is not supported; want a string, number, boolean, list or mapping", n.Tag)
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

package manifests

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

var (
	timeType            = reflect.TypeFor[time.Time]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	digestType          = reflect.TypeFor[Digest]()
	versionType         = reflect.TypeFor[Version]()
)

// DecodeOptions change how Decode reads a file. The zero value suits the
// manifests of this package.
type DecodeOptions struct {
	// NoAliases refuses a YAML alias (*name) wherever it stands for a
	// value: "aliases (*name) are not supported in a <Noun>; write the
	// value out". By default an alias is followed, up to 16 levels.
	NoAliases bool
	// Noun is what a file of this kind is called in messages, e.g.
	// "policy"; empty means "<kind> manifest".
	Noun string
	// KeepNulls makes a field of a struct written as null (field: ~)
	// count as written: Has reports it and At returns its null value, so
	// that problems with the field point at its line. By default such a
	// field counts as absent.
	KeepNulls bool
	// Describe says in words what a value of a type must look like, for
	// types Decode does not know, e.g. a TextUnmarshaler:
	// {reflect.TypeFor[Duration](): `a duration such as "24h"`}. It is
	// used in messages such as "want <description>, got a list".
	Describe map[reflect.Type]string
}

// Checker collects the problems of one file being decoded and remembers
// where each field stands, so that the checks of a Decode validate
// function can name file, line, column and field too. Fields are named by
// dotted paths with [i] for list items, e.g. "gates[0].expression" or
// "artifacts.weights.digest". A Checker is made by Decode only.
type Checker struct {
	file  string
	opts  DecodeOptions
	kind  string
	root  *yaml.Node
	errs  []*FileError
	nodes map[string]*yaml.Node // field path → value node
	keys  map[string]*yaml.Node // field path → key node
}

// Decode strictly decodes a single-document YAML manifest of the given
// kind into a new T, a struct: the file must be a mapping whose kind is
// kind and whose apiVersion is APIVersion, and every field must be known
// to T and of its type. T's fields are named by their yaml tags; a
// validate tag holding "required" makes a field required (a hint tag then
// says how to write it, in place of its type). Fields may be
// structs, maps with string keys, slices, pointers, strings, integers,
// floats, booleans, time.Time, encoding.TextUnmarshalers (Digest,
// Version) and, for free-form values, interfaces. YAML merge keys (<<)
// and repeated keys are refused.
//
// Every problem is found, not just the first, and reported as a
// *FileError naming file, line, column and field; several come back
// together as FileErrors, earliest line first. Times are returned in UTC.
//
// When the file decodes, validate (if not nil) checks what the types
// cannot and reports with the Checker's Fail; Decode returns the value
// only when it reported nothing. validate may also fill in defaults.
func Decode[T any](file string, data []byte, kind string, opts DecodeOptions, validate func(*Checker, *T)) (*T, error) {
	c := &Checker{file: file, opts: opts, kind: kind, nodes: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	out := new(T)
	if !c.load(data, kind) {
		return nil, c.result()
	}
	c.walk(c.root, reflect.TypeFor[T](), "")
	if len(c.errs) > 0 {
		return nil, c.result()
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil {
		// The walk accepts only what the decoder accepts, so this is a
		// safety net: keep the line the decoder names.
		c.yamlError(err)
		return nil, c.result()
	}
	normalizeTimes(reflect.ValueOf(out).Elem())
	if validate != nil {
		validate(c, out)
	}
	if len(c.errs) > 0 {
		return nil, c.result()
	}
	return out, nil
}

// File returns the name of the file being decoded, as given to Decode.
func (c *Checker) File() string { return c.file }

func (c *Checker) errorf(n *yaml.Node, field, format string, args ...any) {
	e := &FileError{File: c.file, Field: field, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	c.errs = append(c.errs, e)
}

// Fail reports a problem with the value at field, located at that value
// or, when the field is absent, at its nearest present ancestor. format
// and args are as for fmt.Sprintf.
func (c *Checker) Fail(field, format string, args ...any) {
	c.errorf(c.At(field), field, format, args...)
}

// Add reports a problem the caller has located itself, e.g. inside a
// value. An empty e.File is set to the file being decoded.
func (c *Checker) Add(e *FileError) {
	if e.File == "" {
		e.File = c.file
	}
	c.errs = append(c.errs, e)
}

// Has reports whether field was written in the file (see
// DecodeOptions.KeepNulls for fields written as null).
func (c *Checker) Has(field string) bool {
	_, ok := c.nodes[field]
	return ok
}

// At returns the value node of field or, when the field is absent, of its
// nearest present ancestor; the document's root mapping when there is
// none. Its Line and Column are 1-based.
func (c *Checker) At(field string) *yaml.Node {
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

func (c *Checker) result() error {
	sortFileErrors(c.errs)
	return FileErrors(c.errs)
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

func (c *Checker) yamlError(err error) {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	for _, m := range msgs {
		e := &FileError{File: c.file, Msg: "invalid YAML: " + strings.TrimPrefix(m, "yaml: ")}
		if sm := yamlLineRE.FindStringSubmatch(m); sm != nil {
			e.Line, _ = strconv.Atoi(sm[1])
			e.Msg = "invalid YAML: " + sm[2]
			if parserProblems[sm[2]] {
				e.Line++ // yaml.v3 reports parser (not scanner) errors 0-based
			}
		}
		c.errs = append(c.errs, e)
	}
}

// load parses the YAML into c.root and checks apiVersion and kind. It
// reports whether the walk should go on.
func (c *Checker) load(data []byte, kind string) bool {
	if !c.document(data, "file is empty; want a "+kind+" manifest", "more than one YAML document; want a single "+kind+" manifest") {
		return false
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
		c.errorf(c.root, "apiVersion", "required field is missing; want %q", APIVersion)
	case apiVersion.Kind != yaml.ScalarNode || apiVersion.Value != APIVersion:
		c.errorf(apiVersion, "apiVersion", "got %s, want %q", describeNode(apiVersion), APIVersion)
	}
	return true
}

// document parses data as exactly one YAML document into c.root. It
// reports empty or several (a later document would be silently dropped)
// with the messages given, and whether the document was read.
func (c *Checker) document(data []byte, empty, several string) bool {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			c.errorf(nil, "", "%s", empty)
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
			c.errorf(&extra, "", "%s", several)
		}
		return false
	}
	c.root = &doc
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		c.root = doc.Content[0]
	}
	return true
}

// field is a struct field as the YAML sees it.
type field struct {
	name     string
	typ      reflect.Type
	required bool
	// hint, from the field's hint tag, replaces "want <type>" when a
	// required field is missing or empty: how to write it.
	hint string
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

// noun is what the file is called in messages.
func (c *Checker) noun() string {
	if c.opts.Noun != "" {
		return c.opts.Noun
	}
	return c.kind + " manifest"
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

// normalizeTimes turns every time.Time in v into UTC, so that parsing the
// canonical form gives back equal values.
func normalizeTimes(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			normalizeTimes(v.Elem())
		}
	case reflect.Struct:
		if v.Type() == timeType {
			if v.CanSet() {
				v.Set(reflect.ValueOf(v.Interface().(time.Time).UTC()))
			}
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				normalizeTimes(v.Field(i))
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			normalizeTimes(v.Index(i))
		}
	case reflect.Interface:
		// Only free-form values (hyperparameters) hold interfaces: a
		// timestamp there is replaced by its UTC form.
		if t, ok := v.Interface().(time.Time); ok && v.CanSet() {
			v.Set(reflect.ValueOf(t.UTC()))
		} else if !v.IsNil() {
			normalizeTimes(v.Elem())
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if t, ok := it.Value().Interface().(time.Time); ok {
				v.SetMapIndex(it.Key(), reflect.ValueOf(t.UTC()))
			} else {
				normalizeTimes(it.Value())
			}
		}
	}
}

package manifests

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
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
	// Decoded from the tree load parsed, not parsed again: parsing is most
	// of a manifest's decoding (a version manifest: 1,039 → 675
	// allocations, 69 → 45 KB). The walk has refused every unknown field (the decoder's
	// KnownFields would need a second parse), and accepts only what the
	// decoder accepts, so this is a safety net: keep the line the decoder
	// names.
	if err := c.root.Decode(out); err != nil {
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

// noun is what the file is called in messages.
func (c *Checker) noun() string {
	if c.opts.Noun != "" {
		return c.opts.Noun
	}
	return c.kind + " manifest"
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

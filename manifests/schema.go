package manifests

//go:generate go test -run TestJSONSchemaFiles -update .

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/invopop/jsonschema"
)

// Patterns of the text types, as JSON Schema (ECMA 262) regular expressions.
const (
	DigestPattern  = `^sha256:[0-9a-f]{64}$`
	VersionPattern = `^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(\+data\.[1-9][0-9]*)?$`
	NamePattern    = `^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`
)

// SchemaBaseURL is where the JSON Schemas are published; a schema's $id is
// SchemaBaseURL + lowercase kind + ".schema.json".
const SchemaBaseURL = "https://modelgit.dev/schemas/v1alpha1/"

// Kinds lists every manifest kind.
var Kinds = []string{KindConfig, KindModel, KindModelVersion, KindRelease}

// kindTypes maps a kind to its Go type.
var kindTypes = map[string]reflect.Type{
	KindConfig:       reflect.TypeFor[Config](),
	KindModel:        reflect.TypeFor[Model](),
	KindModelVersion: reflect.TypeFor[ModelVersion](),
	KindRelease:      reflect.TypeFor[Release](),
}

// SchemaFileName returns the file name of kind's JSON Schema, e.g.
// "modelversion.schema.json".
func SchemaFileName(kind string) string {
	return strings.ToLower(kind) + ".schema.json"
}

// JSONSchema returns the JSON Schema (draft 2020-12) of a manifest kind,
// for editors: required fields follow the `validate:"required"` tags,
// unknown fields are not allowed, digests, versions and names carry their
// pattern.
func JSONSchema(kind string) ([]byte, error) {
	t, ok := kindTypes[kind]
	if !ok {
		return nil, fmt.Errorf("generating JSON Schema: unknown kind %q; want one of %s", kind, strings.Join(Kinds, ", "))
	}
	r := &jsonschema.Reflector{
		RequiredFromJSONSchemaTags: true, // set from validate tags below
		ExpandedStruct:             true,
		Mapper:                     schemaMapper,
	}
	s := r.ReflectFromType(t)
	s.ID = jsonschema.ID(SchemaBaseURL + SchemaFileName(kind))
	s.Title = "modelgit " + kind
	s.Description = fmt.Sprintf("A modelgit %s manifest (apiVersion %s).", kind, APIVersion)
	setRequired(s, s.Definitions, t, map[reflect.Type]bool{})
	s.Required = append([]string{"apiVersion", "kind"}, s.Required...)
	if p, ok := s.Properties.Get(nameField(kind)); ok && nameField(kind) != "" {
		p.Pattern = NamePattern
	}
	if rv := s.Definitions["ReleasedVersion"]; rv != nil {
		if w, ok := rv.Properties.Get("weight"); ok {
			w.Minimum, w.Maximum = "0", "100"
		}
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("generating JSON Schema of %s: %w", kind, err)
	}
	return append(b, '\n'), nil
}

func nameField(kind string) string {
	switch kind {
	case KindModel:
		return "name"
	case KindModelVersion, KindRelease:
		return "model"
	}
	return ""
}

func schemaMapper(t reflect.Type) *jsonschema.Schema {
	switch t {
	case digestType:
		return &jsonschema.Schema{Type: "string", Pattern: DigestPattern, Description: "A content digest, sha256:<64 lowercase hex digits>."}
	case versionType:
		return &jsonschema.Schema{Type: "string", Pattern: VersionPattern, Description: "MAJOR.MINOR.PATCH with an optional training-data version +data.N."}
	}
	return nil
}

// setRequired replaces the required lists with the fields tagged
// `validate:"required"`, for s (the schema of t) and the definitions of
// every struct reachable from t.
func setRequired(s *jsonschema.Schema, defs jsonschema.Definitions, t reflect.Type, done map[reflect.Type]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || done[t] || schemaMapper(t) != nil || t == timeType {
		return
	}
	done[t] = true
	if s == nil {
		s = defs[t.Name()]
	}
	if s == nil {
		return
	}
	s.Required = nil
	for _, f := range structFields(t) {
		if f.required {
			s.Required = append(s.Required, f.name)
		}
		setRequired(nil, defs, f.typ, done)
	}
}

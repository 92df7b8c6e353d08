package manifests

import (
	"embed"
	"fmt"
	"strings"
)

// The JSON Schemas `modelgit schema` prints: the manifest kinds' (made by
// JSONSchema from the Go types; TestJSONSchemaFiles keeps the files
// fresh) and the formats of the files register reads (written by hand;
// TestFormatExamples checks docs/formats.md's examples against them and
// against the readers).
//
//go:embed schema/*.schema.json
var schemaFiles embed.FS

// FormatKinds are the files register reads that are not manifests: the
// feature schema, the inference config, the metrics and the
// hyperparameters.
var FormatKinds = []string{"features", "inference", "metrics", "params"}

// SchemaNames lists every name SchemaFile accepts: the manifest kinds in
// lowercase, then FormatKinds.
func SchemaNames() []string {
	var out []string
	for _, k := range Kinds {
		out = append(out, strings.ToLower(k))
	}
	return append(out, FormatKinds...)
}

// SchemaFile returns the published JSON Schema named name (one of
// SchemaNames, case-insensitive).
func SchemaFile(name string) ([]byte, error) {
	name = strings.ToLower(name)
	for _, n := range SchemaNames() {
		if n == name {
			return schemaFiles.ReadFile("schema/" + n + ".schema.json")
		}
	}
	return nil, fmt.Errorf("unknown schema %q; want one of %s", name, strings.Join(SchemaNames(), ", "))
}

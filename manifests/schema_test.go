package manifests

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the JSON Schema files under schema/")

// TestJSONSchemaFiles fails when schema/*.schema.json are stale; run
// `go test ./manifests -run TestJSONSchemaFiles -update` (or go generate)
// to rewrite them.
func TestJSONSchemaFiles(t *testing.T) {
	for _, kind := range Kinds {
		t.Run(kind, func(t *testing.T) {
			got, err := JSONSchema(kind)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join("schema", SchemaFileName(kind))
			if *update {
				if err := os.MkdirAll("schema", 0o755); err != nil {
					t.Fatal(err)
				}
				tmp := file + ".tmp"
				if err := os.WriteFile(tmp, got, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(tmp, file); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("reading %s: %v (run: go test ./manifests -run TestJSONSchemaFiles -update)", file, err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s is stale; run: go test ./manifests -run TestJSONSchemaFiles -update", file)
			}
		})
	}
}

func TestJSONSchemaContent(t *testing.T) {
	b, err := JSONSchema(KindModelVersion)
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		ID         string   `json:"$id"`
		Required   []string `json:"required"`
		Properties map[string]struct {
			Type    string `json:"type"`
			Pattern string `json:"pattern"`
		} `json:"properties"`
		Defs map[string]struct {
			Required             []string        `json:"required"`
			AdditionalProperties json.RawMessage `json:"additionalProperties"`
			Properties           map[string]struct {
				Type    string `json:"type"`
				Pattern string `json:"pattern"`
			} `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if s.ID != SchemaBaseURL+"modelversion.schema.json" {
		t.Errorf("$id = %q", s.ID)
	}
	if got, want := strings.Join(s.Required, ","), "apiVersion,kind,model,version,artifacts,registeredBy,registeredAt"; got != want {
		t.Errorf("required = %s, want %s", got, want)
	}
	if v := s.Properties["version"]; v.Type != "string" || v.Pattern != VersionPattern {
		t.Errorf("version property = %+v", v)
	}
	art := s.Defs["Artifact"]
	if got := strings.Join(art.Required, ","); got != "path,digest,mediaType" {
		t.Errorf("Artifact required = %s", got)
	}
	if d := art.Properties["digest"]; d.Type != "string" || d.Pattern != DigestPattern {
		t.Errorf("digest property = %+v", d)
	}
	if string(art.AdditionalProperties) != "false" {
		t.Errorf("Artifact additionalProperties = %s, want false", art.AdditionalProperties)
	}
	if _, err := JSONSchema("Nope"); err == nil {
		t.Error("JSONSchema(Nope) succeeded")
	}
}

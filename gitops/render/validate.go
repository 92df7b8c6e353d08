package render

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
	"k8s.io/kube-openapi/pkg/validation/validate"
	"sigs.k8s.io/yaml"
)

// The CRDs' OpenAPI v3 schemas are checked with kube-openapi's validator,
// the one the Kubernetes API server runs for custom resources
// (apiextensions-apiserver wraps it), so a rendered object fails here for
// the reasons the cluster would refuse it. It is already in the build for
// kustomize, where a JSON Schema library (santhosh-tekuri/jsonschema)
// would be a new module that also does not know OpenAPI's nullable and
// x-kubernetes-* extensions. On top of the schema, Validate refuses
// unknown fields (as `kubectl apply --validate=strict` does), checks
// names and labels as the API server does, and applies the range rule
// KServe's admission webhook adds (canaryTrafficPercent 0 to 100, which
// the CRD schema does not state).

//go:embed crds/*.yaml
var crdFiles embed.FS

type gvk struct{ apiVersion, kind string }

var (
	schemasOnce sync.Once
	schemas     map[gvk]*spec.Schema
	schemasErr  error
)

func loadSchemas() (map[gvk]*spec.Schema, error) {
	schemasOnce.Do(func() {
		schemas = map[gvk]*spec.Schema{}
		entries, err := crdFiles.ReadDir("crds")
		if err != nil {
			schemasErr = err
			return
		}
		for _, e := range entries {
			if err := loadCRD(path.Join("crds", e.Name())); err != nil {
				schemasErr = err
				return
			}
		}
	})
	return schemas, schemasErr
}

func loadCRD(name string) error {
	data, err := crdFiles.ReadFile(name)
	if err != nil {
		return err
	}
	var crd struct {
		Spec struct {
			Group string `json:"group"`
			Names struct {
				Kind string `json:"kind"`
			} `json:"names"`
			Versions []struct {
				Name   string `json:"name"`
				Schema struct {
					OpenAPIV3Schema json.RawMessage `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &crd); err != nil {
		return fmt.Errorf("reading CRD %q: %w", name, err)
	}
	for _, v := range crd.Spec.Versions {
		s := new(spec.Schema)
		if err := json.Unmarshal(v.Schema.OpenAPIV3Schema, s); err != nil {
			return fmt.Errorf("reading CRD %q version %q: %w", name, v.Name, err)
		}
		schemas[gvk{crd.Spec.Group + "/" + v.Name, crd.Spec.Names.Kind}] = s
	}
	return nil
}

// ValidationError lists what is wrong with rendered objects.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	return "validating rendered objects: " + strings.Join(e.Problems, "; ")
}

// Validate checks every object of a multi-document YAML stream against
// its kind's schema: KServe InferenceService, Gateway API HTTPRoute, Flux
// GitRepository and Kustomization against their CRDs (crds/SOURCE.md),
// Deployment and Service against the Kubernetes Go types, strictly. An
// object of any other kind is an error. The error is a *ValidationError
// naming each object and field.
func Validate(objs []byte) error {
	sch, err := loadSchemas()
	if err != nil {
		return fmt.Errorf("loading CRD schemas: %w", err)
	}
	docs, err := splitDocs(objs)
	if err != nil {
		return fmt.Errorf("validating rendered objects: %w", err)
	}
	var problems []string
	for i, o := range docs {
		_, _, kind, _, name := objectID(o)
		where := fmt.Sprintf("%s %q (document %d)", kind, name, i+1)
		for _, p := range validateObject(sch, o) {
			problems = append(problems, where+": "+p)
		}
	}
	if len(problems) > 0 {
		return &ValidationError{Problems: problems}
	}
	return nil
}

func validateObject(sch map[gvk]*spec.Schema, o object) []string {
	av, _ := o["apiVersion"].(string)
	kind, _ := o["kind"].(string)
	var problems []string
	md, _ := o["metadata"].(map[string]any)
	name, _ := md["name"].(string)
	nameCheck := validation.IsDNS1123Subdomain
	if kind == "Service" || kind == "InferenceService" {
		nameCheck = validation.IsDNS1035Label // KServe names become Service names
	}
	for _, m := range nameCheck(name) {
		problems = append(problems, fmt.Sprintf("metadata.name %q: %s", name, m))
	}
	for _, m := range checkLabels(md["labels"], "metadata.labels") {
		problems = append(problems, m)
	}
	if ns, _ := md["namespace"].(string); ns == "" && kind != "Namespace" {
		problems = append(problems, "metadata.namespace is missing; kustomize-controller refuses to apply a namespaced object without one")
	}
	switch (gvk{av, kind}) {
	case gvk{"v1", "Namespace"}:
		problems = append(problems, strictDecode(o, &corev1.Namespace{})...)
		return problems
	case gvk{"apps/v1", "Deployment"}:
		problems = append(problems, strictDecode(o, &appsv1.Deployment{})...)
		return problems
	case gvk{"v1", "Service"}:
		problems = append(problems, strictDecode(o, &corev1.Service{})...)
		return problems
	}
	s := sch[gvk{av, kind}]
	if s == nil {
		var known []string
		for k := range sch {
			known = append(known, k.apiVersion+" "+k.kind)
		}
		sort.Strings(known)
		return append(problems, fmt.Sprintf("no schema for %s %s; want one of apps/v1 Deployment, v1 Service, v1 Namespace, %s", av, kind, strings.Join(known, ", ")))
	}
	// The validator wants JSON types: round-trip to get float64 and friends.
	b, err := json.Marshal(o)
	if err != nil {
		return append(problems, err.Error())
	}
	var data any
	if err := json.Unmarshal(b, &data); err != nil {
		return append(problems, err.Error())
	}
	if res := validate.NewSchemaValidator(s, nil, "", strfmt.Default).Validate(data); res != nil {
		for _, e := range res.Errors {
			problems = append(problems, e.Error())
		}
	}
	problems = append(problems, unknownFields(s, data, "")...)
	if kind == "InferenceService" {
		if p, ok := lookup(data, "spec", "predictor", "canaryTrafficPercent").(float64); ok && (p < 0 || p > 100) {
			problems = append(problems, fmt.Sprintf("spec.predictor.canaryTrafficPercent %v is out of range; want 0 to 100 (KServe's webhook refuses it)", p))
		}
	}
	return problems
}

func checkLabels(v any, field string) []string {
	ls, _ := v.(map[string]any)
	var out []string
	keys := make([]string, 0, len(ls))
	for k := range ls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, m := range validation.IsQualifiedName(k) {
			out = append(out, fmt.Sprintf("%s key %q: %s", field, k, m))
		}
		s, ok := ls[k].(string)
		if !ok {
			out = append(out, fmt.Sprintf("%s.%s: want a string", field, k))
			continue
		}
		for _, m := range validation.IsValidLabelValue(s) {
			out = append(out, fmt.Sprintf("%s.%s %q: %s", field, k, s, m))
		}
	}
	return out
}

func lookup(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// unknownFields reports fields the schema does not declare where it
// declares properties and allows no others.
func unknownFields(s *spec.Schema, v any, at string) []string {
	if s == nil {
		return nil
	}
	if p, ok := s.Extensions.GetBool("x-kubernetes-preserve-unknown-fields"); ok && p {
		return nil
	}
	var out []string
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			field := strings.TrimPrefix(at+"."+k, ".")
			if ps, ok := s.Properties[k]; ok {
				out = append(out, unknownFields(&ps, t[k], field)...)
				continue
			}
			if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
				out = append(out, unknownFields(s.AdditionalProperties.Schema, t[k], field)...)
				continue
			}
			if len(s.Properties) > 0 && (s.AdditionalProperties == nil || !s.AdditionalProperties.Allows) {
				out = append(out, fmt.Sprintf("%s: unknown field", field))
			}
		}
	case []any:
		if s.Items != nil && s.Items.Schema != nil {
			for i, e := range t {
				out = append(out, unknownFields(s.Items.Schema, e, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	return out
}

// strictDecode decodes an object into its Go type, refusing unknown fields.
func strictDecode(o object, into any) []string {
	b, err := json.Marshal(o)
	if err != nil {
		return []string{err.Error()}
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(into); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return []string{fmt.Sprintf("%s: %s is not valid; want %s", ute.Field, ute.Value, ute.Type)}
		}
		return []string{err.Error()}
	}
	return nil
}

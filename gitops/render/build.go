package render

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"strings"

	"github.com/modelgit/modelgit/manifests"
	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// errUnsupported says a kustomization uses more of kustomize than the fast
// path implements; BuildCluster then runs kustomize's own library.
var errUnsupported = errors.New("not supported by the fast path")

// BuildCluster returns what `kustomize build clusters/<cluster>` outputs
// for the repository in fsys (paths relative to its root): the objects as
// a multi-document YAML stream, in kustomize's default (legacy) order,
// each with sorted keys. This is what `modelgit render --cluster` prints.
//
// The kustomizations modelgit generates use a small part of kustomize —
// resources (directories with a kustomization.yaml, or files) and
// patches with a group/version/kind and label selector target — and
// BuildCluster applies that part directly, which is several times faster
// than kustomize on large trees (see docs/benchmarks.md). A kustomization
// using anything else, e.g. edited by hand, is built with kustomize's own
// library (krusty) instead, so the answer is the same either way; a test
// checks both against the kustomize CLI.
func BuildCluster(fsys fs.FS, cluster string) ([]byte, error) {
	dir := manifests.ClusterDir(cluster)
	objs, err := fastBuild(fsys, dir)
	if errors.Is(err, errUnsupported) {
		objs, err = krustyBuild(fsys, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("building cluster %q: %w", cluster, err)
	}
	if err := sortLegacy(objs); err != nil {
		return nil, fmt.Errorf("building cluster %q: %w", cluster, err)
	}
	var b bytes.Buffer
	for i, o := range objs {
		y, err := yaml.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("building cluster %q: encoding object %d: %w", cluster, i, err)
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(y)
	}
	return b.Bytes(), nil
}

// fastBuild builds the kustomization in dir if it only uses what
// modelgit generates, and returns errUnsupported otherwise.
func fastBuild(fsys fs.FS, dir string) ([]object, error) {
	kpath := path.Join(dir, "kustomization.yaml")
	data, err := fs.ReadFile(fsys, kpath)
	if err != nil {
		return nil, errUnsupported // kustomization.yml, Kustomization, or missing: let kustomize say
	}
	var k map[string]any
	if err := yaml.Unmarshal(data, &k); err != nil {
		return nil, fmt.Errorf("reading %q: %w", kpath, err)
	}
	for key := range k {
		if key != "apiVersion" && key != "kind" && key != "resources" && key != "patches" {
			return nil, errUnsupported
		}
	}
	resources, _ := k["resources"].([]any)
	var files []string
	var objs []object
	for _, r := range resources {
		s, ok := r.(string)
		if !ok {
			return nil, errUnsupported
		}
		p := path.Join(dir, s)
		if !fs.ValidPath(p) {
			return nil, errUnsupported
		}
		st, err := fs.Stat(fsys, p)
		if err != nil {
			return nil, errUnsupported
		}
		if st.IsDir() {
			sub, err := fastBuild(fsys, p)
			if err != nil {
				return nil, err
			}
			objs = append(objs, sub...)
			continue
		}
		files = append(files, p)
	}
	parsed, err := parseFiles(fsys, files)
	if err != nil {
		return nil, err
	}
	objs = append(objs, parsed...)
	patches, _ := k["patches"].([]any)
	for i, p := range patches {
		if err := applyPatch(objs, p); err != nil {
			if errors.Is(err, errUnsupported) {
				return nil, err
			}
			return nil, fmt.Errorf("%s: patches[%d]: %w", kpath, i, err)
		}
	}
	return objs, nil
}

// parseFiles reads YAML streams in parallel, keeping their order.
func parseFiles(fsys fs.FS, files []string) ([]object, error) {
	out := make([][]object, len(files))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, f := range files {
		g.Go(func() error {
			data, err := fs.ReadFile(fsys, f)
			if err != nil {
				return fmt.Errorf("reading %q: %w", f, err)
			}
			objs, err := splitDocs(data)
			if err != nil {
				return fmt.Errorf("reading %q: %w", f, err)
			}
			out[i] = objs
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var all []object
	for _, o := range out {
		all = append(all, o...)
	}
	return all, nil
}

// splitDocs parses a multi-document YAML stream, skipping empty documents.
func splitDocs(data []byte) ([]object, error) {
	var out []object
	for i, doc := range splitYAML(data) {
		var o object
		if err := yaml.Unmarshal(doc, &o); err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		if len(o) > 0 {
			out = append(out, o)
		}
	}
	return out, nil
}

// splitYAML cuts a stream at lines that are exactly "---".
func splitYAML(data []byte) [][]byte {
	var docs [][]byte
	start := 0
	for i := 0; i < len(data); {
		j := bytes.IndexByte(data[i:], '\n')
		end := len(data)
		if j >= 0 {
			end = i + j
		}
		line := bytes.TrimRight(data[i:end], " \r")
		if bytes.Equal(line, []byte("---")) || bytes.HasPrefix(line, []byte("--- ")) {
			docs = append(docs, data[start:i])
			start = end + 1
		}
		i = end + 1
	}
	if start < len(data) {
		docs = append(docs, data[start:])
	}
	return docs
}

// applyPatch applies one entry of a kustomization's patches: an inline
// patch and a target with group, version, kind and label selector.
func applyPatch(objs []object, entry any) error {
	e, ok := entry.(map[string]any)
	if !ok {
		return errUnsupported
	}
	for key := range e {
		if key != "patch" && key != "target" {
			return errUnsupported
		}
	}
	text, ok := e["patch"].(string)
	target, ok2 := e["target"].(map[string]any)
	if !ok || !ok2 {
		return errUnsupported
	}
	want := map[string]string{}
	for key, v := range target {
		s, ok := v.(string)
		if !ok || strings.ContainsAny(s, "^$*+?()[]{}|\\") {
			return errUnsupported
		}
		switch key {
		case "group", "version", "kind", "labelSelector":
			want[key] = s
		default:
			return errUnsupported
		}
	}
	docs, err := splitDocs([]byte(text))
	if err != nil || len(docs) != 1 {
		return errUnsupported // JSON 6902 patches and lists go to kustomize
	}
	patch := docs[0]
	if _, ok := patch["kind"]; !ok {
		return errUnsupported
	}
	sel, err := labels.Parse(want["labelSelector"])
	if err != nil {
		return fmt.Errorf("target.labelSelector %q: %w", want["labelSelector"], err)
	}
	// With a target, kustomize applies the patch to each selected object
	// as if it named that object: identity fields do not merge.
	body := map[string]any{}
	for k, v := range patch {
		body[k] = v
	}
	delete(body, "apiVersion")
	delete(body, "kind")
	if md, ok := body["metadata"].(map[string]any); ok {
		md = copyMap(md)
		delete(md, "name")
		delete(md, "namespace")
		if len(md) == 0 {
			delete(body, "metadata")
		} else {
			body["metadata"] = md
		}
	}
	for _, o := range objs {
		g, v, k, _, _ := objectID(o)
		if want["group"] != "" && want["group"] != g || want["version"] != "" && want["version"] != v || want["kind"] != "" && want["kind"] != k {
			continue
		}
		if !sel.Matches(labels.Set(objectLabels(o))) {
			continue
		}
		strategic := g == "apps" && k == "Deployment"
		mergeInto(o, body, strategic)
	}
	return nil
}

func copyMap(m map[string]any) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// mergeInto merges patch into dst: maps merge, null deletes, lists are
// replaced — except, for a strategic merge on a built-in workload, lists
// of containers, which merge by name as Kubernetes' strategic merge patch
// does. Values from the patch are deep-copied.
func mergeInto(dst, patch map[string]any, strategic bool) {
	for k, pv := range patch {
		if pv == nil {
			delete(dst, k)
			continue
		}
		switch p := pv.(type) {
		case map[string]any:
			d, ok := dst[k].(map[string]any)
			if !ok {
				d = map[string]any{}
				dst[k] = d
			}
			mergeInto(d, p, strategic)
		case []any:
			if d, ok := dst[k].([]any); ok && strategic && (k == "containers" || k == "initContainers") {
				dst[k] = mergeByName(d, p)
			} else {
				dst[k] = deepCopy(p)
			}
		default:
			dst[k] = p
		}
	}
}

func mergeByName(dst, patch []any) []any {
	out := dst
	for _, pe := range patch {
		pm, ok := pe.(map[string]any)
		if !ok {
			continue
		}
		i := slices.IndexFunc(out, func(e any) bool {
			m, ok := e.(map[string]any)
			return ok && m["name"] == pm["name"]
		})
		if i < 0 {
			out = append(out, deepCopy(pm))
			continue
		}
		mergeInto(out[i].(map[string]any), pm, true)
	}
	return out
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(t))
		for k, e := range t {
			c[k] = deepCopy(e)
		}
		return c
	case []any:
		c := make([]any, len(t))
		for i, e := range t {
			c[i] = deepCopy(e)
		}
		return c
	}
	return v
}

func objectID(o object) (group, version, kind, namespace, name string) {
	av, _ := o["apiVersion"].(string)
	if g, v, ok := strings.Cut(av, "/"); ok {
		group, version = g, v
	} else {
		version = av
	}
	kind, _ = o["kind"].(string)
	if md, ok := o["metadata"].(map[string]any); ok {
		namespace, _ = md["namespace"].(string)
		name, _ = md["name"].(string)
	}
	return
}

func objectLabels(o object) map[string]string {
	md, _ := o["metadata"].(map[string]any)
	ls, _ := md["labels"].(map[string]any)
	out := make(map[string]string, len(ls))
	for k, v := range ls {
		s, _ := v.(string)
		out[k] = s
	}
	return out
}

// legacyOrder is kustomize's default order of kinds (api/internal/builtins
// SortOrderTransformer.go, "DO NOT CHANGE!" there); other kinds sort
// between the two lists.
var legacyFirst = []string{
	"Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition",
	"ServiceAccount", "PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding",
	"ClusterRoleBinding", "ConfigMap", "Secret", "Endpoints", "Service",
	"LimitRange", "PriorityClass", "PersistentVolume", "PersistentVolumeClaim",
	"Deployment", "StatefulSet", "CronJob", "PodDisruptionBudget",
}
var legacyLast = []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}

func kindRank(kind string) int {
	if i := slices.Index(legacyFirst, kind); i >= 0 {
		return i - len(legacyFirst)
	}
	if i := slices.Index(legacyLast, kind); i >= 0 {
		return 1 + i
	}
	return 0
}

func orTilde(s, t string) string {
	if s == "" {
		return t
	}
	return s
}

// sortLegacy orders objects as kustomize's legacy sort does, and fails on
// two objects with the same identity, as kustomize does.
func sortLegacy(objs []object) error {
	type key struct {
		rank     int
		gvk, rid string
	}
	idx := make([]int, len(objs))
	ks := make([]key, len(objs))
	seen := make(map[string]bool, len(objs))
	for i, o := range objs {
		g, v, k, ns, n := objectID(o)
		gvk := strings.Join([]string{orTilde(g, "~G"), orTilde(v, "~V"), orTilde(k, "~K")}, "_")
		rid := orTilde(ns, "~X") + "|" + orTilde(n, "~N")
		if seen[gvk+"|"+rid] {
			return fmt.Errorf("two objects are %s %s/%s; each object may be rendered once", k, ns, n)
		}
		seen[gvk+"|"+rid] = true
		ks[i] = key{kindRank(k), gvk, rid}
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		x, y := ks[a], ks[b]
		if x.gvk != y.gvk {
			if x.rank != y.rank {
				return x.rank - y.rank
			}
			return strings.Compare(x.gvk, y.gvk)
		}
		return strings.Compare(x.rid, y.rid)
	})
	sorted := make([]object, len(objs))
	for i, j := range idx {
		sorted[i] = objs[j]
	}
	copy(objs, sorted)
	return nil
}

// krustyBuild runs kustomize's library over an in-memory copy of fsys.
func krustyBuild(fsys fs.FS, dir string) ([]object, error) {
	mem := filesys.MakeFsInMemory()
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		return mem.WriteFile("/"+p, data)
	})
	if err != nil {
		return nil, fmt.Errorf("reading the repository: %w", err)
	}
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(mem, "/"+dir)
	if err != nil {
		return nil, fmt.Errorf("running kustomize: %w", err)
	}
	y, err := m.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("running kustomize: %w", err)
	}
	return splitDocs(y)
}

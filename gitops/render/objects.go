package render

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/modelgit/modelgit/manifests"
)

// KServe's InferenceService, the part modelgit writes. KServe's Go module
// is not imported (see doc.go); the CRD schema checks these fields.
type inferenceService struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              isvcSpec `json:"spec"`
}

type isvcSpec struct {
	Predictor isvcPredictor `json:"predictor"`
}

type isvcPredictor struct {
	// CanaryTrafficPercent routes this share of traffic to the revision
	// made from this spec; the previous ready revision keeps the rest.
	CanaryTrafficPercent *int64    `json:"canaryTrafficPercent,omitempty"`
	Model                isvcModel `json:"model"`
}

type isvcModel struct {
	ModelFormat isvcModelFormat `json:"modelFormat"`
	StorageURI  string          `json:"storageUri"`
}

type isvcModelFormat struct {
	Name string `json:"name"`
}

// container is the name of the serving container in Deployments; the
// cluster patches merge GPU limits into it by this name.
const container = "model"

// defaultPort is the serving container's port when the model names none.
const defaultPort = 8080

// member is one version of a release, with what is needed to render it.
type member struct {
	rv   manifests.ReleasedVersion
	mv   *manifests.ModelVersion
	role string
}

// releaseObjects renders one release.
func releaseObjects(in Input, r *manifests.Release) ([]object, error) {
	src := path.Join("environments", r.Environment, r.Model+".yaml")
	fail := func(format string, args ...any) error {
		return fmt.Errorf("rendering %q: %s", src, fmt.Sprintf(format, args...))
	}
	if err := manifests.ValidName(r.Model); err != nil {
		return nil, fail("model: %v", err)
	}
	m := in.Models[r.Model]
	if m == nil {
		return nil, fail("model %q is not registered; want models/%s/model.yaml", r.Model, r.Model)
	}
	members, err := orderMembers(in, r)
	if err != nil {
		return nil, fail("%v", err)
	}
	serving := manifests.Serving{}
	if m.Serving != nil {
		serving = *m.Serving
	}
	switch serving.Runtime {
	case "", "kserve":
		if r.Strategy == manifests.StrategyReplace || r.Strategy == manifests.StrategyCanary {
			o, err := isvcObject(in, r, m, members)
			if err != nil {
				return nil, fail("%v", err)
			}
			return inNamespace(in.Namespace(r.Environment), o), nil
		}
	case "deployment":
	default:
		return nil, fail("model %q: serving.runtime %q is not supported; want kserve or deployment", r.Model, serving.Runtime)
	}
	if serving.Image == "" {
		return nil, fail("strategy %q renders Deployments, and models/%s/model.yaml has no serving.image; set it to the serving container image", r.Strategy, r.Model)
	}
	objs, err := routedObjects(in, r, serving, members)
	if err != nil {
		return nil, fail("%v", err)
	}
	return inNamespace(in.Namespace(r.Environment), objs...), nil
}

// Namespace returns the namespace the objects of environment env live in:
// the environment's namespace in modelgit.yaml, else its name.
func (in Input) Namespace(env string) string {
	if in.Config != nil {
		for _, e := range in.Config.Environments {
			if e.Name == env {
				return e.DefaultNamespace()
			}
		}
	}
	return env
}

// inNamespace sets metadata.namespace on every object. Every kind modelgit
// renders is namespaced, and kustomize-controller refuses to apply a
// namespaced object without a namespace; setting it on the objects (not
// as a kustomize namespace over clusters/<cluster>/) keeps Flux's own
// objects in flux-system and shows the namespace in the rendered file.
func inNamespace(ns string, objs ...object) []object {
	for _, o := range objs {
		md, _ := o["metadata"].(map[string]any)
		if md == nil {
			md = map[string]any{}
			o["metadata"] = md
		}
		md["namespace"] = ns
	}
	return objs
}

// orderMembers returns the release's versions in its documented order
// (stable then canary, active then standby, a then b): by role where roles
// are given, by position otherwise. It checks each pinned digest against
// the version manifest.
func orderMembers(in Input, r *manifests.Release) ([]member, error) {
	roles := map[string][]string{
		manifests.StrategyReplace:   {"stable"},
		manifests.StrategyCanary:    {"stable", "canary"},
		manifests.StrategyBlueGreen: {"active", "standby"},
		manifests.StrategyAB:        {"a", "b"},
	}[r.Strategy]
	if roles == nil {
		return nil, fmt.Errorf("strategy %q is not supported; want one of %s", r.Strategy, strings.Join(manifests.Strategies, ", "))
	}
	want := map[string][2]int{manifests.StrategyReplace: {1, 1}, manifests.StrategyCanary: {2, 2}, manifests.StrategyBlueGreen: {1, 2}, manifests.StrategyAB: {2, 2}}[r.Strategy]
	if n := len(r.Versions); n < want[0] || n > want[1] {
		return nil, fmt.Errorf("versions: strategy %q takes %d to %d versions, got %d", r.Strategy, want[0], want[1], n)
	}
	out := make([]member, len(r.Versions))
	used := make([]bool, len(r.Versions))
	for i, rv := range r.Versions {
		if rv.Role == "" {
			continue
		}
		j := -1
		for k, role := range roles {
			if role == rv.Role {
				j = k
			}
		}
		if j < 0 || j >= len(out) || used[j] {
			return nil, fmt.Errorf("versions[%d].role: role %q does not fit strategy %q with %d versions; want one of %s", i, rv.Role, r.Strategy, len(r.Versions), strings.Join(roles[:len(out)], ", "))
		}
		used[j] = true
		out[j] = member{rv: rv}
	}
	for _, rv := range r.Versions {
		if rv.Role != "" {
			continue
		}
		j := 0
		for used[j] {
			j++
		}
		used[j] = true
		out[j] = member{rv: rv}
	}
	for j := range out {
		out[j].role = roles[j]
		key := VersionKey(r.Model, out[j].rv.Version)
		mv := in.Versions[key]
		if mv == nil {
			return nil, fmt.Errorf("version %s of model %q is not registered; want %s", out[j].rv.Version, r.Model, path.Join("models", r.Model, "versions", out[j].rv.Version.String()+".yaml"))
		}
		if mv.Artifacts.Weights == nil {
			return nil, fmt.Errorf("version %s of model %q has no weights artifact", out[j].rv.Version, r.Model)
		}
		if !out[j].rv.Digest.IsZero() {
			d, err := manifests.VersionDigest(mv)
			if err != nil {
				return nil, fmt.Errorf("computing digest of %s: %w", key, err)
			}
			if d != out[j].rv.Digest {
				return nil, fmt.Errorf("version %s is pinned to digest %s, but its manifest has digest %s", out[j].rv.Version, out[j].rv.Digest, d)
			}
		}
		out[j].mv = mv
	}
	return out, nil
}

// versionLabel makes a version fit a label value: "+" is not allowed in
// labels, so 1.4.0+data.7 becomes 1.4.0-data.7 (unambiguous: modelgit
// versions have no prerelease part). The exact version is in the
// modelgit.dev/version annotation.
func versionLabel(v manifests.Version) string { return strings.ReplaceAll(v.String(), "+", "-") }

// versionSlug makes a version fit a DNS label: 1.4.0+data.7 → v1-4-0-data-7.
func versionSlug(v manifests.Version) string {
	return "v" + strings.NewReplacer(".", "-", "+", "-").Replace(v.String())
}

// dnsName joins parts into a DNS-1035 label (what Services need): lower
// case, starting with a letter, at most 63 characters. A name that is too
// long is cut and ends in a hash of the full name, so it stays unique.
func dnsName(parts ...string) string {
	n := strings.Join(parts, "-")
	if n != "" && (n[0] < 'a' || n[0] > 'z') {
		n = "m-" + n
	}
	if len(n) > 63 {
		n = strings.TrimRight(n[:52], "-") + "-" + manifests.FromBytes([]byte(n)).Hex()[:10]
	}
	return n
}

func baseLabels(r *manifests.Release, v manifests.Version) map[string]string {
	return map[string]string{
		LabelName:        r.Model,
		LabelManagedBy:   ManagedBy,
		LabelPartOf:      r.Model,
		LabelVersion:     versionLabel(v),
		LabelEnvironment: r.Environment,
	}
}

func annotations(r *manifests.Release, ms []member, primary member) map[string]string {
	a := map[string]string{
		AnnotationVersion:  primary.rv.Version.String(),
		AnnotationDigest:   primary.rv.Digest.String(),
		AnnotationStrategy: r.Strategy,
	}
	if primary.rv.Digest.IsZero() {
		delete(a, AnnotationDigest)
	}
	if len(ms) > 1 {
		var vs []string
		for _, m := range ms {
			vs = append(vs, m.rv.Version.String()+"="+m.rv.Digest.String())
		}
		a[AnnotationVersions] = strings.Join(vs, ",")
	}
	return a
}

// memberStorageURI is the storage URI pinned in the release, else the
// one derived from the store (and, for a file:// store, from where the
// environment's clusters read it: environments[].clusterStore).
func (in Input) memberStorageURI(env string, m member) string {
	if m.rv.StorageURI != "" {
		return m.rv.StorageURI
	}
	return in.storageURI(env, m.mv)
}

func (in Input) storageURI(env string, mv *manifests.ModelVersion) string {
	if in.StorageURI != nil {
		return in.StorageURI(mv)
	}
	store := ""
	if in.Config != nil {
		store = in.Config.Store
		if cs := ClusterStoreOf(in.Config, env); cs != "" && (store == "" || strings.HasPrefix(store, "file://")) {
			var d manifests.Digest
			if mv.Artifacts.Weights != nil {
				d = mv.Artifacts.Weights.Digest
			}
			return strings.TrimSuffix(cs, "/") + "/blobs/sha256/" + d.Hex()
		}
	}
	return DefaultStorageURI(store)(mv)
}

// ClusterStoreOf returns environments[].clusterStore of env ("" when it
// declares none).
func ClusterStoreOf(cfg *manifests.Config, env string) string {
	for _, e := range cfg.Environments {
		if e.Name == env {
			return e.ClusterStore
		}
	}
	return ""
}

// LocalStoreProblem says why the clusters of env cannot load what a
// release renders, and what to do, when the store is a directory inside
// the clone — a relative file:// URL like the default, or an absolute one
// under root (the clone's top directory; "" when unknown) — and env
// declares no clusterStore; "" otherwise. Promotion, rollback and check
// refuse such a release.
func LocalStoreProblem(cfg *manifests.Config, env, root string) string {
	store := cfg.Store
	if store == "" {
		store = "file://.modelgit/store"
	}
	if !LocalStoreURI(store, root) || ClusterStoreOf(cfg, env) != "" {
		return ""
	}
	return fmt.Sprintf("modelgit.yaml: store %s is a directory inside this clone, so the storageUri rendered for environment %q (%s/blobs/sha256/…) is one no cluster can read; "+
		"set store: in modelgit.yaml to a shared oci://REGISTRY/REPO (KServe loads it with the ClusterStorageContainer of docs/oci.md) and modelgit store copy %s there, "+
		"or declare where the clusters of %q read this store: clusterStore: pvc://CLAIM/PATH (or s3://, gs://, https://) under that environment in modelgit.yaml", store, env, strings.TrimSuffix(store, "/"), store, env)
}

// LocalStoreURI reports whether uri is a file:// URI of a directory
// inside a clone: relative (resolved against the clone, like the default
// store), or absolute under root when root is not "".
func LocalStoreURI(uri, root string) bool {
	dir, ok := strings.CutPrefix(uri, "file://")
	if !ok {
		return false
	}
	if !strings.HasPrefix(dir, "/") {
		return true
	}
	if root == "" {
		return false
	}
	root = strings.TrimSuffix(filepath.ToSlash(filepath.Clean(root)), "/")
	d := path.Clean(dir)
	return d == root || strings.HasPrefix(d, root+"/")
}

// LocalStorageURIs returns the storage URIs in rendered content (a
// rendered/<env>/<model>.yaml) that name a directory inside a clone (see
// LocalStoreURI), with their 1-based lines.
func LocalStorageURIs(content []byte, root string) (uris []string, lines []int) {
	for i, line := range strings.Split(string(content), "\n") {
		rest := line
		for {
			at := strings.Index(rest, "file://")
			if at < 0 {
				break
			}
			uri := strings.Trim(strings.Fields(rest[at:])[0], `"',`)
			if LocalStoreURI(uri, root) {
				uris = append(uris, uri)
				lines = append(lines, i+1)
			}
			rest = rest[at+len("file://"):]
		}
	}
	return uris, lines
}

// ModelcarProblem says why KServe will not load the oci:// storage URI
// of an InferenceService in rendered content (a rendered/<env>/<model>.yaml),
// and what to do; "" when it has none. KServe (0.17: pkg/utils/storage.go
// ConfigureModelcarToContainer, on with enableModelcar, the Helm chart's
// default) runs an oci:// reference as a "modelcar": the image becomes a
// sidecar running `sh -c "ln -sf /proc/$$/root/models /mnt/models && sleep
// infinity"`, after an init container checking that /models is not empty.
// The version manifest modelgit publishes is a ModelPack artifact — a
// ModelPack config and raw layers, no root filesystem, no shell — so the
// container runtime cannot run it and the predictor pod never starts.
// With enableModelcar off, a ClusterStorageContainer for oci:// that
// pulls with oras loads it (docs/oci.md).
func ModelcarProblem(content []byte) string {
	c := string(content)
	if !strings.Contains(c, "kind: InferenceService") {
		return ""
	}
	at := strings.Index(c, "storageUri: oci://")
	if at < 0 {
		return ""
	}
	uri := strings.Fields(c[at+len("storageUri: "):])[0]
	return fmt.Sprintf("KServe runs storageUri %s as a modelcar when enableModelcar is on (the default of its Helm chart): a runnable image with sh and the model under /models; modelgit publishes an OCI artifact (ModelPack config, raw layers), which no container runtime can run, so the predictor pod would not start. "+
		"Set enableModelcar to false in KServe's inferenceservice-config and install the oras ClusterStorageContainer of docs/oci.md, or serve with serving.runtime: deployment and a server that pulls STORAGE_URI", uri)
}

// isvcObject renders replace and canary as one InferenceService. KServe
// v1beta1 has one predictor spec: for canary it is the canary version with
// canaryTrafficPercent set to its weight, and KServe keeps the rest of the
// traffic on the previous ready revision. That revision is the stable
// version only if the stable version was rolled out (at 100%) before the
// canary started — which is what promotion does (replace, then canary);
// the stable version is recorded in the modelgit.dev/stable-version
// annotation so a reader (and `modelgit check`) can see which revision the
// remaining traffic is meant for. Ending a canary is a replace release with
// the winner.
func isvcObject(in Input, r *manifests.Release, m *manifests.Model, ms []member) (object, error) {
	primary := ms[0]
	if r.Strategy == manifests.StrategyCanary {
		primary = ms[1]
	}
	format := ""
	if m.Serving != nil {
		format = m.Serving.Format
	}
	if format == "" && primary.mv.Framework != nil {
		format = strings.ToLower(primary.mv.Framework.Name)
	}
	if format == "" {
		return nil, fmt.Errorf("models/%s/model.yaml sets no serving.format and version %s names no framework; want a KServe model format such as sklearn, pytorch, onnx", r.Model, primary.rv.Version)
	}
	is := inferenceService{
		TypeMeta: metav1.TypeMeta{APIVersion: "serving.kserve.io/v1beta1", Kind: "InferenceService"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        dnsName(r.Model),
			Labels:      baseLabels(r, primary.rv.Version),
			Annotations: annotations(r, ms, primary),
		},
		Spec: isvcSpec{Predictor: isvcPredictor{Model: isvcModel{
			ModelFormat: isvcModelFormat{Name: format},
			StorageURI:  in.memberStorageURI(r.Environment, primary),
		}}},
	}
	if r.Strategy == manifests.StrategyCanary {
		w := int64(0)
		if primary.rv.Weight != nil {
			w = int64(*primary.rv.Weight)
		}
		is.Spec.Predictor.CanaryTrafficPercent = &w
		is.Annotations[AnnotationStable] = ms[0].rv.Version.String()
	}
	return toObject(is)
}

// routedObjects renders a Deployment and a Service per version and one
// HTTPRoute over them. Deployments and Services are named after the
// version, not after a colour: rendering is a pure function of the
// release, which cannot remember which colour a version had, and renaming
// a running Deployment would restart it — what blue-green is there to
// avoid. The colour-free names make a version keep its objects from the
// moment it becomes standby until it is retired. The role (active,
// standby, a, b, stable, canary) is a label.
func routedObjects(in Input, r *manifests.Release, s manifests.Serving, ms []member) ([]object, error) {
	port := int32(defaultPort)
	if s.Port > 0 {
		port = int32(s.Port)
	}
	var objs, svcs []object
	backends := make([]gwv1.HTTPBackendRef, len(ms))
	for i, m := range ms {
		name := dnsName(r.Model, versionSlug(m.rv.Version))
		labels := baseLabels(r, m.rv.Version)
		labels[LabelRole] = m.role
		selector := map[string]string{LabelName: r.Model, LabelVersion: versionLabel(m.rv.Version)}
		ann := annotations(r, ms[i:i+1], m)
		// The pod template carries only what never changes for this
		// Deployment (its name holds the version): a role or strategy
		// change must not restart the pods.
		podLabels := baseLabels(r, m.rv.Version)
		podAnn := map[string]string{AnnotationVersion: ann[AnnotationVersion], AnnotationDigest: ann[AnnotationDigest]}
		replicas := int32(1)
		dep := appsv1.Deployment{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Annotations: ann},
			Spec: appsv1.DeploymentSpec{
				Replicas: &replicas,
				Selector: &metav1.LabelSelector{MatchLabels: selector},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: podLabels, Annotations: podAnn},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{
						Name:  container,
						Image: s.Image,
						Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: port, Protocol: corev1.ProtocolTCP}},
						Env: []corev1.EnvVar{
							{Name: "MODEL_NAME", Value: r.Model},
							{Name: "MODEL_VERSION", Value: m.rv.Version.String()},
							{Name: "MODEL_DIGEST", Value: m.rv.Digest.String()},
							{Name: "STORAGE_URI", Value: in.memberStorageURI(r.Environment, m)},
						},
						ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("http")}}},
					}}},
				},
			},
		}
		svc := corev1.Service{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Annotations: ann},
			Spec: corev1.ServiceSpec{
				Selector: selector,
				Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}},
			},
		}
		do, err := toObject(dep)
		if err != nil {
			return nil, err
		}
		so, err := toObject(svc)
		if err != nil {
			return nil, err
		}
		objs = append(objs, do)
		svcs = append(svcs, so)
		backends[i] = backendRef(name)
	}
	route, err := httpRoute(in, r, ms, backends)
	if err != nil {
		return nil, err
	}
	out := append(svcs, objs...)
	return append(out, route), nil
}

func backendRef(service string) gwv1.HTTPBackendRef {
	port := gwv1.PortNumber(80)
	return gwv1.HTTPBackendRef{BackendRef: gwv1.BackendRef{BackendObjectReference: gwv1.BackendObjectReference{
		Name: gwv1.ObjectName(service),
		Port: &port,
	}}}
}

func weighted(b gwv1.HTTPBackendRef, w int) gwv1.HTTPBackendRef {
	w32 := int32(w)
	b.Weight = &w32
	return b
}

// httpRoute routes by weight (replace, canary, blue-green: the active
// version gets 100 unless weights say otherwise) or, for ab, sends requests
// carrying the match header to B and everything else to A.
func httpRoute(in Input, r *manifests.Release, ms []member, backends []gwv1.HTTPBackendRef) (object, error) {
	gw := in.Gateway
	if gw == "" {
		gw = "modelgit"
	}
	parent := gwv1.ParentReference{}
	if ns, name, ok := strings.Cut(gw, "/"); ok {
		n := gwv1.Namespace(ns)
		parent.Namespace = &n
		parent.Name = gwv1.ObjectName(name)
	} else {
		parent.Name = gwv1.ObjectName(gw)
	}
	var rules []gwv1.HTTPRouteRule
	if r.Strategy == manifests.StrategyAB {
		name, value, ok := strings.Cut(r.Match, "=")
		if !ok || name == "" || value == "" {
			return nil, fmt.Errorf("match: %q is not valid; strategy \"ab\" needs a header match name=value", r.Match)
		}
		exact := gwv1.HeaderMatchExact
		rules = []gwv1.HTTPRouteRule{
			{
				Matches:     []gwv1.HTTPRouteMatch{{Headers: []gwv1.HTTPHeaderMatch{{Type: &exact, Name: gwv1.HTTPHeaderName(name), Value: value}}}},
				BackendRefs: []gwv1.HTTPBackendRef{backends[1]},
			},
			{BackendRefs: []gwv1.HTTPBackendRef{backends[0]}},
		}
	} else {
		anyWeight := false
		for _, m := range ms {
			anyWeight = anyWeight || m.rv.Weight != nil
		}
		var refs []gwv1.HTTPBackendRef
		for i, m := range ms {
			w := 0
			switch {
			case anyWeight && m.rv.Weight != nil:
				w = *m.rv.Weight
			case !anyWeight && i == 0:
				w = 100
			}
			refs = append(refs, weighted(backends[i], w))
		}
		rules = []gwv1.HTTPRouteRule{{BackendRefs: refs}}
	}
	primary := ms[0]
	if r.Strategy == manifests.StrategyCanary {
		primary = ms[1]
	}
	route := gwv1.HTTPRoute{
		TypeMeta: metav1.TypeMeta{APIVersion: "gateway.networking.k8s.io/v1", Kind: "HTTPRoute"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        dnsName(r.Model),
			Labels:      baseLabels(r, primary.rv.Version),
			Annotations: annotations(r, ms, primary),
		},
		Spec: gwv1.HTTPRouteSpec{
			CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: []gwv1.ParentReference{parent}},
			Rules:           rules,
		},
	}
	return toObject(route)
}

package render

import (
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ktypes "sigs.k8s.io/kustomize/api/types"
	kresid "sigs.k8s.io/kustomize/kyaml/resid"
	"sigs.k8s.io/yaml"

	"github.com/modelgit/modelgit/manifests"
)

// FluxNamespace and FluxName name the Flux objects Cluster generates, as
// `flux bootstrap` names its own.
const (
	FluxNamespace = "flux-system"
	FluxName      = "flux-system"
)

// Intervals of the generated Flux objects. The source is polled every
// minute (a merge reaches the cluster within about a minute, sooner with
// a webhook Receiver or `flux reconcile source git flux-system`); the
// Kustomization re-applies every 10 minutes to undo drift, retries a
// failed apply after 2 minutes instead of waiting for the next interval,
// and gives the rollout (wait: true: InferenceServices, Deployments ready)
// 5 minutes.
const (
	SourceInterval = time.Minute
	SyncInterval   = 10 * time.Minute
	SyncRetry      = 2 * time.Minute
	SyncTimeout    = 5 * time.Minute
)

// NamespaceFile is clusters/<cluster>/namespace.yaml: the Namespace of the
// cluster's environment.
const NamespaceFile = "namespace.yaml"

// AnnotationPrune is kustomize-controller's per-object prune switch.
// modelgit's Namespace carries "disabled": renaming an environment's
// namespace in modelgit.yaml stops managing the old one but never deletes
// it with whatever else lives there (the Gateway, storage credentials).
const AnnotationPrune = "kustomize.toolkit.fluxcd.io/prune"

// ClusterDir returns clusters/<cluster>.
func ClusterDir(cluster string) string { return path.Join(ClustersDir, cluster) }

// kustomization renders a kustomization.yaml.
func kustomization(resources []string, patches []ktypes.Patch) ([]byte, error) {
	k := ktypes.Kustomization{
		TypeMeta:  ktypes.TypeMeta{APIVersion: ktypes.KustomizationVersion, Kind: ktypes.KustomizationKind},
		Resources: resources,
		Patches:   patches,
	}
	o, err := toObject(k)
	if err != nil {
		return nil, err
	}
	if _, ok := o["resources"]; !ok {
		o["resources"] = []any{}
	}
	return encodeDocs([]object{o}, "")
}

// Cluster renders clusters/<cluster>/: kustomization.yaml over
// rendered/<env> and flux-system/, with the cluster's GPU defaults as
// patches on every InferenceService predictor and Deployment pod spec
// modelgit manages, and flux-system/ with a GitRepository (commit
// signatures verified against the modelgit-allowed-signers Secret) and a
// Kustomization applying ./clusters/<cluster> with prune and wait. The
// Kustomization includes flux-system itself, so Flux keeps its own sync
// objects in step, as after `flux bootstrap`; the Flux controllers
// (gotk-components) are installed separately.
func Cluster(in Input, cluster string) ([]File, error) {
	if in.Config == nil {
		return nil, fmt.Errorf("rendering cluster %q: no configuration", cluster)
	}
	i := slices.IndexFunc(in.Config.Clusters, func(c manifests.Cluster) bool { return c.Name == cluster })
	if i < 0 {
		return nil, fmt.Errorf("rendering cluster %q: not in modelgit.yaml clusters", cluster)
	}
	c := in.Config.Clusters[i]
	if err := manifests.ValidName(c.Name); err != nil {
		return nil, fmt.Errorf("rendering cluster %q: %w", cluster, err)
	}
	j := slices.IndexFunc(in.Config.Environments, func(e manifests.Environment) bool { return e.Name == c.Environment })
	if j < 0 {
		return nil, fmt.Errorf("rendering cluster %q: environment %q is not in modelgit.yaml environments", cluster, c.Environment)
	}
	patches, err := gpuPatches(c.GPU)
	if err != nil {
		return nil, fmt.Errorf("rendering cluster %q: %w", cluster, err)
	}
	dir := ClusterDir(cluster)
	k, err := kustomization([]string{"../../" + path.Join(RenderedDir, c.Environment), NamespaceFile, "flux-system"}, patches)
	if err != nil {
		return nil, fmt.Errorf("rendering cluster %q: %w", cluster, err)
	}
	branch := in.Config.Environments[j].Branch
	if branch == "" {
		branch = in.Branch
	}
	if branch == "" {
		branch = "main"
	}
	ns, err := namespaceObject(in.Namespace(c.Environment), c.Environment)
	if err != nil {
		return nil, fmt.Errorf("rendering cluster %q: %w", cluster, err)
	}
	secret := ""
	if in.Config.Flux != nil {
		secret = in.Config.Flux.SecretRef
	}
	sync, err := syncObjects(in.RepoURL, secret, branch, "./"+dir)
	if err != nil {
		return nil, fmt.Errorf("rendering cluster %q: %w", cluster, err)
	}
	syncYAML, err := encodeDocs(sync, "")
	if err != nil {
		return nil, fmt.Errorf("rendering cluster %q: %w", cluster, err)
	}
	fk, err := kustomization([]string{"gotk-sync.yaml"}, nil)
	if err != nil {
		return nil, fmt.Errorf("rendering cluster %q: %w", cluster, err)
	}
	return []File{
		{Path: path.Join(dir, "flux-system", "gotk-sync.yaml"), Content: syncYAML},
		{Path: path.Join(dir, "flux-system", "kustomization.yaml"), Content: fk},
		{Path: path.Join(dir, "kustomization.yaml"), Content: k},
		{Path: path.Join(dir, NamespaceFile), Content: ns},
	}, nil
}

// namespaceObject renders the Namespace the objects of env live in.
// modelgit owns it so that a cluster bootstrapped onto the repository
// applies without a manual step (kustomize-controller applies Namespaces
// before the objects in them); it is never pruned (AnnotationPrune).
func namespaceObject(name, env string) ([]byte, error) {
	ns := corev1.Namespace{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Labels:      map[string]string{LabelManagedBy: ManagedBy, LabelEnvironment: env},
			Annotations: map[string]string{AnnotationPrune: "disabled"},
		},
	}
	o, err := toObject(ns)
	if err != nil {
		return nil, err
	}
	return encodeDocs([]object{o}, "")
}

// managedSelector picks the objects modelgit rendered.
const managedSelector = LabelManagedBy + "=" + ManagedBy

// gpuPatches are the cluster's GPU defaults as kustomize patches: a merge
// patch on InferenceService predictors (KServe's predictor embeds the pod
// spec, and model is its container) and a strategic merge patch on
// Deployments, whose containers merge by name.
func gpuPatches(g *manifests.GPU) ([]ktypes.Patch, error) {
	if g == nil {
		return nil, nil
	}
	if g.Resource == "" || g.Count < 1 {
		return nil, fmt.Errorf("gpu: resource %q and count %d are not valid; want a resource name such as nvidia.com/gpu and a count of 1 or more", g.Resource, g.Count)
	}
	limits := map[string]any{"limits": map[string]any{g.Resource: fmt.Sprint(g.Count)}}
	pod := map[string]any{}
	if len(g.NodeSelector) > 0 {
		pod["nodeSelector"] = g.NodeSelector
	}
	if len(g.Tolerations) > 0 {
		pod["tolerations"] = g.Tolerations
	}
	if g.RuntimeClassName != "" {
		pod["runtimeClassName"] = g.RuntimeClassName
	}
	predictor := map[string]any{"model": map[string]any{"resources": limits}}
	podSpec := map[string]any{"containers": []any{map[string]any{"name": container, "resources": limits}}}
	for k, v := range pod {
		predictor[k] = v
		podSpec[k] = v
	}
	isvc := object{
		"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
		"metadata": map[string]any{"name": "all"},
		"spec":     map[string]any{"predictor": predictor},
	}
	dep := object{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "all"},
		"spec":     map[string]any{"template": map[string]any{"spec": podSpec}},
	}
	var out []ktypes.Patch
	for _, p := range []struct {
		o      object
		target ktypes.Selector
	}{
		{isvc, ktypes.Selector{ResId: resid("serving.kserve.io", "v1beta1", "InferenceService"), LabelSelector: managedSelector}},
		{dep, ktypes.Selector{ResId: resid("apps", "v1", "Deployment"), LabelSelector: managedSelector}},
	} {
		b, err := yaml.Marshal(p.o)
		if err != nil {
			return nil, err
		}
		t := p.target
		out = append(out, ktypes.Patch{Patch: string(b), Target: &t})
	}
	return out, nil
}

// syncObjects are the GitRepository and Kustomization of flux-system.
func syncObjects(repoURL, secretRef, branch, syncPath string) ([]object, error) {
	if repoURL == "" {
		return nil, fmt.Errorf("no repository URL for Flux's GitRepository; pass the clone URL Flux reads")
	}
	if err := manifests.ValidFluxURL(repoURL); err != nil {
		return nil, fmt.Errorf("Flux's GitRepository: %w; set flux.url in modelgit.yaml to the URL the cluster clones this repository from", err)
	}
	repo := sourcev1.GitRepository{
		TypeMeta:   metav1.TypeMeta{APIVersion: sourcev1.GroupVersion.String(), Kind: sourcev1.GitRepositoryKind},
		ObjectMeta: metav1.ObjectMeta{Name: FluxName, Namespace: FluxNamespace, Labels: map[string]string{LabelManagedBy: ManagedBy}},
		Spec: sourcev1.GitRepositorySpec{
			URL:       repoURL,
			Interval:  metav1.Duration{Duration: SourceInterval},
			Reference: &sourcev1.GitRepositoryRef{Branch: branch},
			Verification: &sourcev1.GitRepositoryVerification{
				Mode:      sourcev1.ModeGitHEAD,
				SecretRef: meta.LocalObjectReference{Name: AllowedSignersSecret},
			},
		},
	}
	ks := kustomizev1.Kustomization{
		TypeMeta:   metav1.TypeMeta{APIVersion: kustomizev1.GroupVersion.String(), Kind: kustomizev1.KustomizationKind},
		ObjectMeta: metav1.ObjectMeta{Name: FluxName, Namespace: FluxNamespace, Labels: map[string]string{LabelManagedBy: ManagedBy}},
		Spec: kustomizev1.KustomizationSpec{
			Interval:      metav1.Duration{Duration: SyncInterval},
			RetryInterval: &metav1.Duration{Duration: SyncRetry},
			Timeout:       &metav1.Duration{Duration: SyncTimeout},
			Path:          syncPath,
			Prune:         true,
			Wait:          true,
			SourceRef:     kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: FluxName},
		},
	}
	if secretRef != "" {
		repo.Spec.SecretRef = &meta.LocalObjectReference{Name: secretRef}
	}
	var out []object
	for _, v := range []any{repo, ks} {
		o, err := toObject(v)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

func resid(group, version, kind string) kresid.ResId {
	return kresid.ResId{Gvk: kresid.Gvk{Group: group, Version: version, Kind: kind}}
}

// FluxURL returns the clone URL Flux's GitRepository follows: flux.url in
// modelgit.yaml when set; else the forge's repository, on the forge URL's
// scheme and host (https://github.com without a forge URL; an http://
// forge, such as the built-in fake, stays http://); else origin, the
// origin remote's URL, with an scp-like git@host:path written as
// ssh://git@host/path and any password or token removed. "" means none
// is known. A URL Flux cannot clone (file://, a path) is returned as it
// is: Cluster refuses it, saying to set flux.url.
func FluxURL(cfg *manifests.Config, origin string) string {
	if cfg != nil && cfg.Flux != nil && cfg.Flux.URL != "" {
		return cfg.Flux.URL
	}
	if cfg != nil && cfg.Forge != nil && cfg.Forge.Repository != "" {
		host := "https://github.com"
		if cfg.Forge.URL != "" {
			if u, err := url.Parse(cfg.Forge.URL); err == nil && u.Host != "" {
				scheme := "https"
				if u.Scheme == "http" {
					scheme = "http"
				}
				host = scheme + "://" + u.Host
			}
		}
		return host + "/" + cfg.Forge.Repository + ".git"
	}
	if origin == "" {
		return ""
	}
	if user, rest, ok := strings.Cut(origin, "@"); ok && !strings.Contains(origin, "://") && !strings.Contains(user, "/") {
		if host, p, ok := strings.Cut(rest, ":"); ok && host != "" {
			return "ssh://" + user + "@" + host + "/" + strings.TrimPrefix(p, "/")
		}
	}
	u, err := url.Parse(origin)
	if err != nil || u.Scheme == "" {
		return origin
	}
	if u.User != nil {
		if u.Scheme == "ssh" {
			u.User = url.User(u.User.Username())
		} else {
			u.User = nil
		}
	}
	return u.String()
}

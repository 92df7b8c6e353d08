package render

import (
	"fmt"
	"path"
	"slices"
	"time"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
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

// Intervals of the generated Flux objects.
const (
	SourceInterval = time.Minute
	SyncInterval   = 10 * time.Minute
	SyncTimeout    = 5 * time.Minute
)

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
	dir := manifests.ClusterDir(cluster)
	k, err := kustomization([]string{"../../" + path.Join(manifests.RenderedDir, c.Environment), "flux-system"}, patches)
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
	sync, err := syncObjects(in.RepoURL, branch, "./"+dir)
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
	}, nil
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
func syncObjects(url, branch, syncPath string) ([]object, error) {
	if url == "" {
		return nil, fmt.Errorf("no repository URL for Flux's GitRepository; pass the clone URL Flux reads")
	}
	repo := sourcev1.GitRepository{
		TypeMeta:   metav1.TypeMeta{APIVersion: sourcev1.GroupVersion.String(), Kind: sourcev1.GitRepositoryKind},
		ObjectMeta: metav1.ObjectMeta{Name: FluxName, Namespace: FluxNamespace, Labels: map[string]string{LabelManagedBy: ManagedBy}},
		Spec: sourcev1.GitRepositorySpec{
			URL:       url,
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
			Interval:  metav1.Duration{Duration: SyncInterval},
			Timeout:   &metav1.Duration{Duration: SyncTimeout},
			Path:      syncPath,
			Prune:     true,
			Wait:      true,
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: FluxName},
		},
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

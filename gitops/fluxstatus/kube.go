package fluxstatus

import (
	"context"
	"fmt"
	"strings"
	"time"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Reader reads what Flux reports on a cluster.
type Reader interface {
	// Sync reads the Kustomization namespace/name on cluster and the
	// GitRepository it applies from.
	Sync(ctx context.Context, cluster, namespace, name string) (Sync, error)
}

// Resources of the Flux objects read.
var (
	kustomizations  = schema.GroupVersionResource{Group: kustomizev1.GroupVersion.Group, Version: kustomizev1.GroupVersion.Version, Resource: "kustomizations"}
	gitRepositories = schema.GroupVersionResource{Group: sourcev1.GroupVersion.Group, Version: sourcev1.GroupVersion.Version, Resource: "gitrepositories"}
)

// Timeout bounds each request to a cluster's API server.
const Timeout = 15 * time.Second

// Kube reads clusters through a kubeconfig: for cluster C the context
// named C, else Context, else (when the kubeconfig has one context) that
// one.
type Kube struct {
	raw     clientcmdapi.Config
	path    string
	context string
	// Dynamic makes the client of a REST config; nil means
	// dynamic.NewForConfig (tests replace it).
	clients map[string]dynamic.Interface
}

// NewKube loads the kubeconfig at path; an empty path means $KUBECONFIG
// (a list of files, merged) or ~/.kube/config, as kubectl loads it.
// kubeContext, when not empty, is used for clusters with no context of
// their own name.
func NewKube(path, kubeContext string) (*Kube, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = path
	raw, err := rules.Load()
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig: %w", err)
	}
	if len(raw.Contexts) == 0 {
		where := path
		if where == "" {
			where = strings.Join(rules.GetLoadingPrecedence(), ", ")
		}
		return nil, fmt.Errorf("loading kubeconfig %s: it has no contexts; pass --kubeconfig FILE or set KUBECONFIG", where)
	}
	if kubeContext != "" {
		if _, ok := raw.Contexts[kubeContext]; !ok {
			return nil, fmt.Errorf("kubeconfig context %q does not exist; contexts: %s", kubeContext, contextNames(raw))
		}
	}
	return &Kube{raw: *raw, path: path, context: kubeContext, clients: map[string]dynamic.Interface{}}, nil
}

func contextNames(c *clientcmdapi.Config) string {
	var names []string
	for n := range c.Contexts {
		names = append(names, n)
	}
	return strings.Join(sortStrings(names), ", ")
}

// contextFor picks the kubeconfig context of cluster.
func (k *Kube) contextFor(cluster string) (string, error) {
	switch {
	case k.raw.Contexts[cluster] != nil:
		return cluster, nil
	case k.context != "":
		return k.context, nil
	case len(k.raw.Contexts) == 1:
		for n := range k.raw.Contexts {
			return n, nil
		}
	}
	return "", fmt.Errorf("the kubeconfig has no context named %q (contexts: %s); name the cluster's context %q, or pass --cluster %s --context CONTEXT", cluster, contextNames(&k.raw), cluster, cluster)
}

func (k *Kube) client(cluster string) (dynamic.Interface, error) {
	name, err := k.contextFor(cluster)
	if err != nil {
		return nil, err
	}
	if c, ok := k.clients[name]; ok {
		return c, nil
	}
	cfg, err := clientcmd.NewNonInteractiveClientConfig(k.raw, name, &clientcmd.ConfigOverrides{}, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig context %q: %w", name, err)
	}
	cfg.Timeout = Timeout
	c, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig context %q: %w", name, err)
	}
	k.clients[name] = c
	return c, nil
}

// Sync implements Reader.
func (k *Kube) Sync(ctx context.Context, cluster, namespace, name string) (Sync, error) {
	c, err := k.client(cluster)
	if err != nil {
		return Sync{}, err
	}
	return ReadSync(ctx, c, namespace, name)
}

// ReadSync reads the Kustomization namespace/name and its GitRepository
// with a dynamic client.
func ReadSync(ctx context.Context, c dynamic.Interface, namespace, name string) (Sync, error) {
	s := Sync{Kustomization: namespace + "/" + name}
	u, err := c.Resource(kustomizations).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return s, fmt.Errorf("reading Kustomization %s: %w", s.Kustomization, err)
	}
	var ks kustomizev1.Kustomization
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &ks); err != nil {
		return s, fmt.Errorf("reading Kustomization %s: %w", s.Kustomization, err)
	}
	s.LastAppliedRevision = ks.Status.LastAppliedRevision
	s.LastAttemptedRevision = ks.Status.LastAttemptedRevision
	s.Ready = condition(ks.Status.Conditions)
	s.Stale = ks.Status.ObservedGeneration < ks.Generation
	if ks.Spec.SourceRef.Kind != sourcev1.GitRepositoryKind {
		return s, nil
	}
	srcNS := ks.Spec.SourceRef.Namespace
	if srcNS == "" {
		srcNS = namespace
	}
	u, err = c.Resource(gitRepositories).Namespace(srcNS).Get(ctx, ks.Spec.SourceRef.Name, metav1.GetOptions{})
	if err != nil {
		return s, fmt.Errorf("reading GitRepository %s/%s: %w", srcNS, ks.Spec.SourceRef.Name, err)
	}
	var repo sourcev1.GitRepository
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &repo); err != nil {
		return s, fmt.Errorf("reading GitRepository %s/%s: %w", srcNS, ks.Spec.SourceRef.Name, err)
	}
	s.Source = condition(repo.Status.Conditions)
	if a := repo.Status.Artifact; a != nil {
		s.SourceRevision = a.Revision
	}
	return s, nil
}

func condition(cs []metav1.Condition) Condition {
	c := apimeta.FindStatusCondition(cs, meta.ReadyCondition)
	if c == nil {
		return Condition{}
	}
	return Condition{Status: string(c.Status), Reason: c.Reason, Message: c.Message}
}

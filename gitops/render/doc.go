// Package render turns a modelgit GitOps repository's releases into the
// Kubernetes objects Flux applies, and wires each cluster to them.
//
// Rendering is a pure function of its Input: the same releases, versions,
// models and clusters always give the same files, byte for byte, each
// starting with a "DO NOT EDIT" header. Environment writes
// rendered/<env>/, Cluster writes clusters/<cluster>/ (a kustomization over
// rendered/<env> with the cluster's GPU patches, and flux-system/ with a
// verified GitRepository and a Kustomization), and BuildCluster computes
// what `kustomize build clusters/<cluster>` outputs from those files,
// without running kustomize. Validate checks rendered objects against the
// OpenAPI schemas of the CRDs they belong to (KServe, Gateway API, Flux),
// embedded from the projects' releases (see crds/SOURCE.md).
//
// Objects are built from the projects' own Go types where they are
// published: k8s.io/api for Deployments and Services, Gateway API for
// HTTPRoute, Flux's source-controller and kustomize-controller APIs for the
// sync objects, kustomize/api for kustomization.yaml. KServe's Go module is
// not imported (it brings in Knative and a controller stack); its
// InferenceService is a small local struct checked against KServe's CRD
// schema instead.
package render

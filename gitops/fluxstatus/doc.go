// Package fluxstatus reads what Flux has applied on a cluster (the
// status of its Kustomization and GitRepository, through client-go from a
// kubeconfig) and says, for a release merged in Git, whether the cluster
// has applied it: "applied", "merged, not yet applied" or "failed to
// apply: <Flux's message>".
package fluxstatus

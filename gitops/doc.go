// Package gitops is modelgit's library: it lays out a GitOps repository,
// registers model versions (hash, store, signed commit), reads them back,
// and verifies history. Its subpackages hold the parts: store (the
// content-addressed artifact store), signing (commit signatures and their
// verification) and repo (crash-safe Git writes over go-git).
package gitops

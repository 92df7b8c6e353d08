// Package gitops is modelgit's core: it opens a GitOps repository and its
// modelgit.yaml (Repository), reads model versions and releases at any
// revision, knows who may sign (Trust) and which policy applies, and
// computes the render input and the rendered files. The capabilities
// built on it live in its subpackages: ledger (what served where),
// register, check, audit, promote and monitor; repo is the only git
// access, store the content-addressed artifacts, render the pure
// rendering, forge the pull-request host, signing the commit signatures.
package gitops

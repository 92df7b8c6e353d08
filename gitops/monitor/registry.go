package monitor

import "github.com/modelgit/modelgit/gitops"

// registry is the GitOps repository this package works on: the core's
// Registry, with this package's operations as methods.
type registry struct{ *gitops.Registry }

// of wraps reg for this package.
func of(reg *gitops.Registry) *registry { return &registry{reg} }

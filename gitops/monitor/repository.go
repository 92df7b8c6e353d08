package monitor

import "github.com/modelgit/modelgit/gitops"

// repository is the GitOps repository this package works on: the core's
// Repository, with this package's operations as methods.
type repository struct{ *gitops.Repository }

// of wraps reg for this package.
func of(reg *gitops.Repository) *repository { return &repository{reg} }

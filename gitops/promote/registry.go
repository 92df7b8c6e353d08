package promote

import (
	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/ledger"
)

// registry is the GitOps repository this package works on: the core's
// Registry (through the ledger, which it reads), with this package's
// operations as methods.
type registry struct{ *ledger.Ledger }

// of wraps reg for this package.
func of(reg *gitops.Registry) *registry { return &registry{ledger.Of(reg)} }

package audit

import (
	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/ledger"
)

// repository is the GitOps repository this package works on: the core's
// Repository (through the ledger, which it reads), with this package's
// operations as methods.
type repository struct{ *ledger.Ledger }

// of wraps reg for this package.
func of(reg *gitops.Repository) *repository { return &repository{ledger.Of(reg)} }

package ledger

import "github.com/modelgit/modelgit/gitops"

// Ledger answers, from the first-parent history of the followed
// branches, what ran where and from when to when. It reads through the
// core's Repository.
type Ledger struct{ *gitops.Repository }

// Of returns the ledger of reg.
func Of(reg *gitops.Repository) *Ledger { return &Ledger{reg} }

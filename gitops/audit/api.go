package audit

import (
	"context"
	"iter"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/gitops/ledger"
)

// The package's entry points: each runs the method of the same name on
// the repository reg.

// Audit lists every change of a release file on the first-parent history
// of the followed branch(es): promotions, rollbacks, reverts and edits,
// with who asked, who approved, who merged and the signatures, oldest
// first. It also checks the branch against the position recorded by the
// last run and reports a history rewrite. The events come from, and go
// to, the audit cache (AuditCacheFile): only commits it does not cover
// are scanned. It holds every event: AuditEvents streams them.
func Audit(ctx context.Context, reg *gitops.Repository, opts AuditOptions) (*AuditReport, error) {
	return of(reg).Audit(ctx, opts)
}

// AuditEvents is Audit without holding the events: it returns the report
// without them (Events nil: the followed branches, their tips and the
// rewrites, all settled before any event is read) and the events, oldest
// first, read from the audit cache one chunk at a time as they are
// ranged over (each branch's new commits are scanned, and the cache
// written, when the range starts). Range over them once; an error ends
// them. The events of several branches are merged by time, a branch's
// before another's at the same time when its name sorts first.
func AuditEvents(ctx context.Context, reg *gitops.Repository, opts AuditOptions) (*AuditReport, iter.Seq2[*ledger.AuditEvent, error], error) {
	return of(reg).AuditEvents(ctx, opts)
}

// History lists the versions of model registered at HEAD, oldest first,
// each with the commit that added it, that commit's signature, and where
// and when it ran.
func History(reg *gitops.Repository, model string) ([]HistoryEntry, error) {
	return of(reg).History(model)
}

// PendingByModel sorts open pull requests by the models they promote:
// one-model branches by their name, bulk promotions by the Model:
// trailers of their head commit when this clone has it, else by the
// "## <model> <version> → <env>" headings of their body. Pull requests
// that are not promotions, or promote models not registered here, are
// left out.
func PendingByModel(reg *gitops.Repository, prs []*forge.PullRequest) (map[string][]PendingPromotion, error) {
	return of(reg).PendingByModel(prs)
}

// Provenance finds the commit that registered v and checks its signature.
func ProvenanceOf(reg *gitops.Repository, v *gitops.VersionRef) (Provenance, error) {
	return of(reg).Provenance(v)
}

// Status returns the matrix of models × environments at HEAD: the latest
// registered version of each model and what each environment runs.
func Status(reg *gitops.Repository) ([]StatusRow, error) {
	return of(reg).Status()
}

// Which answers what ran in an environment at a moment: the release files
// as they were on the first-parent history of the followed branch at that
// time, every version in them (both sides of a canary, with weights), and
// for each the chain back to its manifest, artifacts, training data,
// registration and the change (requested, approved, merged) that made it
// serve.
func Which(ctx context.Context, reg *gitops.Repository, opts WhichOptions) (*WhichResult, error) {
	return of(reg).Which(ctx, opts)
}

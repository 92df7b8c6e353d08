package promote

import (
	"context"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/manifests"
)

// The package's entry points: each runs the method of the same name on
// the repository reg.

// BulkPromote promotes many models in one commit and pull request. Every
// model is planned first; if any cannot be promoted, nothing is changed
// and every reason is returned. A model whose release would not change
// (Env already runs its version, released the same way) is not promoted
// but listed in AlreadyRunning; when that is every model, nothing is
// committed.
func BulkPromote(ctx context.Context, reg *gitops.Repository, opts BulkOptions) (*BulkResult, error) {
	return of(reg).BulkPromote(ctx, opts)
}

// PreviousVersion returns the version that served most traffic in env
// before the one serving now, from the history of the release file. A
// version that a later commit rolled back from (its Rollback trailer) is
// skipped: a second rollback does not return to the version the first one
// left. ErrNoPrevious when no version is left.
func PreviousVersion(reg *gitops.Repository, env string, model string) (manifests.Version, error) {
	return of(reg).PreviousVersion(env, model)
}

// Promote writes the environment's release and its rendered objects on
// the branch modelgit/promote/<env>/<model>-<version> in one signed commit,
// pushes it and opens (or updates) the pull request. It is idempotent:
// run again, it converges on the same branch and pull request.
func Promote(ctx context.Context, reg *gitops.Repository, opts PromoteOptions) (*PromoteResult, error) {
	return of(reg).Promote(ctx, opts)
}

// Rollback is a promotion (a replace release) back to To, or when To is
// empty: while the release routes traffic to more than one version (a
// canary or an A/B test), or holds a blue-green standby that never served,
// the version that served alone before (the stable, variant A, the
// active); otherwise the previous version found in history
// (PreviousVersion). The commit and pull request say it is a rollback,
// and the Rollback trailer names the versions it takes out. A version
// that ran in the environment before is exempt from the promotion order;
// any other is held to it (and --force, recorded as for a promotion).
func Rollback(ctx context.Context, reg *gitops.Repository, opts RollbackOptions) (*PromoteResult, error) {
	return of(reg).Rollback(ctx, opts)
}

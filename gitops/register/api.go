package register

import (
	"context"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/store"
)

// The package's entry points: each runs the method of the same name on
// the repository reg.

// CopyStore mirrors every version registered at HEAD from src to dst:
// each blob it needs (verified as read and as written, skipped when dst
// has it) and, for a store that keeps one manifest per version (OCI), the
// version's manifest. Running it again copies nothing: the result counts
// what was copied and what was there already.
func CopyStore(ctx context.Context, reg *gitops.Repository, src store.Store, dst store.Store, prog store.Progress) (*CopyResult, error) {
	return of(reg).CopyStore(ctx, src, dst, prog)
}

// Pull writes the artifacts of a version into dir, each under its
// registered name, verified against its digest as it is read. Every
// artifact is first written into a stage directory inside dir and moved
// to its name only when all are verified, so a failure or Ctrl-C leaves
// dir as it was; the stage of an earlier killed pull is removed. dir must
// be empty unless opts.Force; two artifacts with one name are refused.
func Pull(ctx context.Context, reg *gitops.Repository, v *gitops.VersionRef, dir string, opts PullOptions) ([]Pulled, error) {
	return of(reg).Pull(ctx, v, dir, opts)
}

// Register hashes and stores the artifacts, proposes the next version,
// writes models/<model>/versions/<version>.yaml and commits it, signed,
// with trailers. Re-running it with the same inputs converges: it reports
// that nothing changed.
func Register(ctx context.Context, reg *gitops.Repository, opts RegisterOptions) (*RegisterResult, error) {
	return of(reg).Register(ctx, opts)
}

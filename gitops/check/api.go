package check

import (
	"context"

	"github.com/modelgit/modelgit/gitops"
)

// The package's entry points: each runs the method of the same name on
// the repository reg.

// Check judges a pull request (or base..head): the manifests it changes
// (from the merge base of base and head, as the forge diffs a pull
// request) parse and validate; every commit in the range that touches
// governed paths or modelgit.yaml is signed by a signer allowed at the
// base; no registered version changes; the artifacts of new versions
// exist in the store; rendered/ is in sync at the head (with an OCI
// store, each changed release pins the OCI manifest computed from the
// committed version); no changed release moved on the base since the
// merge base (up-to-date); each changed
// environment's policy (read from the base, with the environment order of
// the base's modelgit.yaml) passes, with its promotion order and soak time
// according to the base's history; and, with a forge, enough eligible
// people approved the head. Problems found are in the report (Passed
// false); an error means the check could not be run.
func Check(ctx context.Context, reg *gitops.Repository, opts CheckOptions) (*CheckReport, error) {
	return of(reg).Check(ctx, opts)
}

// Merge checks a pull request and, when the check passes, merges it
// through the forge as a merge commit pinned to the head SHA that was
// checked, with a message whose trailers record the approvers, the
// policies and the pull request (MergeMessage). Each approver is named by
// their forge profile (see approverIdentity). When the head moved between
// check and merge, the forge refuses and Merge returns an error matching
// forge.ErrHeadMoved: check again, never merge blind. When the forge
// finds the pull request not mergeable (a conflict with its base), the
// error matches forge.ErrNotMergeable and says how to update the branch.
// A failed check returns the result with its report and an error
// matching ErrCheckFailed.
func Merge(ctx context.Context, reg *gitops.Repository, opts MergeOptions) (*MergeResult, error) {
	return of(reg).Merge(ctx, opts)
}

// MergeLocal merges a promotion branch into a local base branch without
// a forge, as Merge does through one: it judges the branch as Check does
// (base..head, with the approvers the merger asserts counted by the
// policy's count, and the merger, the requester, the registrant and the
// branch's committers, authors and signers excluded), and when that
// passes, commits on the base a merge commit signed by the merger, whose
// trailers record the approvers (Approved-by), the merger (Merged-by),
// the policies, Merge-Method: local and the head checked. The approvers
// are asserted, not proven: what vouches for them is the merger's
// signature, which must be an allowed signer's at the base.
//
// It never forces: the head must contain the base's tip (an up-to-date
// branch, whose tree the merge takes), the work tree must be clean, and
// the base branch moves by compare-and-swap. A head already merged
// returns a result with AlreadyMerged and no error.
func MergeLocal(ctx context.Context, reg *gitops.Repository, opts LocalMergeOptions) (*MergeResult, error) {
	return of(reg).MergeLocal(ctx, opts)
}

// Verify checks, over a range of history, that every commit touching
// models/, environments/, rendered/, policies/ or modelgit.yaml is signed
// by a signer in force at its first parent (the chain of trust from the
// trust root: gitops.TrustChain) and still allowed at the tip, that no
// registered version was modified or deleted, that no symbolic link is
// committed in a governed path, that the manifests and releases at the
// tip parse and validate, and that every artifact they reference resolves
// in the store (re-hashed with Deep).
func Verify(ctx context.Context, reg *gitops.Repository, opts VerifyOptions) (*VerifyReport, error) {
	return of(reg).Verify(ctx, opts)
}

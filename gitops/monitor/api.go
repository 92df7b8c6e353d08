package monitor

import (
	"context"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/promote"
)

// The package's entry points: each runs the method of the same name on
// the repository reg.

// ActOnMonitor opens, for every failing model of rep, the pull request
// that undoes the failure, through the same code as Rollback, with the
// evidence (queries, values, window, bounds) in its body:
//   - a failing canary is aborted: a replace release of the stable version
//     alone (branch modelgit/rollback/<env>/<model>-<stable>);
//   - otherwise the environment returns to the previous version found in
//     history.
//
// It is idempotent: the branch and pull request are the same on every run
// (updated with the new evidence), and an open rollback pull request for
// the model and environment on another branch is left alone, never
// duplicated. While a promotion pull request for the model and environment
// is open, nothing is done and the action says so; so too when the last
// pull request of the branch was closed without merging (rejected) and
// the release it would change has not changed since (the body carries
// the release file's hash in a hidden marker). Models that are not
// failing (healthy, unknown, unmonitored) are never acted on. The actions
// are recorded in rep (ModelHealth.Action).
func ActOnMonitor(ctx context.Context, reg *gitops.Repository, rep *MonitorReport, opts promote.PromoteOptions) error {
	return of(reg).ActOnMonitor(ctx, rep, opts)
}

// Monitor reads the live metrics of every version running in opts.Env
// and judges them with the environment's policy (policies/<env>.yaml at
// HEAD): each metric with a query is compared, in its better direction,
// with the version's registered value (within tolerance), with the
// primary's live value for a canary, or with its absolute threshold for a
// drift metric. A check whose samples are fewer than minSamples, whose
// query fails, or whose Prometheus is unreachable is unknown: never
// healthy, never failing.
func Monitor(ctx context.Context, reg *gitops.Repository, opts MonitorOptions) (*MonitorReport, error) {
	return of(reg).Monitor(ctx, opts)
}

// MonitoredEnvironments splits the environments of modelgit.yaml, in its
// order, into those whose policy (policies/<env>.yaml at HEAD) declares a
// metric with a query, and the others: what `modelgit monitor` without
// --env looks at, and what it skips.
func MonitoredEnvironments(reg *gitops.Repository) (monitored []string, unmonitored []string, err error) {
	return of(reg).MonitoredEnvironments()
}

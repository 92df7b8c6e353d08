package monitor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/gitops/promote"
	"github.com/modelgit/modelgit/manifests"
)

// Monitor action kinds.
const (
	// MonitorRollback returns the environment to the version before.
	MonitorRollback = "rollback"
	// MonitorCanaryAbort returns a canary release to its stable version
	// alone.
	MonitorCanaryAbort = "canary-abort"
)

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
func (r *repository) ActOnMonitor(ctx context.Context, rep *MonitorReport, opts promote.PromoteOptions) error {
	var open, closed []*forge.PullRequest
	if opts.Forge != nil && rep.Failing() {
		var err error
		if open, err = opts.Forge.ListPullRequests(ctx, "open", "modelgit/"); err != nil {
			return fmt.Errorf("listing open pull requests before acting on %q: %w", rep.Env, err)
		}
		if closed, err = opts.Forge.ListPullRequests(ctx, "closed", "modelgit/rollback/"+rep.Env+"/"); err != nil {
			return fmt.Errorf("listing closed rollback pull requests before acting on %q: %w", rep.Env, err)
		}
	}
	var errs []error
	for i := range rep.Models {
		h := &rep.Models[i]
		if h.Verdict != MonitorFailing {
			continue
		}
		a, err := r.actOnModel(ctx, rep, h, open, closed, opts)
		h.Action = a
		if err != nil {
			errs = append(errs, fmt.Errorf("acting on %s in %q: %w", h.Model, rep.Env, err))
		}
	}
	return errors.Join(errs...)
}

func (r *repository) actOnModel(ctx context.Context, rep *MonitorReport, h *ModelHealth, open, closed []*forge.PullRequest, opts promote.PromoteOptions) (*MonitorAction, error) {
	rel, err := r.Release(rep.Env, h.Model)
	if err != nil {
		return nil, err
	}
	if rel == nil {
		return nil, fmt.Errorf("%s no longer runs in %q", h.Model, rep.Env)
	}
	a := &MonitorAction{Kind: MonitorRollback}
	if rel.Strategy == manifests.StrategyCanary && len(rel.Versions) == 2 && canaryFailed(h, rel.Versions[1].Version.String()) {
		a.Kind, a.To = MonitorCanaryAbort, rel.Versions[0].Version.String()
	} else {
		prev, err := promote.PreviousVersion(r.Repository, rep.Env, h.Model)
		if errors.Is(err, promote.ErrNoPrevious) {
			a.Skipped = fmt.Sprintf("no earlier version of %s ran in %s to roll back to; fix forward or roll back by hand (modelgit rollback %s --env %s --to VERSION)", h.Model, rep.Env, h.Model, rep.Env)
			return a, nil
		}
		if err != nil {
			return a, err
		}
		a.To = prev.String()
	}
	to, err := manifests.ParseVersion(a.To)
	if err != nil {
		return a, err
	}
	branch := strings.Replace(promote.PromoteBranch(rep.Env, h.Model, to), "modelgit/promote/", "modelgit/rollback/", 1)
	mark, err := r.releaseMarker(rep.Env, h.Model)
	if err != nil {
		return a, err
	}
	ours := false
	for _, pr := range open {
		ours = ours || pr.Head == branch
		switch {
		case monitorPRFor(pr, "modelgit/promote/"+rep.Env+"/", h.Model):
			a.Skipped = fmt.Sprintf("promotion pull request #%d (%s) for %s in %s is open; not acting while it is: merge or close it first", pr.Number, pr.Head, h.Model, rep.Env)
			return a, nil
		case pr.Head != branch && monitorPRFor(pr, "modelgit/rollback/"+rep.Env+"/", h.Model):
			a.Skipped = fmt.Sprintf("rollback pull request #%d (%s) for %s in %s is already open; not opening another", pr.Number, pr.Head, h.Model, rep.Env)
			return a, nil
		}
	}
	// A human closed our last pull request without merging it: a
	// rejection, respected until the release it would change changes.
	if last := lastClosed(closed, branch); !ours && last != nil && !last.Merged && strings.Contains(last.Body, mark) {
		a.Skipped = fmt.Sprintf("rollback pull request #%d was closed without merging; not reopening while %s is unchanged: reopen #%d (%s) or roll back by hand (modelgit rollback %s --env %s --to %s)", last.Number, manifests.ReleaseFile(rep.Env, h.Model), last.Number, branch, h.Model, rep.Env, a.To)
		return a, nil
	}
	opts.Evidence = MonitorEvidence(rep, h, a) + "\n" + mark + "\n"
	opts.Note = MonitorSummary(rep, h)
	res, err := promote.Rollback(ctx, r.Repository, promote.RollbackOptions{Model: h.Model, Env: rep.Env, To: a.To, PromoteOptions: opts})
	if err != nil {
		return a, err
	}
	a.Branch = res.Branch
	if !res.Commit.IsZero() {
		a.Commit = res.Commit.String()
	}
	if res.Unchanged {
		a.Skipped = fmt.Sprintf("%s already runs %s alone in %s", h.Model, a.To, rep.Env)
	}
	if res.PR != nil {
		a.PR, a.URL, a.Created = res.PR.Number, res.PR.URL, res.Created
	}
	return a, nil
}

// releaseMarker is the hidden line that ties a monitoring pull request to
// the release it changes: the Git blob hash of the release file at HEAD.
// A closed pull request that carries the marker of the current release
// was rejected for this very release.
func (r *repository) releaseMarker(env, model string) (string, error) {
	head, _, err := r.Repo().Head()
	if err != nil {
		return "", err
	}
	raw, err := r.Repo().ReadFile(head, manifests.ReleaseFile(env, model))
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", manifests.ReleaseFile(env, model), err)
	}
	h := plumbing.ComputeHash(plumbing.BlobObject, raw)
	return forge.Marker("release " + manifests.ReleaseFile(env, model) + " " + h.String()), nil
}

// lastClosed is the most recent of the closed pull requests from branch;
// nil when there is none.
func lastClosed(closed []*forge.PullRequest, branch string) *forge.PullRequest {
	var last *forge.PullRequest
	for _, pr := range closed {
		if pr.Head == branch && (last == nil || pr.Number > last.Number) {
			last = pr
		}
	}
	return last
}

// canaryFailed reports whether a check of the canary version failed.
func canaryFailed(h *ModelHealth, canary string) bool {
	for _, c := range h.Checks {
		if c.Version == canary && c.Status == MonitorCheckFail {
			return true
		}
	}
	return false
}

// monitorPRFor reports whether pr's head branch is prefix + model-VERSION,
// or a bulk promotion (prefix + bulk-…) whose body lists model.
func monitorPRFor(pr *forge.PullRequest, prefix, model string) bool {
	rest, ok := strings.CutPrefix(pr.Head, prefix)
	if !ok {
		return false
	}
	if v, ok := strings.CutPrefix(rest, model+"-"); ok {
		if _, err := manifests.ParseVersion(strings.ReplaceAll(v, "_", "+")); err == nil {
			return true
		}
	}
	return strings.HasPrefix(rest, "bulk-") && (strings.HasPrefix(pr.Body, "## "+model+" ") || strings.Contains(pr.Body, "\n## "+model+" "))
}

// MonitorEvidence is the Markdown that explains a monitoring action: the
// evaluation time and source, then every check of the model with its
// query, value, reference, bound, window and samples.
func MonitorEvidence(rep *MonitorReport, h *ModelHealth, a *MonitorAction) string {
	var b strings.Builder
	what := "rolls " + h.Model + " in " + rep.Env + " back to " + a.To
	if a.Kind == MonitorCanaryAbort {
		what = "aborts the canary of " + h.Model + " in " + rep.Env + ": " + a.To + " takes all traffic again"
	}
	fmt.Fprintf(&b, "### Why: live monitoring found %s %s\n\n", h.Model, MonitorFailing)
	fmt.Fprintf(&b, "This pull request %s. `modelgit monitor --env %s` evaluated every query at %s", what, rep.Env, rep.At.Format("2006-01-02T15:04:05Z07:00"))
	if rep.Source != "" {
		fmt.Fprintf(&b, " against %s", rep.Source)
	}
	b.WriteString(" (policies/" + rep.Env + ".yaml):\n\n")
	b.WriteString("| version | metric | compared with | live | reference | allowed | window | samples | result |\n|---|---|---|---:|---:|---:|---|---:|---|\n")
	for _, c := range h.Checks {
		ver := c.Version
		if c.Role != "" {
			ver += " (" + c.Role + ")"
		}
		samples := "–"
		if c.Samples != nil {
			samples = fmt.Sprintf("%d (min %d)", *c.Samples, c.MinSamples)
		}
		allowed := "–"
		if c.Bound != nil {
			allowed = monitorOp(c.Direction) + " " + monitorNum(*c.Bound)
		}
		result := map[string]string{MonitorCheckOK: "ok", MonitorCheckFail: "**FAIL**", MonitorCheckUnknown: "unknown"}[c.Status]
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", ver, c.Metric, c.Kind, monitorOptNum(c.Value), monitorOptNum(c.Reference), allowed, monitorOrDash(c.Window), samples, result)
	}
	b.WriteString("\n<details><summary>Queries</summary>\n\n")
	for _, c := range h.Checks {
		fmt.Fprintf(&b, "- %s %s: `%s`", c.Version, c.Metric, c.Query)
		if c.SamplesQuery != "" {
			fmt.Fprintf(&b, " (samples: `%s`)", c.SamplesQuery)
		}
		fmt.Fprintf(&b, " — %s\n", c.Reason)
	}
	b.WriteString("\n</details>\n")
	return b.String()
}

func monitorOptNum(v *float64) string {
	if v == nil {
		return "–"
	}
	return monitorNum(*v)
}

func monitorOrDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// MonitorSummary is one plain-text paragraph of the evidence, for the
// rollback's commit message (which outlives the pull request and is all
// there is with --no-push): when, against what, and every failing check
// with its live value, reference, bound, window and samples.
func MonitorSummary(rep *MonitorReport, h *ModelHealth) string {
	var b strings.Builder
	fmt.Fprintf(&b, "modelgit monitor found %s failing in %s at %s", h.Model, rep.Env, rep.At.Format(time.RFC3339))
	if rep.Source != "" {
		fmt.Fprintf(&b, " (%s)", rep.Source)
	}
	b.WriteString(", judged by policies/" + rep.Env + ".yaml:")
	others := map[string]int{}
	for _, c := range h.Checks {
		if c.Status != MonitorCheckFail {
			others[c.Status]++
			continue
		}
		fmt.Fprintf(&b, " %s %s live %s", c.Version, c.Metric, monitorOptNum(c.Value))
		if c.Reference != nil {
			fmt.Fprintf(&b, ", %s %s", c.Kind, monitorNum(*c.Reference))
		}
		if c.Bound != nil {
			fmt.Fprintf(&b, ", allowed %s %s", monitorOp(c.Direction), monitorNum(*c.Bound))
		}
		if c.Window != "" {
			fmt.Fprintf(&b, ", over %s", c.Window)
		}
		if c.Samples != nil {
			fmt.Fprintf(&b, " (%d samples)", *c.Samples)
		}
		b.WriteString(";")
	}
	fmt.Fprintf(&b, " %d other checks ok, %d unknown.", others[MonitorCheckOK], others[MonitorCheckUnknown])
	return b.String()
}

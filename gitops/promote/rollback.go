package promote

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/repo"
	"github.com/modelgit/modelgit/manifests"
)

// ErrNoPrevious is returned by Rollback when history has no earlier
// version of the model in the environment to return to.
var ErrNoPrevious = errors.New("no earlier version in history")

// PreviousVersion returns the version that served most traffic in env
// before the one serving now, from the history of the release file. A
// version that a later commit rolled back from (its Rollback trailer) is
// skipped: a second rollback does not return to the version the first one
// left. ErrNoPrevious when no version is left.
func (r *repository) PreviousVersion(env, model string) (manifests.Version, error) {
	cur, err := r.Release(env, model)
	if err != nil {
		return manifests.Version{}, err
	}
	now, ok := gitops.CurrentStable(cur)
	if !ok {
		return manifests.Version{}, r.notRunning(env, model)
	}
	head, err := r.Head()
	if err != nil {
		return manifests.Version{}, err
	}
	p := manifests.ReleaseFile(env, model)
	var prev *manifests.Version
	// Newest first along the branch, so a rollback is seen before the
	// promotions of the version it rolled back from (commit times, with
	// their one-second resolution, cannot tell).
	rolledBack := map[manifests.Version]bool{}
	var skipped []string
	errFound := errors.New("found")
	err = r.firstParentChanges(head, p, func(c *object.Commit, msgs []string) error {
		for _, m := range msgs {
			for _, v := range rolledBackFrom(m) {
				rolledBack[v] = true
			}
		}
		raw, err := r.Repo().ReadFile(c.Hash, p)
		if err != nil {
			return nil
		}
		rel, err := manifests.ParseRelease(p, raw)
		if err != nil {
			return nil
		}
		v, ok := gitops.CurrentStable(rel)
		switch {
		case !ok || v.Version == now.Version:
		case rolledBack[v.Version]:
			if s := v.Version.String(); !slices.Contains(skipped, s) {
				skipped = append(skipped, s)
			}
		default:
			prev = &v.Version
			return errFound
		}
		return nil
	})
	if err != nil && !errors.Is(err, errFound) {
		return manifests.Version{}, err
	}
	if prev != nil {
		return *prev, nil
	}
	why := fmt.Sprintf("%s is the only version that served there", now.Version)
	if len(skipped) > 0 {
		why = fmt.Sprintf("the versions that served there before %s (%s) were rolled back from already", now.Version, strings.Join(skipped, ", "))
	}
	return manifests.Version{}, fmt.Errorf("rolling back %s in %q: %w: %s; name a version with --to (modelgit history %s lists each version and where it ran), or promote a fixed version", model, env, ErrNoPrevious, why, model)
}

// firstParentChanges calls fn, newest first, for each commit on the
// first-parent history of head (the branch as Flux saw it move) that
// changes the file p, with the messages that brought the change: the
// commit's own and, for a merge, those of the commits it merges (a pull
// request's head, which carries the promotion's trailers).
func (r *repository) firstParentChanges(head plumbing.Hash, p string, fn func(c *object.Commit, msgs []string) error) error {
	if head.IsZero() {
		return nil
	}
	blob := func(c *object.Commit) (plumbing.Hash, error) {
		t, err := c.Tree()
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("reading the tree of commit %s: %w", c.Hash, err)
		}
		e, err := t.FindEntry(p)
		if err != nil {
			return plumbing.ZeroHash, nil // absent here
		}
		return e.Hash, nil
	}
	c, err := r.Repo().CommitObject(head)
	if err != nil {
		return fmt.Errorf("reading commit %s: %w", head, err)
	}
	mine, err := blob(c)
	if err != nil {
		return err
	}
	for c != nil {
		var parent *object.Commit
		var theirs plumbing.Hash
		if c.NumParents() > 0 {
			if parent, err = r.Repo().CommitObject(c.ParentHashes[0]); err != nil {
				return fmt.Errorf("reading parent %s of commit %s: %w", c.ParentHashes[0], c.Hash, err)
			}
			if theirs, err = blob(parent); err != nil {
				return err
			}
		}
		if mine != theirs {
			msgs := []string{c.Message}
			for _, h := range c.ParentHashes[1:] {
				if pc, err := r.Repo().CommitObject(h); err == nil {
					msgs = append(msgs, pc.Message)
				}
			}
			if err := fn(c, msgs); err != nil {
				return err
			}
		}
		c, mine = parent, theirs
	}
	return nil
}

// rolledBackFrom reads the versions a commit's Rollback trailer ("from
// 1.2.0, 1.3.0+data.2") names; none for other commits. The version the
// commit returns to (Model-Version) is never one of them: rollbacks made
// before canaries were handled named the stable version there.
func rolledBackFrom(msg string) []manifests.Version {
	var from []string
	target := ""
	for _, t := range repo.ParseTrailers(msg) {
		switch {
		case strings.EqualFold(t.Key, "Rollback"):
			from = append(from, strings.Split(strings.TrimPrefix(t.Value, "from "), ",")...)
		case strings.EqualFold(t.Key, "Model-Version"):
			target = t.Value
		}
	}
	var out []manifests.Version
	for _, s := range from {
		if v, err := manifests.ParseVersion(strings.TrimSpace(s)); err == nil && v.String() != target {
			out = append(out, v)
		}
	}
	return out
}

// notRunning explains why model has nothing to roll back in env: it is
// not registered, or does not run there.
func (r *repository) notRunning(env, model string) error {
	versions, err := r.Versions(model)
	if err != nil {
		return err
	}
	if len(versions) == 0 {
		known, _ := r.Models()
		return fmt.Errorf("rolling back %q in %q: %w %q (registered: %s; modelgit status shows which version of each runs where)", model, env, gitops.ErrUnknownModel, model, gitops.ListOrNone(known))
	}
	return fmt.Errorf("rolling back %s: %s does not run in %q, so there is nothing to roll back (modelgit status shows where it runs)", model, model, env)
}

// RollbackOptions describe a rollback.
type RollbackOptions struct {
	Model, Env string
	// To is the version to return to; empty means the one rollbackTarget
	// picks.
	To string
	PromoteOptions
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
func (r *repository) Rollback(ctx context.Context, opts RollbackOptions) (*PromoteResult, error) {
	if err := manifests.ValidName(opts.Model); err != nil {
		return nil, fmt.Errorf("rolling back: model %w", err)
	}
	if err := r.CheckEnv(opts.Env); err != nil {
		return nil, fmt.Errorf("rolling back %s: %w", opts.Model, err)
	}
	if err := r.refuseLocalStore(opts.Env); err != nil {
		return nil, fmt.Errorf("rolling back %s in %q: %w", opts.Model, opts.Env, err)
	}
	cur, err := r.Release(opts.Env, opts.Model)
	if err != nil {
		return nil, err
	}
	if cur == nil || len(cur.Versions) == 0 {
		return nil, r.notRunning(opts.Env, opts.Model)
	}
	to := opts.To
	if to == "" {
		v, err := r.rollbackTarget(ctx, opts.Env, opts.Model, cur)
		if err != nil {
			return nil, err
		}
		to = v.String()
	}
	p := opts.PromoteOptions
	p.Ref, p.Env, p.Rollback = opts.Model+"@"+to, opts.Env, true
	p.Change = gitops.ReleaseChange{Strategy: manifests.StrategyReplace}
	return r.Promote(ctx, p)
}

// rollbackTarget is the version a rollback without --to returns to, given
// the current release cur (see Rollback).
func (r *repository) rollbackTarget(ctx context.Context, env, model string, cur *manifests.Release) (manifests.Version, error) {
	if len(cur.Versions) > 1 {
		if len(gitops.Serving(cur)) > 1 {
			return cur.Versions[0].Version, nil
		}
		if cur.Strategy == manifests.StrategyBlueGreen {
			// A standby that served before is the active of before the
			// switch: history finds it. One that never served is the
			// change being rolled back.
			head, err := r.Head()
			if err != nil {
				return manifests.Version{}, err
			}
			ran, err := r.RanAt(ctx, head, env, model, cur.Versions[1].Version)
			if err != nil {
				return manifests.Version{}, err
			}
			if ran == nil {
				return cur.Versions[0].Version, nil
			}
		}
	}
	return r.PreviousVersion(env, model)
}

// rolledBackVersions are the versions of prev a rollback to v takes out of
// the environment, in the release's order.
func rolledBackVersions(prev *manifests.Release, v manifests.Version) []manifests.Version {
	if prev == nil {
		return nil
	}
	var out []manifests.Version
	for _, rv := range prev.Versions {
		if rv.Version != v {
			out = append(out, rv.Version)
		}
	}
	return out
}

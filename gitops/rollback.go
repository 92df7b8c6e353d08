package gitops

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/modelgit/modelgit/manifests"
)

// ErrNoPrevious is returned by Rollback when history has no earlier
// version of the model in the environment.
var ErrNoPrevious = errors.New("no earlier version in history")

// PreviousVersion returns the version that served most traffic in env
// before the one serving now, from the history of the release file.
func (r *Registry) PreviousVersion(env, model string) (manifests.Version, error) {
	cur, err := r.Release(env, model)
	if err != nil {
		return manifests.Version{}, err
	}
	now, ok := currentStable(cur)
	if !ok {
		return manifests.Version{}, fmt.Errorf("%s does not run in %q", model, env)
	}
	head, err := r.head()
	if err != nil {
		return manifests.Version{}, err
	}
	p := ReleaseFile(env, model)
	var prev *manifests.Version
	errFound := errors.New("found")
	err = r.repo.Log(head, []string{p}, func(c *object.Commit) error {
		raw, err := r.repo.ReadFile(c.Hash, p)
		if err != nil {
			return nil
		}
		rel, err := manifests.ParseRelease(p, raw)
		if err != nil {
			return nil
		}
		if v, ok := currentStable(rel); ok && v.Version != now.Version {
			prev = &v.Version
			return errFound
		}
		return nil
	})
	if err != nil && !errors.Is(err, errFound) {
		return manifests.Version{}, err
	}
	if prev == nil {
		return manifests.Version{}, fmt.Errorf("rolling back %s in %q: %w: %s is the only version that ran there; name one with --to", model, env, ErrNoPrevious, now.Version)
	}
	return *prev, nil
}

// RollbackOptions describe a rollback.
type RollbackOptions struct {
	Model, Env string
	// To is the version to return to; empty means the previous one.
	To string
	PromoteOptions
}

// Rollback is a promotion back to the previous version found in history
// (or To): a replace release, without the order check, whose commit and
// pull request say it is a rollback.
func (r *Registry) Rollback(ctx context.Context, opts RollbackOptions) (*PromoteResult, error) {
	to := opts.To
	if to == "" {
		v, err := r.PreviousVersion(opts.Env, opts.Model)
		if err != nil {
			return nil, err
		}
		to = v.String()
	}
	p := opts.PromoteOptions
	p.Ref, p.Env, p.Rollback = opts.Model+"@"+to, opts.Env, true
	p.Change = ReleaseChange{Strategy: manifests.StrategyReplace}
	return r.Promote(ctx, p)
}

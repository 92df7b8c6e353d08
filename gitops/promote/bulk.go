package promote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/manifests"
)

// BulkOptions promote every model whose labels match Selector, each at
// the version serving in VersionFrom, to Env, in one pull request.
type BulkOptions struct {
	// Selector is label=value pairs, all of which must match.
	Selector    map[string]string
	VersionFrom string
	PromoteOptions
}

// ParseSelector parses "team=risk,tier=1".
func ParseSelector(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("selector %q: want LABEL=VALUE[,LABEL=VALUE…]", s)
		}
		out[k] = v
	}
	return out, nil
}

// BulkResult says what BulkPromote did. Its PromoteResult is the
// promotion of the models whose release changes; it is Unchanged, with no
// Promotions, when every selected model already runs its version.
type BulkResult struct {
	*PromoteResult
	// AlreadyRunning lists, sorted by model, the selected models whose
	// release in Env would not change: left out of the commit (no
	// trailers) and of the pull request's body.
	AlreadyRunning []AlreadyRunning
}

// AlreadyRunning is a model a bulk promotion leaves out: its environment
// already runs Version, released as it would be.
type AlreadyRunning struct {
	Model   string
	Version manifests.Version
}

// BulkPromote promotes many models in one commit and pull request. Every
// model is planned first; if any cannot be promoted, nothing is changed
// and every reason is returned. A model whose release would not change
// (Env already runs its version, released the same way) is not promoted
// but listed in AlreadyRunning; when that is every model, nothing is
// committed.
func (r *repository) BulkPromote(ctx context.Context, opts BulkOptions) (*BulkResult, error) {
	if err := r.CheckEnv(opts.Env); err != nil {
		return nil, fmt.Errorf("promoting to %q: %w", opts.Env, err)
	}
	if err := r.refuseLocalStore(opts.Env); err != nil {
		return nil, fmt.Errorf("promoting to %q: %w", opts.Env, err)
	}
	if err := r.CheckEnv(opts.VersionFrom); err != nil {
		return nil, fmt.Errorf("--version-from: %w", err)
	}
	if err := opts.Change.Validate(); err != nil {
		return nil, fmt.Errorf("promoting to %q: %w", opts.Env, err)
	}
	models, err := r.selectModels(opts.Selector)
	if err != nil {
		return nil, err
	}
	if len(models) == 0 {
		return nil, fmt.Errorf("promoting to %q: no model has the labels %s", opts.Env, formatSelector(opts.Selector))
	}
	var plans []*Promotion
	var running []AlreadyRunning
	var problems []error
	for _, m := range models {
		rel, err := r.Release(opts.VersionFrom, m)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		v, ok := gitops.CurrentStable(rel)
		if !ok {
			problems = append(problems, fmt.Errorf("%s: does not run in %q, so there is no version of it to promote; promote it to %s first, or leave it out with a narrower --selector", m, opts.VersionFrom, opts.VersionFrom))
			continue
		}
		p, err := r.plan(ctx, m+"@"+v.Version.String(), opts.PromoteOptions)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s: %w", m, err))
			continue
		}
		same, err := sameRelease(p.Previous, p.Release)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s: %w", m, err))
			continue
		}
		if same {
			running = append(running, AlreadyRunning{Model: m, Version: v.Version})
			continue
		}
		plans = append(plans, p)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("promoting %d models to %q: nothing was changed, because %d cannot be promoted:\n%w", len(models), opts.Env, len(problems), errors.Join(problems...))
	}
	branch := fmt.Sprintf("modelgit/promote/%s/bulk-%s", opts.Env, selectorSlug(opts.Selector))
	if len(plans) == 0 {
		_, base, err := r.Repo().Head()
		if err != nil {
			return nil, err
		}
		return &BulkResult{PromoteResult: &PromoteResult{Env: opts.Env, Base: base, Branch: branch, Unchanged: true}, AlreadyRunning: running}, nil
	}
	res, err := r.apply(ctx, opts.PromoteOptions, branch, plans)
	if res == nil {
		return nil, err
	}
	return &BulkResult{PromoteResult: res, AlreadyRunning: running}, err
}

// sameRelease reports whether next releases exactly what cur does (cur
// nil: no release yet, never the same), as the release file would say it.
func sameRelease(cur, next *manifests.Release) (bool, error) {
	if cur == nil {
		return false, nil
	}
	a, err := manifests.Marshal(cur)
	if err != nil {
		return false, err
	}
	b, err := manifests.Marshal(next)
	if err != nil {
		return false, err
	}
	return bytes.Equal(a, b), nil
}

// selectModels returns the models at HEAD whose model.yaml labels match.
func (r *repository) selectModels(sel map[string]string) ([]string, error) {
	head, err := r.Head()
	if err != nil {
		return nil, err
	}
	in, err := r.RenderInput(head)
	if err != nil {
		return nil, err
	}
	var out []string
	for name, m := range in.Models {
		match := true
		for k, v := range sel {
			if m.Labels[k] != v {
				match = false
				break
			}
		}
		if match {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

func formatSelector(sel map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(sel)) {
		parts = append(parts, k+"="+sel[k])
	}
	return strings.Join(parts, ",")
}

// selectorSlug makes a branch-name part of a selector: team=risk → team-risk.
func selectorSlug(sel map[string]string) string {
	s := formatSelector(sel)
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.':
			b.WriteRune(c)
		case c >= 'A' && c <= 'Z':
			b.WriteRune(c + 'a' - 'A')
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}

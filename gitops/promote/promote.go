package promote

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/gitops/render"
	"github.com/modelgit/modelgit/gitops/repo"
	"github.com/modelgit/modelgit/manifests"
)

// ErrOrder is returned when a version has not yet run in the environment
// before the target one.
var ErrOrder = errors.New("promotion order")

// ErrLocalStore is returned (wrapped) when a promotion or rollback would
// render a storage URI no cluster can read: a store inside the clone and
// no environments[].clusterStore (#13).
var ErrLocalStore = errors.New("store local to this clone")

// localStoreError is ErrLocalStore with the problem and what to do.
type localStoreError struct{ problem string }

func (e *localStoreError) Error() string        { return e.problem }
func (e *localStoreError) Is(target error) bool { return target == ErrLocalStore }

// refuseLocalStore fails when the releases of env would render a storage
// URI inside this clone (render.LocalStoreProblem).
func (r *repository) refuseLocalStore(env string) error {
	if problem := render.LocalStoreProblem(r.Config(), env, r.Root()); problem != "" {
		return &localStoreError{problem}
	}
	return nil
}

// PromoteOptions describe one promotion.
type PromoteOptions struct {
	// Ref is "model@version".
	Ref    string
	Env    string
	Change gitops.ReleaseChange
	// Force skips the order check; it is recorded in the commit and the PR.
	Force bool
	// Rollback marks a return to an earlier version: one that ran in the
	// environment before skips the order check, and the commit and PR say
	// it is a rollback (see Rollback).
	Rollback bool
	Identity gitops.Identity
	// Forge opens the pull request; nil makes the branch and commit only.
	Forge forge.Forge
	// Remote is the git remote to push to ("" pushes nowhere); Auth its
	// credentials.
	Remote string
	Auth   transport.AuthMethod
	// Evidence is Markdown put at the top of the pull request's body: why
	// the change is proposed (modelgit monitor's measurements).
	Evidence string
	// Note is plain text added as a paragraph to the commit message's
	// body, before the trailers: the part of the evidence that must
	// outlive the pull request (and is all there is with --no-push).
	Note string
	// BeforePush, when set, runs just before each push of the promotion
	// branch with the attempt number (0 first): a caller that needs to
	// know when the remote is about to be written (a test racing the
	// push) hooks in here.
	BeforePush func(branch string, attempt int)
}

// Promotion is one model's change in a promotion: the version, the
// release it replaces and the one it writes.
type Promotion struct {
	Version  *gitops.VersionRef
	Previous *manifests.Release
	Release  *manifests.Release
	// Baseline is the version serving most traffic before, if any.
	Baseline *manifests.ModelVersion
	// Forced says why the order check was skipped; "" when it held.
	Forced string
	// RolledBack lists, for a rollback, the versions of Previous it takes
	// out of the environment (the canary of a canary, the running version
	// of a replace).
	RolledBack []manifests.Version
}

// PromoteResult says what Promote did.
type PromoteResult struct {
	// Promotions has one entry per model (one unless bulk), sorted by model.
	Promotions []*Promotion
	// Version, Previous and Release are those of the first promotion.
	Version  *gitops.VersionRef
	Env      string
	Previous *manifests.Release
	Release  *manifests.Release
	// Base is the branch the pull request targets, Branch the promotion
	// branch.
	Base, Branch string
	Commit       plumbing.Hash
	// Changed lists the files the commit changes, sorted.
	Changed []string
	// Unchanged is true when the environment already runs this release.
	Unchanged bool
	PR        *forge.PullRequest
	Created   bool
	Body      string
	// Warnings are what the serving runtime may not do with the rendered
	// objects (render.ModelcarProblem), also logged as warnings.
	Warnings []string
}

// PromoteBranch returns modelgit/promote/<env>/<model>-<version>, with
// "+" (not allowed in many tools' branch handling) written as "_".
func PromoteBranch(env, model string, v manifests.Version) string {
	return fmt.Sprintf("modelgit/promote/%s/%s-%s", env, model, strings.ReplaceAll(v.String(), "+", "_"))
}

// Promote writes the environment's release and its rendered objects on
// the branch modelgit/promote/<env>/<model>-<version> in one signed commit,
// pushes it and opens (or updates) the pull request. It is idempotent:
// run again, it converges on the same branch and pull request.
func (r *repository) Promote(ctx context.Context, opts PromoteOptions) (*PromoteResult, error) {
	if err := r.CheckEnv(opts.Env); err != nil {
		return nil, fmt.Errorf("promoting %s: %w", opts.Ref, err)
	}
	if err := r.refuseLocalStore(opts.Env); err != nil {
		if opts.Rollback {
			return nil, fmt.Errorf("rolling back %s in %q: %w", opts.Ref, opts.Env, err)
		}
		return nil, fmt.Errorf("promoting %s to %q: %w", opts.Ref, opts.Env, err)
	}
	if err := opts.Change.Validate(); err != nil {
		return nil, fmt.Errorf("promoting %s to %q: %w", opts.Ref, opts.Env, err)
	}
	p, err := r.plan(ctx, opts.Ref, opts)
	if err != nil {
		return nil, err
	}
	branch := PromoteBranch(opts.Env, p.Version.Manifest.Model, p.Version.Manifest.Version)
	if opts.Rollback {
		branch = strings.Replace(branch, "modelgit/promote/", "modelgit/rollback/", 1)
	}
	return r.apply(ctx, opts, branch, []*Promotion{p})
}

// plan checks the promotion order and computes the new release of one
// model, changing nothing.
func (r *repository) plan(ctx context.Context, ref string, opts PromoteOptions) (*Promotion, error) {
	v, err := r.Resolve(ref)
	if err != nil {
		return nil, err
	}
	model := v.Manifest.Model
	p := &Promotion{Version: v}
	envIdx := slices.IndexFunc(r.Config().Environments, func(e manifests.Environment) bool { return e.Name == opts.Env })
	// A rollback returns to a version that ran in the environment before:
	// it passed the order then. Any other version is held to the order.
	inOrder := envIdx <= 0 || opts.Change.Switch
	head, err := r.Head()
	if err != nil {
		return nil, err
	}
	if !inOrder && opts.Rollback {
		ran, err := r.RanAt(ctx, head, opts.Env, model, v.Manifest.Version)
		if err != nil {
			return nil, err
		}
		inOrder = ran != nil
	}
	if !inOrder {
		prev := r.Config().Environments[envIdx-1].Name
		ran, err := r.RanAt(ctx, head, prev, model, v.Manifest.Version)
		if err != nil {
			return nil, err
		}
		switch {
		case ran != nil:
		case opts.Force && opts.Rollback:
			p.Forced = fmt.Sprintf("rollback to %s, which never ran in %s and has not run in %s", v.Manifest.Version, opts.Env, prev)
		case opts.Force:
			p.Forced = fmt.Sprintf("%s has not run in %s", v.Manifest.Version, prev)
		case opts.Rollback:
			return nil, fmt.Errorf("rolling back %s in %q to %s: %w: it never ran in %q and has not run in %q yet; roll back to a version that ran in %q (modelgit history %s shows where each ran), or pass --force, which is recorded in the commit and the pull request", model, opts.Env, v.Manifest.Version, ErrOrder, opts.Env, prev, opts.Env, model)
		default:
			return nil, fmt.Errorf("promoting %s to %q: %w: it has not run in %q yet; promote it there first (modelgit promote %s --to %s), or pass --force, which is recorded in the commit and the pull request", v.Name(), opts.Env, ErrOrder, prev, v.Name(), prev)
		}
	}
	if p.Previous, err = r.Release(opts.Env, model); err != nil {
		return nil, err
	}
	if p.Release, err = gitops.NextRelease(p.Previous, model, opts.Env, v.Manifest.Version, v.Digest, opts.Change); err != nil {
		return nil, fmt.Errorf("promoting %s to %q: %w", v.Name(), opts.Env, err)
	}
	uri, err := r.PinnedStorageURI(ctx, v)
	if err != nil {
		return nil, fmt.Errorf("promoting %s to %q: %w", v.Name(), opts.Env, err)
	}
	for i := range p.Release.Versions {
		if p.Release.Versions[i].Version == v.Manifest.Version && uri != "" {
			p.Release.Versions[i].StorageURI = uri
		}
	}
	if p.Baseline, err = r.stableVersion(p.Previous); err != nil {
		return nil, err
	}
	if opts.Rollback {
		// Compared with, and said to be replaced: the version rolled back
		// from, not the one returned to (the stable of a canary).
		p.RolledBack = rolledBackVersions(p.Previous, v.Manifest.Version)
		if len(p.RolledBack) > 0 {
			head, err := r.Head()
			if err != nil {
				return nil, err
			}
			ref, err := r.PinnedVersion(head, manifests.ReleaseFile(opts.Env, model), model, p.RolledBack[0])
			if err != nil {
				return nil, err
			}
			p.Baseline = ref.Manifest
		}
	}
	return p, nil
}

// apply renders, commits, pushes and opens the pull request for planned
// promotions to one environment, all in one commit.
// warnModelcars warns, on the log and in res, of each changed rendered
// object whose oci:// storage URI KServe would run as a modelcar image,
// which modelgit's OCI artifact is not (render.ModelcarProblem).
func (r *repository) warnModelcars(res *PromoteResult, changed []repo.File) {
	for _, f := range changed {
		if strings.HasPrefix(f.Path, manifests.RenderedDir+"/") {
			if problem := render.ModelcarProblem(f.Content); problem != "" {
				r.Log().Warningf("%s: %s", f.Path, problem)
				res.Warnings = append(res.Warnings, f.Path+": "+problem)
			}
		}
	}
}

func (r *repository) apply(ctx context.Context, opts PromoteOptions, branch string, ps []*Promotion) (*PromoteResult, error) {
	slices.SortFunc(ps, func(a, b *Promotion) int { return strings.Compare(a.Version.Manifest.Model, b.Version.Manifest.Model) })
	res := &PromoteResult{Promotions: ps, Env: opts.Env, Branch: branch}
	res.Version, res.Previous, res.Release = ps[0].Version, ps[0].Previous, ps[0].Release
	head, base, err := r.Repo().Head()
	if err != nil {
		return nil, err
	}
	if base == "" {
		return nil, fmt.Errorf("promoting to %q: HEAD is detached; check out the branch Flux follows", opts.Env)
	}
	res.Base = base
	if err := r.checkClean(opts.Env); err != nil {
		return nil, err
	}
	var releases []*manifests.Release
	for _, p := range ps {
		releases = append(releases, p.Release)
	}
	files, in, err := r.promotionFiles(head, opts.Env, releases)
	if err != nil {
		return nil, fmt.Errorf("promoting to %q: %w", opts.Env, err)
	}
	changed, diffs, err := r.changedFiles(head, files)
	if err != nil {
		return nil, err
	}
	if len(changed) == 0 {
		res.Unchanged = true
		return res, nil
	}
	if !changesARelease(changed, opts.Env) {
		// The releases are as they are: what differs is rendering the
		// base left stale. That is not this promotion's to carry.
		var stale []string
		for _, f := range changed {
			stale = append(stale, f.Path)
		}
		r.Log().Warningf("%s already runs this release, but %s on %s differ from what the releases render to: run modelgit render and commit the result", opts.Env, strings.Join(stale, ", "), base)
		res.Unchanged = true
		return res, nil
	}
	if err := validateRendered(r.Config(), opts.Env, files, changed); err != nil {
		return nil, fmt.Errorf("promoting to %q: %w", opts.Env, err)
	}
	r.warnModelcars(res, changed)
	for _, f := range changed {
		res.Changed = append(res.Changed, f.Path)
	}
	ap, err := r.PolicyAt(head, opts.Env)
	if err != nil {
		return nil, err
	}
	res.Body = promotionBody(bodyInput{
		res: res, diffs: diffs, ap: ap, models: in.Models,
		clusters: envClusters(r.Config(), opts.Env), evidence: opts.Evidence,
	})
	msg := r.promotionMessage(res, opts)
	if err := r.commitAndPush(ctx, res, opts, head, changed, msg); err != nil {
		return res, err
	}
	if opts.Forge != nil {
		pr, created, err := forge.EnsurePullRequest(ctx, opts.Forge, forge.PullRequestSpec{
			Title:  gitops.FirstLine(msg),
			Body:   res.Body,
			Head:   res.Branch,
			Base:   base,
			Labels: []string{"modelgit", "promotion", "env/" + opts.Env},
		})
		if err != nil {
			return res, fmt.Errorf("opening the pull request for %s (the branch is pushed; run the same command again to retry): %w", res.Branch, err)
		}
		res.PR, res.Created = pr, created
	}
	return res, nil
}

// promotionDirs are the directories a promotion reads from HEAD and
// writes: uncommitted changes there would be silently left out of (or
// clash with) the promotion.
var promotionDirs = []string{manifests.ModelsDir, manifests.EnvironmentsDir, manifests.RenderedDir, manifests.ClustersDir}

// checkClean refuses to promote while files a promotion reads or writes
// have uncommitted changes (untracked files included): the promotion is
// built from HEAD, so such changes would be missing from the pull request
// without anyone noticing.
func (r *repository) checkClean(env string) error {
	dirty, err := r.Repo().Dirty(promotionDirs)
	if err != nil {
		return err
	}
	if len(dirty) == 0 {
		return nil
	}
	const max = 10
	list := dirty
	more := ""
	if len(list) > max {
		list, more = list[:max], fmt.Sprintf("\n  … and %d more", len(dirty)-max)
	}
	// modelgit render renders committed releases only: a release or
	// version edit is committed first, and rendered after.
	commit := "commit them (git commit), then run modelgit render and commit its output,"
	if !slices.ContainsFunc(dirty, func(p string) bool {
		return !strings.HasPrefix(p, manifests.RenderedDir+"/") && !strings.HasPrefix(p, manifests.ClustersDir+"/")
	}) {
		commit = "commit them (modelgit render, then git commit)"
	}
	return fmt.Errorf("promoting to %q: the work tree has uncommitted changes under %s/:\n  %s%s\n%s or stash them (git stash -u), then run the same command again", env, strings.Join(promotionDirs, "/, "), strings.Join(list, "\n  "), more, commit)
}

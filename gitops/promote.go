package gitops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sergi/go-diff/diffmatchpatch"

	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/gitops/render"
	"github.com/modelgit/modelgit/gitops/repo"
	"github.com/modelgit/modelgit/manifests"
	"github.com/modelgit/modelgit/policies"
)

// ErrOrder is returned when a version has not yet run in the environment
// before the target one.
var ErrOrder = errors.New("promotion order")

// PromoteOptions describe one promotion.
type PromoteOptions struct {
	// Ref is "model@version".
	Ref    string
	Env    string
	Change ReleaseChange
	// Force skips the order check; it is recorded in the commit and the PR.
	Force bool
	// Rollback marks a return to an earlier version: one that ran in the
	// environment before skips the order check, and the commit and PR say
	// it is a rollback (see Registry.Rollback).
	Rollback bool
	Identity Identity
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
}

// Promotion is one model's change in a promotion: the version, the
// release it replaces and the one it writes.
type Promotion struct {
	Version  *VersionRef
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
	Version  *VersionRef
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
func (r *Registry) Promote(ctx context.Context, opts PromoteOptions) (*PromoteResult, error) {
	if err := r.checkEnv(opts.Env); err != nil {
		return nil, fmt.Errorf("promoting %s: %w", opts.Ref, err)
	}
	if err := opts.Change.check(); err != nil {
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

func (r *Registry) checkEnv(env string) error {
	if slices.ContainsFunc(r.config.Environments, func(e manifests.Environment) bool { return e.Name == env }) {
		return nil
	}
	var names []string
	for _, e := range r.config.Environments {
		names = append(names, e.Name)
	}
	return fmt.Errorf("unknown environment %q (modelgit.yaml declares: %s)", env, strings.Join(names, ", "))
}

// plan checks the promotion order and computes the new release of one
// model, changing nothing.
func (r *Registry) plan(ctx context.Context, ref string, opts PromoteOptions) (*Promotion, error) {
	v, err := r.Resolve(ref)
	if err != nil {
		return nil, err
	}
	model := v.Manifest.Model
	p := &Promotion{Version: v}
	envIdx := slices.IndexFunc(r.config.Environments, func(e manifests.Environment) bool { return e.Name == opts.Env })
	// A rollback returns to a version that ran in the environment before:
	// it passed the order then. Any other version is held to the order.
	inOrder := envIdx <= 0 || opts.Change.Switch
	if !inOrder && opts.Rollback {
		ran, err := r.RanIn(opts.Env, model, v.Manifest.Version)
		if err != nil {
			return nil, err
		}
		inOrder = ran != nil
	}
	if !inOrder {
		prev := r.config.Environments[envIdx-1].Name
		ran, err := r.RanIn(prev, model, v.Manifest.Version)
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
	if p.Release, err = NextRelease(p.Previous, model, opts.Env, v.Manifest.Version, v.Digest, opts.Change); err != nil {
		return nil, fmt.Errorf("promoting %s to %q: %w", v.Name(), opts.Env, err)
	}
	uri, err := r.pinnedStorageURI(ctx, v)
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
			head, err := r.head()
			if err != nil {
				return nil, err
			}
			ref, err := r.pinnedVersion(head, ReleaseFile(opts.Env, model), model, p.RolledBack[0])
			if err != nil {
				return nil, err
			}
			p.Baseline = ref.Manifest
		}
	}
	return p, nil
}

// versionResolver is a store that keeps one manifest per version (an OCI
// registry) and can name it by digest.
type versionResolver interface {
	ResolveVersion(ctx context.Context, model string, v manifests.Version) (ocispec.Descriptor, error)
	Registry() string
	Repository() string
}

// apply renders, commits, pushes and opens the pull request for planned
// promotions to one environment, all in one commit.
func (r *Registry) apply(ctx context.Context, opts PromoteOptions, branch string, ps []*Promotion) (*PromoteResult, error) {
	slices.SortFunc(ps, func(a, b *Promotion) int { return strings.Compare(a.Version.Manifest.Model, b.Version.Manifest.Model) })
	res := &PromoteResult{Promotions: ps, Env: opts.Env, Branch: branch}
	res.Version, res.Previous, res.Release = ps[0].Version, ps[0].Previous, ps[0].Release
	head, base, err := r.repo.Head()
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
		r.log.Warningf("%s already runs this release, but %s on %s differ from what the releases render to: run modelgit render and commit the result", opts.Env, strings.Join(stale, ", "), base)
		res.Unchanged = true
		return res, nil
	}
	if err := validateRendered(r.config, opts.Env, files, changed); err != nil {
		return nil, fmt.Errorf("promoting to %q: %w", opts.Env, err)
	}
	for _, f := range changed {
		res.Changed = append(res.Changed, f.Path)
	}
	ap, err := r.policyAt(head, opts.Env)
	if err != nil {
		return nil, err
	}
	res.Body = promotionBody(bodyInput{
		res: res, diffs: diffs, ap: ap, models: in.Models,
		clusters: envClusters(r.config, opts.Env), evidence: opts.Evidence,
	})
	msg := r.promotionMessage(res, opts)
	if err := r.commitAndPush(ctx, res, opts, head, changed, msg); err != nil {
		return res, err
	}
	if opts.Forge != nil {
		pr, created, err := forge.EnsurePullRequest(ctx, opts.Forge, forge.PullRequestSpec{
			Title:  firstLine(msg),
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
var promotionDirs = []string{ModelsDir, EnvironmentsDir, RenderedDir, render.ClustersDir}

// checkClean refuses to promote while files a promotion reads or writes
// have uncommitted changes (untracked files included): the promotion is
// built from HEAD, so such changes would be missing from the pull request
// without anyone noticing.
func (r *Registry) checkClean(env string) error {
	dirty, err := r.repo.Dirty(promotionDirs)
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
		return !strings.HasPrefix(p, RenderedDir+"/") && !strings.HasPrefix(p, render.ClustersDir+"/")
	}) {
		commit = "commit them (modelgit render, then git commit)"
	}
	return fmt.Errorf("promoting to %q: the work tree has uncommitted changes under %s/:\n  %s%s\n%s or stash them (git stash -u), then run the same command again", env, strings.Join(promotionDirs, "/, "), strings.Join(list, "\n  "), more, commit)
}

// promotionFiles is the new release files plus everything rendered for
// their environment and its clusters, and the input they were rendered
// from.
func (r *Registry) promotionFiles(head plumbing.Hash, env string, rels []*manifests.Release) ([]repo.File, render.Input, error) {
	in, err := r.renderInput(head, rels...)
	if err != nil {
		return nil, in, err
	}
	rendered, err := r.renderFiles(in, env)
	if err != nil {
		return nil, in, err
	}
	var files []repo.File
	for _, rel := range rels {
		raw, err := manifests.Marshal(rel)
		if err != nil {
			return nil, in, err
		}
		files = append(files, repo.File{Path: ReleaseFile(rel.Environment, rel.Model), Content: raw})
	}
	for _, f := range rendered {
		files = append(files, repo.File{Path: f.Path, Content: f.Content})
	}
	return files, in, nil
}

// changesARelease reports whether changed holds a release file of env.
func changesARelease(changed []repo.File, env string) bool {
	for _, f := range changed {
		if path.Dir(f.Path) == EnvironmentsDir+"/"+env {
			return true
		}
	}
	return false
}

// envClusters are the clusters of modelgit.yaml that run env.
func envClusters(cfg *manifests.Config, env string) []manifests.Cluster {
	var out []manifests.Cluster
	for _, c := range cfg.Clusters {
		if c.Environment == env {
			out = append(out, c)
		}
	}
	return out
}

// validateRendered checks the objects a promotion changes as each cluster
// of env receives them: the cluster is built (render.BuildCluster, GPU
// patches applied) over the changed rendered files of env alone
// (render.EnvironmentSubset) and validated against the objects' schemas
// (render.Validate), so an object a cluster would refuse is an error,
// naming the object and field, before anything is committed. The files
// that do not change were validated when they were committed; leaving
// them out keeps the cost in proportion to the promotion, not to the
// environment. Without a cluster, the changed files are validated as
// they are.
func validateRendered(cfg *manifests.Config, env string, files, changed []repo.File) error {
	var models []string
	var objs []repo.File
	flux := false
	for _, f := range changed {
		dir, name := path.Split(f.Path)
		switch {
		case dir == RenderedDir+"/"+env+"/" && name != "kustomization.yaml":
			models = append(models, strings.TrimSuffix(name, ".yaml"))
			objs = append(objs, f)
		case strings.HasPrefix(f.Path, render.ClustersDir+"/") && name == "gotk-sync.yaml":
			flux = true
		}
	}
	if len(models) == 0 && !flux {
		return nil
	}
	clusters := envClusters(cfg, env)
	if len(clusters) == 0 {
		for _, f := range objs {
			if err := render.Validate(f.Content); err != nil {
				model := strings.TrimSuffix(path.Base(f.Path), ".yaml")
				return fmt.Errorf("%s: %w; fix what it is rendered from: %s (or %s)", f.Path, err, ReleaseFile(env, model), ModelFile(model))
			}
		}
		return nil
	}
	all := make([]render.File, 0, len(files))
	for _, f := range files {
		all = append(all, render.File{Path: f.Path, Content: f.Content})
	}
	subset, err := render.EnvironmentSubset(all, env, models)
	if err != nil {
		return err
	}
	fsys := render.MapFS(subset)
	for _, c := range clusters {
		built, err := render.BuildCluster(fsys, c.Name)
		if err != nil {
			return err
		}
		if err := render.Validate(built); err != nil {
			return fmt.Errorf("the objects of cluster %q (modelgit render --cluster %s): %w; %s", c.Name, c.Name, err, blameInvalid(env, c.Name, objs))
		}
	}
	return nil
}

// blameInvalid says where to fix objects of a cluster that do not
// validate: the releases whose rendered files do not validate on their
// own, else the cluster's GPU defaults, which the cluster patches in.
func blameInvalid(env, cluster string, objs []repo.File) string {
	var sources []string
	for _, f := range objs {
		if render.Validate(f.Content) != nil {
			model := strings.TrimSuffix(path.Base(f.Path), ".yaml")
			sources = append(sources, ReleaseFile(env, model)+" (or "+ModelFile(model)+")")
		}
	}
	if len(sources) == 0 {
		return fmt.Sprintf("fix the gpu block of cluster %q in modelgit.yaml, whose defaults every object there gets", cluster)
	}
	return "fix what they are rendered from: " + strings.Join(sources, ", ")
}

// fileDiff is one changed file's old and new content.
type fileDiff struct {
	Path     string
	Old, New []byte
}

// changedFiles keeps the files whose content differs from rev.
func (r *Registry) changedFiles(rev plumbing.Hash, files []repo.File) ([]repo.File, []fileDiff, error) {
	var changed []repo.File
	var diffs []fileDiff
	for _, f := range files {
		old, err := r.repo.ReadFile(rev, f.Path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, err
		}
		if bytes.Equal(old, f.Content) {
			continue
		}
		changed = append(changed, f)
		diffs = append(diffs, fileDiff{Path: f.Path, Old: old, New: f.Content})
	}
	slices.SortFunc(changed, func(a, b repo.File) int { return strings.Compare(a.Path, b.Path) })
	slices.SortFunc(diffs, func(a, b fileDiff) int { return strings.Compare(a.Path, b.Path) })
	return changed, diffs, nil
}

// stableVersion reads the manifest of the version that serves most
// traffic in rel: the baseline a promotion is compared with.
func (r *Registry) stableVersion(rel *manifests.Release) (*manifests.ModelVersion, error) {
	v, ok := currentStable(rel)
	if !ok {
		return nil, nil
	}
	head, err := r.head()
	if err != nil {
		return nil, err
	}
	ref, err := r.pinnedVersion(head, ReleaseFile(rel.Environment, rel.Model), rel.Model, v.Version)
	if err != nil {
		return nil, err
	}
	return ref.Manifest, nil
}

func (r *Registry) promotionMessage(res *PromoteResult, opts PromoteOptions) string {
	var subject, body string
	var trailers []repo.Trailer
	for _, p := range res.Promotions {
		mv := p.Version.Manifest
		prev := "none"
		if v, ok := currentStable(p.Previous); ok {
			prev = v.Version.String()
		}
		switch {
		case len(res.Promotions) > 1:
			subject = fmt.Sprintf("Promote %d models to %s", len(res.Promotions), res.Env)
			body += fmt.Sprintf("- %s %s → %s%s\n", mv.Model, prev, mv.Version, describeRelease(p.Release, mv.Version))
		case opts.Rollback:
			subject = fmt.Sprintf("Roll back %s in %s to %s", mv.Model, res.Env, mv.Version)
		default:
			subject = fmt.Sprintf("Promote %s %s to %s%s", mv.Model, mv.Version, res.Env, describeRelease(p.Release, mv.Version))
		}
		if p.Forced != "" {
			body += "Forced past the promotion order: " + p.Forced + ".\n"
		}
		trailers = append(trailers,
			repo.Trailer{Key: "Model", Value: mv.Model},
			repo.Trailer{Key: "Model-Version", Value: mv.Version.String()},
			repo.Trailer{Key: "Model-Digest", Value: p.Version.Digest.String()},
			repo.Trailer{Key: "Previous-Version", Value: prev},
			repo.Trailer{Key: "Strategy", Value: strategyTrailer(p.Release, mv.Version)},
		)
		if p.Forced != "" {
			trailers = append(trailers, repo.Trailer{Key: "Forced", Value: p.Forced})
		}
		if opts.Rollback {
			from := prev
			if len(p.RolledBack) > 0 {
				from = joinVersions(p.RolledBack)
				body += fmt.Sprintf("Takes %s out of %s.\n", describeVersions(p.Previous, p.RolledBack), res.Env)
			}
			trailers = append(trailers, repo.Trailer{Key: "Rollback", Value: "from " + from})
		}
	}
	if opts.Note != "" {
		if body != "" {
			body += "\n"
		}
		body += strings.TrimSpace(opts.Note) + "\n"
	}
	trailers = append(trailers,
		repo.Trailer{Key: "Environment", Value: res.Env},
		repo.Trailer{Key: "Requested-by", Value: formatIdentity(opts.Identity.Signature)})
	return repo.FormatMessage(subject, body, trailers)
}

// joinVersions is "1.2.0, 1.3.0".
func joinVersions(vs []manifests.Version) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = v.String()
	}
	return strings.Join(s, ", ")
}

// describeVersions is joinVersions with how rel routes traffic to each:
// "1.3.0 (canary 10%)".
func describeVersions(rel *manifests.Release, vs []manifests.Version) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = v.String() + describeRelease(rel, v)
	}
	return strings.Join(s, ", ")
}

// describeRelease says how a release routes traffic to v: "" for a plain
// replace, " (canary 10%)" and so on.
func describeRelease(rel *manifests.Release, v manifests.Version) string {
	for _, rv := range rel.Versions {
		if rv.Version != v {
			continue
		}
		switch {
		case rel.Strategy == manifests.StrategyCanary && rv.Weight != nil:
			return fmt.Sprintf(" (canary %d%%)", *rv.Weight)
		case rel.Strategy == manifests.StrategyBlueGreen:
			return " (blue-green, " + rv.Role + ")"
		case rel.Strategy == manifests.StrategyAB:
			return " (A/B variant " + rv.Role + ", " + rel.Match + ")"
		}
	}
	return ""
}

// strategyTrailer is "replace", "canary weight=10", "blue-green role=standby"
// or "ab match=x-variant=b".
func strategyTrailer(rel *manifests.Release, v manifests.Version) string {
	for _, rv := range rel.Versions {
		if rv.Version != v {
			continue
		}
		switch rel.Strategy {
		case manifests.StrategyCanary:
			return fmt.Sprintf("canary weight=%d", *rv.Weight)
		case manifests.StrategyBlueGreen:
			return "blue-green role=" + rv.Role
		case manifests.StrategyAB:
			return "ab match=" + rel.Match
		}
	}
	return rel.Strategy
}

// beforePush, when set (by tests only), runs just before each push of a
// promotion branch, with the attempt number: a test moves the remote
// branch there to exercise the retry deterministically.
var beforePush func(branch string, attempt int)

// commitAndPush commits the changed files on the promotion branch and
// pushes it. The branch is built on the remote branch when one exists (an
// update of the same pull request) and on the base tip otherwise; when the
// remote moved meanwhile, the change is re-applied on its new tip. Never a
// force push.
func (r *Registry) commitAndPush(ctx context.Context, res *PromoteResult, opts PromoteOptions, head plumbing.Hash, files []repo.File, msg string) error {
	sig := opts.Identity.Signature
	sig.When = r.now()
	for attempt := 0; ; attempt++ {
		parent := head
		var merge, tip plumbing.Hash
		if opts.Remote != "" {
			var err error
			tip, err = r.repo.Fetch(ctx, opts.Remote, res.Branch, opts.Auth)
			if err != nil {
				return err
			}
			// An open pull request's branch is updated in place; a branch
			// whose commits are already merged starts again from the base.
			merged, err := r.isAncestor(tip, head)
			if err != nil {
				return err
			}
			if !tip.IsZero() && !merged {
				parent = tip
				// The base moved on since the branch was made: merge it
				// into the branch, so the pull request merges cleanly and
				// what it renders (which depends on every release) is
				// computed from the new base.
				upToDate, err := r.isAncestor(head, tip)
				if err != nil {
					return err
				}
				if !upToDate {
					// The merge's tree is the base's with the promotion's
					// files: a commit someone else pushed onto the branch
					// would silently drop out of it. Refuse instead.
					if err := r.refuseForeignCommits(res.Branch, head, tip); err != nil {
						return err
					}
					merge = head
				}
			}
		}
		// With no remote branch to update in place, a local branch that
		// already holds this very change on this base is kept: re-running
		// with other words in the message (monitor's evidence) must not
		// make a new head, which would dismiss the approvals of the pull
		// request it is pushed to.
		var h plumbing.Hash
		if parent == head {
			local, err := r.branchTip(ctx, res.Branch)
			if err != nil {
				return err
			}
			held, err := r.holdsChange(head, local, files)
			if err != nil {
				return err
			}
			if held {
				h = local
			}
		}
		var err error
		if h.IsZero() {
			if err := r.repo.ResetBranch(res.Branch, parent, sig); err != nil {
				return err
			}
			// On the remote branch, Commit makes no commit when the tip
			// already holds the files: the head stays, whatever msg says.
			h, err = r.repo.Commit(ctx, repo.CommitRequest{
				Files:          files,
				Message:        msg,
				Author:         sig,
				Committer:      sig,
				Signer:         opts.Identity.Signer,
				Branch:         res.Branch,
				ExpectedParent: parent,
				Merge:          merge,
			})
			if err != nil {
				return fmt.Errorf("committing on %s: %w", res.Branch, err)
			}
		}
		res.Commit = h
		if opts.Remote == "" {
			return nil
		}
		if beforePush != nil {
			beforePush(res.Branch, attempt)
		}
		err = r.repo.Push(ctx, opts.Remote, res.Branch, opts.Auth)
		if err != nil && !errors.Is(err, repo.ErrNonFastForward) {
			// A push racing another on the same branch can fail otherwise
			// (the server could not lock the ref, or its report is cut
			// short): if the branch moved meanwhile, it is the same
			// conflict; if it holds our commit, the push landed.
			if now, ferr := r.repo.Fetch(ctx, opts.Remote, res.Branch, opts.Auth); ferr == nil {
				switch now {
				case h:
					return nil
				case tip:
				default:
					err = fmt.Errorf("%w: %w", repo.ErrNonFastForward, err)
				}
			}
		}
		if errors.Is(err, repo.ErrNonFastForward) && attempt < 5 {
			r.log.Warningf("%s moved on the remote; re-applying the promotion on its new tip", res.Branch)
			continue
		}
		if err != nil {
			return fmt.Errorf("%w (the commit %s stays on the local branch %s; run the same command again to retry)", err, h.String()[:12], res.Branch)
		}
		return nil
	}
}

// holdsChange reports whether tip already holds the change a promotion
// would commit on head: head is an ancestor of tip (the base is still
// current) and the trees of head and tip differ in exactly files, each
// with its content. Such a tip is the same change, whatever its commit
// message says.
func (r *Registry) holdsChange(head, tip plumbing.Hash, files []repo.File) (bool, error) {
	if tip.IsZero() || tip == head || len(files) == 0 {
		return false, nil
	}
	if ok, err := r.isAncestor(head, tip); err != nil || !ok {
		return false, err
	}
	trees := make([]*object.Tree, 2)
	for i, h := range []plumbing.Hash{head, tip} {
		c, err := r.repo.Git.CommitObject(h)
		if err != nil {
			return false, err
		}
		if trees[i], err = c.Tree(); err != nil {
			return false, fmt.Errorf("reading the tree of %s: %w", h, err)
		}
	}
	changes, err := object.DiffTree(trees[0], trees[1])
	if err != nil {
		return false, fmt.Errorf("comparing %s with %s: %w", head.String()[:12], tip.String()[:12], err)
	}
	want := make(map[string][]byte, len(files))
	for _, f := range files {
		if f.Delete || (f.Mode != 0 && f.Mode != filemode.Regular) {
			return false, nil
		}
		want[f.Path] = f.Content
	}
	if len(changes) != len(want) {
		return false, nil
	}
	for _, c := range changes {
		content, ok := want[c.To.Name]
		if !ok || c.To.Name == "" || c.To.TreeEntry.Mode != filemode.Regular {
			return false, nil
		}
		got, err := r.repo.ReadFile(tip, c.To.Name)
		if err != nil {
			return false, err
		}
		if !bytes.Equal(got, content) {
			return false, nil
		}
	}
	return true, nil
}

// refuseForeignCommits fails when the promotion branch's commits since
// base include one modelgit did not make (no Model: and Environment:
// trailers): re-applying the promotion on the new base would drop its
// changes. Merge commits are let through: what they bring is in their
// parents, which are checked.
func (r *Registry) refuseForeignCommits(branch string, base, tip plumbing.Hash) error {
	commits, err := r.rangeCommits(base, tip)
	if err != nil {
		return err
	}
	for _, c := range commits {
		if c.NumParents() > 1 {
			continue
		}
		var model, env bool
		for _, t := range repo.ParseTrailers(c.Message) {
			model = model || t.Key == "Model"
			env = env || t.Key == "Environment"
		}
		if model && env {
			continue
		}
		return fmt.Errorf("%s holds commit %s (%q by %s) that modelgit did not make, and the base moved on: re-applying the promotion on the new base would drop it. Merge the base into the branch yourself (git merge) and push, or delete the branch to start over, then run the same command again", branch, c.Hash.String()[:12], firstLine(c.Message), c.Author.Name)
	}
	return nil
}

// isAncestor reports whether a is reachable from b (a zero a is not).
func (r *Registry) isAncestor(a, b plumbing.Hash) (bool, error) {
	if a.IsZero() || b.IsZero() {
		return false, nil
	}
	ca, err := r.repo.Git.CommitObject(a)
	if err != nil {
		return false, err
	}
	cb, err := r.repo.Git.CommitObject(b)
	if err != nil {
		return false, err
	}
	return ca.IsAncestor(cb)
}

// maxBody is the most modelgit writes into a pull request's body. GitHub
// refuses a body over 65,536 characters; the margin is what
// action/markdown.go keeps for its comments too. Lengths are counted in
// bytes, which are never fewer than characters.
const maxBody = 60000

// bodyInput is what a promotion's pull request body is made from.
type bodyInput struct {
	res   *PromoteResult
	diffs []fileDiff
	ap    *AppliedPolicy
	// models are the models' model.yaml, for the metrics' directions.
	models map[string]*manifests.Model
	// clusters are the clusters that run the environment.
	clusters []manifests.Cluster
	// evidence is Markdown put first (PromoteOptions.Evidence).
	evidence string
}

// promotionBody is the pull request's description: why (the evidence, if
// any), what changes, the metric comparison, the clusters the change
// applies on, the rendered diff and what must happen before merge. It
// stays under maxBody: the diff is cut first (the commit has it all),
// then the metric tables; every model keeps its "## model version → env"
// heading, which modelgit monitor looks for.
func promotionBody(in bodyInput) string {
	evidence := ""
	if in.evidence != "" {
		evidence = strings.TrimRight(in.evidence, "\n") + "\n\n"
	}
	changes := "### Rendered changes\n\n" + clusterTable(in.res.Env, in.clusters)
	foot := beforeMerge(in.ap)
	budget := maxBody - len(evidence) - len(changes) - len(foot)
	head := promotionSections(in, true)
	const diffRoom = 4000 // at least a few files' hunks, or the note
	if len(head) > budget-diffRoom {
		head = promotionSections(in, false)
	}
	body := evidence + head + changes + diffSection(in.diffs, budget-len(head)) + foot
	// The last resort, when even the headings do not fit.
	return CutMarkdown(body, maxBody, "_… cut here to keep this description under GitHub's size limit: the commit has every change._")
}

// promotionSections is one section per promotion; withMetrics false
// leaves the metric tables out (a large bulk promotion).
func promotionSections(in bodyInput, withMetrics bool) string {
	var b strings.Builder
	res := in.res
	for _, p := range res.Promotions {
		mv := p.Version.Manifest
		fmt.Fprintf(&b, "## %s %s → %s%s\n\n", mv.Model, mv.Version, res.Env, describeRelease(p.Release, mv.Version))
		fmt.Fprintf(&b, "- version digest: `%s`\n", p.Version.Digest)
		if mv.Data != nil {
			fmt.Fprintf(&b, "- training data: `%s`\n", mv.Data.Digest)
		}
		fmt.Fprintf(&b, "- registered by %s\n", mv.RegisteredBy)
		switch {
		case len(p.RolledBack) > 0:
			fmt.Fprintf(&b, "- rollback: takes %s out of %s\n", describeVersions(p.Previous, p.RolledBack), res.Env)
		case p.Baseline != nil:
			fmt.Fprintf(&b, "- replaces %s (now serving in %s)\n", p.Baseline.Version, res.Env)
		default:
			fmt.Fprintf(&b, "- first version of %s in %s\n", mv.Model, res.Env)
		}
		if p.Forced != "" {
			fmt.Fprintf(&b, "\n> [!WARNING]\n> Forced past the promotion order: %s.\n", p.Forced)
		}
		if !withMetrics {
			b.WriteString("\n")
			continue
		}
		var pol *policies.PromotionPolicy
		if in.ap != nil {
			pol = in.ap.Policy
		}
		b.WriteString("\n**Metrics**\n\n")
		b.WriteString(metricTable(mv, p.Baseline, in.models[mv.Model], pol))
		b.WriteString("\n")
	}
	if !withMetrics {
		b.WriteString("_Metric tables are left out to keep this description under GitHub's size limit: `modelgit diff MODEL@OLD MODEL@NEW` compares two versions._\n\n")
	}
	return b.String()
}

// clusterTable names the clusters that run env, each with the GPU
// defaults it patches onto every InferenceService predictor and
// Deployment: the rendered diff below applies on each of them so.
func clusterTable(env string, clusters []manifests.Cluster) string {
	if len(clusters) == 0 {
		return fmt.Sprintf("No cluster in modelgit.yaml runs %s: nothing applies these objects yet.\n\n", env)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Flux applies `%s/%s/` on each of these clusters, with the cluster's GPU defaults patched onto every InferenceService predictor and Deployment (`modelgit render --cluster NAME` shows the result):\n\n", RenderedDir, env)
	b.WriteString("| cluster | GPU | node selector | tolerations | runtime class |\n|---|---|---|---|---|\n")
	for _, c := range clusters {
		gpu, sel, tol, rc := "none (CPU only)", "–", "–", "–"
		if g := c.GPU; g != nil {
			gpu = fmt.Sprintf("%d × `%s`", g.Count, cell(g.Resource))
			if len(g.NodeSelector) > 0 {
				var kv []string
				for _, k := range slices.Sorted(maps.Keys(g.NodeSelector)) {
					kv = append(kv, "`"+cell(k+"="+g.NodeSelector[k])+"`")
				}
				sel = strings.Join(kv, " ")
			}
			if len(g.Tolerations) > 0 {
				var ts []string
				for _, t := range g.Tolerations {
					s := t.Key
					if t.Operator != "" && t.Operator != "Equal" {
						s += " " + t.Operator
					}
					if t.Value != "" {
						s += "=" + t.Value
					}
					if t.Effect != "" {
						s += ":" + t.Effect
					}
					ts = append(ts, "`"+cell(strings.TrimSpace(s))+"`")
				}
				tol = strings.Join(ts, " ")
			}
			if g.RuntimeClassName != "" {
				rc = "`" + cell(g.RuntimeClassName) + "`"
			}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", c.Name, gpu, sel, tol, rc)
	}
	b.WriteString("\n")
	return b.String()
}

// cell makes s safe inside a Markdown table cell's code span.
func cell(s string) string {
	return strings.NewReplacer("|", "\\|", "`", "'", "\n", " ").Replace(s)
}

// diffSection is the rendered diff, one collapsed block of hunks per
// file, within budget bytes: the files that do not fit are counted in a
// note pointing at the commit.
func diffSection(diffs []fileDiff, budget int) string {
	var b strings.Builder
	const noteRoom = 200
	left := 0
	for i, d := range diffs {
		block := fmt.Sprintf("<details><summary><code>%s</code></summary>\n\n```diff\n%s```\n\n</details>\n\n", d.Path, unifiedDiff(string(d.Old), string(d.New), 3))
		if b.Len()+len(block) > budget-noteRoom {
			left = len(diffs) - i
			break
		}
		b.WriteString(block)
	}
	if left > 0 {
		noun := "files"
		if left == 1 {
			noun = "file"
		}
		fmt.Fprintf(&b, "_… %d more %s: see the commit (the diff is cut to keep this description under GitHub's size limit)._\n\n", left, noun)
	}
	return b.String()
}

// beforeMerge is what must happen before the pull request merges.
func beforeMerge(ap *AppliedPolicy) string {
	var b strings.Builder
	b.WriteString("### Before merge\n\n")
	pol := ap.Policy
	fmt.Fprintf(&b, "- the modelgit check passes on this head: signatures, immutable versions, rendered/ in sync, and the gates of `%s`", ap.File)
	if ap.Default {
		b.WriteString(" (absent: the default policy applies)")
	}
	b.WriteString("\n")
	if pol.Soak > 0 {
		fmt.Fprintf(&b, "- each version ran in the previous environment for at least %s\n", pol.Soak)
	}
	need := fmt.Sprintf("%d approving review", pol.Approvals.Count)
	if pol.Approvals.Count != 1 {
		need += "s"
	}
	if len(pol.Approvals.Teams) > 0 {
		need += " including one from each of " + strings.Join(pol.Approvals.Teams, ", ")
	}
	fmt.Fprintf(&b, "- %s on this head commit, by someone other than the requester, the registrant or a committer\n", need)
	b.WriteString("- merge with `modelgit merge`, so the merge commit records who approved\n")
	return b.String()
}

// CutMarkdown cuts a Markdown document longer than n bytes at a line
// boundary and ends it with note, saying where the rest is; the result is
// at most n bytes. Pull request bodies and comments use it against
// GitHub's size limit.
func CutMarkdown(s string, n int, note string) string {
	if len(s) <= n {
		return s
	}
	note = "\n\n" + note + "\n"
	cut := s[:n-len(note)]
	if i := strings.LastIndexByte(cut, '\n'); i > 0 {
		cut = cut[:i]
	}
	return cut + note
}

// metricDirection is which way metric improves for the table: the
// policy's declaration, then model.yaml's, then the metric's name (as the
// gates judge it; pol and model may be nil).
func metricDirection(model *manifests.Model, pol *policies.PromotionPolicy, metric string) string {
	d := manifests.MetricDirection(model, metric)
	if pol == nil {
		return d
	}
	return pol.Rule(metric, map[string]string{metric: d}).Direction
}

// metricTable compares candidate and baseline metrics, with the better
// direction of each.
func metricTable(mv, baseline *manifests.ModelVersion, model *manifests.Model, pol *policies.PromotionPolicy) string {
	if len(mv.Metrics) == 0 {
		return "_no metrics registered_\n"
	}
	var b strings.Builder
	if baseline == nil {
		b.WriteString("| metric | value |\n|---|---:|\n")
		for _, k := range slices.Sorted(maps.Keys(mv.Metrics)) {
			fmt.Fprintf(&b, "| %s | %s |\n", k, fmtFloat(mv.Metrics[k]))
		}
		return b.String()
	}
	fmt.Fprintf(&b, "| metric | better | %s | %s | change |\n|---|---|---:|---:|---:|\n", baseline.Version, mv.Version)
	for _, k := range slices.Sorted(maps.Keys(mv.Metrics)) {
		dir := metricDirection(model, pol, k)
		arrow := "↑"
		if dir == manifests.DirectionLower {
			arrow = "↓"
		}
		old, ok := baseline.Metrics[k]
		if !ok {
			fmt.Fprintf(&b, "| %s | %s | – | %s | new |\n", k, arrow, fmtFloat(mv.Metrics[k]))
			continue
		}
		nv := mv.Metrics[k]
		change := "="
		if nv != old {
			change = fmt.Sprintf("%+.4g", nv-old)
			if old != 0 {
				change += fmt.Sprintf(" (%+.1f%%)", (nv-old)/math.Abs(old)*100)
			}
			if (nv > old) == (dir == manifests.DirectionHigher) {
				change += " ✅"
			} else {
				change += " ⚠️"
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", k, arrow, fmtFloat(old), fmtFloat(nv), change)
	}
	return b.String()
}

func fmtFloat(f float64) string { return fmt.Sprintf("%.4g", f) }

// unifiedDiff returns the hunks of a line diff of old and new in unified
// format: "@@ -l,n +l,n @@" headers, then " ", "-" and "+" lines, with up
// to context unchanged lines around the changes (changes at most twice
// that many unchanged lines apart share a hunk), as `git diff` shows them.
func unifiedDiff(old, new string, context int) string {
	dmp := diffmatchpatch.New()
	a, b, lines := dmp.DiffLinesToChars(old, new)
	diffs := dmp.DiffCharsToLines(dmp.DiffMain(a, b, false), lines)
	type line struct {
		op   byte
		text string
	}
	var ls []line
	for _, d := range diffs {
		op := byte(' ')
		switch d.Type {
		case diffmatchpatch.DiffInsert:
			op = '+'
		case diffmatchpatch.DiffDelete:
			op = '-'
		}
		for _, l := range strings.SplitAfter(d.Text, "\n") {
			if l != "" {
				ls = append(ls, line{op, strings.TrimSuffix(l, "\n")})
			}
		}
	}
	// oldAt[i] and newAt[i] count the old and new lines before ls[i].
	oldAt, newAt := make([]int, len(ls)+1), make([]int, len(ls)+1)
	for i, l := range ls {
		oldAt[i+1], newAt[i+1] = oldAt[i], newAt[i]
		if l.op != '+' {
			oldAt[i+1]++
		}
		if l.op != '-' {
			newAt[i+1]++
		}
	}
	span := func(at []int, from, to int) string {
		n := at[to] - at[from]
		start := at[from] + 1
		if n == 0 {
			start--
		}
		if n == 1 {
			return strconv.Itoa(start)
		}
		return fmt.Sprintf("%d,%d", start, n)
	}
	var out strings.Builder
	for i := 0; i < len(ls); {
		if ls[i].op == ' ' {
			i++
			continue
		}
		last := i // the last changed line of the hunk
		// A change at most 2×context unchanged lines after the last one
		// joins the hunk (their contexts touch or overlap), as in git.
		for j := i + 1; j < len(ls) && j-last-1 <= 2*context; j++ {
			if ls[j].op != ' ' {
				last = j
			}
		}
		from, to := max(0, i-context), min(len(ls), last+context+1)
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", span(oldAt, from, to), span(newAt, from, to))
		for _, l := range ls[from:to] {
			out.WriteByte(l.op)
			out.WriteString(l.text)
			out.WriteByte('\n')
		}
		i = to
	}
	return out.String()
}

package gitops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sergi/go-diff/diffmatchpatch"

	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/gitops/render"
	"github.com/modelgit/modelgit/gitops/repo"
	"github.com/modelgit/modelgit/manifests"
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
	// Rollback marks a return to a version that ran in the environment
	// before: no order check, and the commit and PR say so.
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
	if envIdx > 0 && !opts.Change.Switch && !opts.Rollback {
		prev := r.config.Environments[envIdx-1].Name
		ran, err := r.RanIn(prev, model, v.Manifest.Version)
		if err != nil {
			return nil, err
		}
		if ran == nil {
			if !opts.Force {
				return nil, fmt.Errorf("promoting %s to %q: %w: it has not run in %q yet; promote it there first (modelgit promote %s --to %s), or pass --force, which is recorded in the commit and the pull request", v.Name(), opts.Env, ErrOrder, prev, v.Name(), prev)
			}
			p.Forced = fmt.Sprintf("%s has not run in %s", v.Manifest.Version, prev)
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
	return p, nil
}

// versionResolver is a store that keeps one manifest per version (an OCI
// registry) and can name it by digest.
type versionResolver interface {
	ResolveVersion(ctx context.Context, model string, v manifests.Version) (ocispec.Descriptor, error)
	Registry() string
	Repository() string
}

// pinnedStorageURI is where the serving runtime loads v from, pinned by
// digest, for a store that can say: oci://REGISTRY/REPO@sha256:… for the
// version's OCI manifest. The release records it, so rendering stays a
// pure function of the repository. "" for other stores.
func (r *Registry) pinnedStorageURI(ctx context.Context, v *VersionRef) (string, error) {
	res, ok := r.store.(versionResolver)
	if !ok {
		return "", nil
	}
	desc, err := res.ResolveVersion(ctx, v.Manifest.Model, v.Manifest.Version)
	if err != nil {
		return "", fmt.Errorf("finding %s in %s (run register again to publish it, or store copy): %w", v.Name(), r.store.URL(), err)
	}
	return "oci://" + res.Registry() + "/" + res.Repository() + "@" + desc.Digest.String(), nil
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
	files, err := r.promotionFiles(head, opts.Env, releases)
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
	for _, f := range changed {
		res.Changed = append(res.Changed, f.Path)
	}
	ap, err := r.policyAt(head, opts.Env)
	if err != nil {
		return nil, err
	}
	res.Body = promotionBody(res, diffs, ap)
	if opts.Evidence != "" {
		res.Body = strings.TrimRight(opts.Evidence, "\n") + "\n\n" + res.Body
	}
	msg := r.promotionMessage(res, opts)
	if err := r.commitAndPush(ctx, res, opts, head, changed, msg); err != nil {
		return res, err
	}
	if opts.Forge != nil {
		pr, created, err := opts.Forge.EnsurePullRequest(ctx, forge.PullRequestSpec{
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
	return fmt.Errorf("promoting to %q: the work tree has uncommitted changes under %s/:\n  %s%s\ncommit them (modelgit render, then git commit) or stash them (git stash -u), then run the same command again", env, strings.Join(promotionDirs, "/, "), strings.Join(list, "\n  "), more)
}

// promotionFiles is the new release files plus everything rendered for
// their environment and its clusters.
func (r *Registry) promotionFiles(head plumbing.Hash, env string, rels []*manifests.Release) ([]repo.File, error) {
	in, err := r.renderInput(head, rels...)
	if err != nil {
		return nil, err
	}
	rendered, err := r.renderFiles(in, env)
	if err != nil {
		return nil, err
	}
	var files []repo.File
	for _, rel := range rels {
		raw, err := manifests.Marshal(rel)
		if err != nil {
			return nil, err
		}
		files = append(files, repo.File{Path: ReleaseFile(rel.Environment, rel.Model), Content: raw})
	}
	for _, f := range rendered {
		files = append(files, repo.File{Path: f.Path, Content: f.Content})
	}
	return files, nil
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
	ref, err := r.Resolve(rel.Model + "@" + v.Version.String())
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
			trailers = append(trailers, repo.Trailer{Key: "Rollback", Value: "from " + prev})
		}
	}
	trailers = append(trailers,
		repo.Trailer{Key: "Environment", Value: res.Env},
		repo.Trailer{Key: "Requested-by", Value: formatIdentity(opts.Identity.Signature)})
	return repo.FormatMessage(subject, body, trailers)
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
					merge = head
				}
			}
		}
		if err := r.repo.ResetBranch(res.Branch, parent, sig); err != nil {
			return err
		}
		h, err := r.repo.Commit(ctx, repo.CommitRequest{
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
		res.Commit = h
		if opts.Remote == "" {
			return nil
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

// promotionBody is the pull request's description: what changes, the
// metric comparison, the rendered diff and what must happen before merge.
func promotionBody(res *PromoteResult, diffs []fileDiff, ap *AppliedPolicy) string {
	var b strings.Builder
	for _, p := range res.Promotions {
		mv := p.Version.Manifest
		fmt.Fprintf(&b, "## %s %s → %s%s\n\n", mv.Model, mv.Version, res.Env, describeRelease(p.Release, mv.Version))
		fmt.Fprintf(&b, "- version digest: `%s`\n", p.Version.Digest)
		if mv.Data != nil {
			fmt.Fprintf(&b, "- training data: `%s`\n", mv.Data.Digest)
		}
		fmt.Fprintf(&b, "- registered by %s\n", mv.RegisteredBy)
		if p.Baseline != nil {
			fmt.Fprintf(&b, "- replaces %s (now serving in %s)\n", p.Baseline.Version, res.Env)
		} else {
			fmt.Fprintf(&b, "- first version of %s in %s\n", mv.Model, res.Env)
		}
		if p.Forced != "" {
			fmt.Fprintf(&b, "\n> [!WARNING]\n> Forced past the promotion order: %s.\n", p.Forced)
		}
		b.WriteString("\n**Metrics**\n\n")
		b.WriteString(metricTable(mv, p.Baseline))
		b.WriteString("\n")
	}
	b.WriteString("### Rendered changes\n\n")
	for _, d := range diffs {
		fmt.Fprintf(&b, "<details><summary><code>%s</code></summary>\n\n```diff\n%s```\n\n</details>\n\n", d.Path, lineDiff(string(d.Old), string(d.New)))
	}
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

// metricTable compares candidate and baseline metrics, with the better
// direction of each.
func metricTable(mv, baseline *manifests.ModelVersion) string {
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
		dir := manifests.MetricDirection(nil, k)
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

// lineDiff returns a line diff of old and new: "+", "-" and " " lines.
func lineDiff(old, new string) string {
	dmp := diffmatchpatch.New()
	a, bb, lines := dmp.DiffLinesToChars(old, new)
	diffs := dmp.DiffCharsToLines(dmp.DiffMain(a, bb, false), lines)
	var out strings.Builder
	for _, d := range diffs {
		prefix := " "
		switch d.Type {
		case diffmatchpatch.DiffInsert:
			prefix = "+"
		case diffmatchpatch.DiffDelete:
			prefix = "-"
		}
		for _, l := range strings.SplitAfter(d.Text, "\n") {
			if l == "" {
				continue
			}
			out.WriteString(prefix + l)
			if !strings.HasSuffix(l, "\n") {
				out.WriteString("\n")
			}
		}
	}
	return out.String()
}

package check

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/gitops/ledger"
	"github.com/modelgit/modelgit/gitops/repo"
	"github.com/modelgit/modelgit/manifests"
	"github.com/modelgit/modelgit/policies"
)

// CheckOptions say what Check judges.
type CheckOptions struct {
	// PR is the pull request to judge through Forge; 0 judges Base..Head
	// locally, without approvals (the approvals check is skipped, saying
	// so).
	PR    int
	Forge forge.Forge
	// Base and Head are revisions. With PR, Head is always the PR's head
	// SHA as the forge reports it, and Base defaults to the PR's base
	// branch: its remote-tracking branch when there is one, else the local
	// branch.
	Base, Head string
	// Remote, when set with PR, is fetched first (the PR's base and head
	// branches), with Auth.
	Remote string
	Auth   transport.AuthMethod
	// Now is the time soak is measured at; zero means the registry's
	// clock.
	Now time.Time
}

// ErrNoForge is returned by Check and Merge when a pull request is named
// but no forge is configured.
var ErrNoForge = errors.New("no forge configured")

// checkRun is the state of one Check.
type checkRun struct {
	r    *registry
	opts CheckOptions
	rep  *CheckReport
	base *object.Commit
	head *object.Commit
	// baseName is the base as the user or the forge names it (main), for
	// messages.
	baseName string
	// mergeBase is where head forked from base: the pull request's own
	// changes are mergeBase..head, as the forge shows them.
	mergeBase *object.Commit
	// baseReg is r reading modelgit.yaml as committed at the base, which
	// decides the environments, their order and the clusters; headReg
	// reads the head's, used only to render the head.
	baseReg, headReg *gitops.Registry
	trust            *gitops.Trust
	items            map[string]*CheckItem
	commit           []*object.Commit // base..head
	// policies applied, by environment, read from base.
	applied map[string]*gitops.AppliedPolicy
	// candidates are the versions the pull request promotes, for the
	// registrant exclusion.
	candidates []*manifests.ModelVersion
}

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
func (r *registry) Check(ctx context.Context, opts CheckOptions) (*CheckReport, error) {
	c := &checkRun{r: r, opts: opts, items: map[string]*CheckItem{}, applied: map[string]*gitops.AppliedPolicy{}}
	c.rep = &CheckReport{Policies: map[string]string{}, Promotions: []CheckedPromotion{}, Annotations: []Annotation{}, Approvals: []Approval{}}
	for _, name := range []string{CheckManifests, CheckSignatures, CheckImmutability, CheckArtifacts, CheckRendered, CheckUpToDate, CheckGates, CheckOrder, CheckSoak, CheckApprovals} {
		c.rep.Items = append(c.rep.Items, CheckItem{Name: name, Status: CheckPass})
	}
	for i := range c.rep.Items {
		c.items[c.rep.Items[i].Name] = &c.rep.Items[i]
	}
	var pr *forge.PullRequest
	if opts.PR != 0 {
		if opts.Forge == nil {
			return nil, fmt.Errorf("checking pull request #%d: %w in %s (add a forge section: modelgit init --github OWNER/REPO), or check locally with --base and --head", opts.PR, ErrNoForge, manifests.ConfigFile)
		}
		var err error
		if pr, err = opts.Forge.GetPullRequest(ctx, opts.PR); err != nil {
			if errors.Is(err, forge.ErrNotFound) {
				where := "the forge's repository"
				if f := r.Config().Forge; f != nil && f.Repository != "" {
					where = f.Repository
				}
				return nil, fmt.Errorf("pull request #%d not found in %s (gh pr list shows the open ones): %w", opts.PR, where, err)
			}
			return nil, fmt.Errorf("checking pull request #%d: %w", opts.PR, err)
		}
		c.rep.PullRequest = &CheckedPR{Number: pr.Number, Title: pr.Title, URL: pr.URL, Author: pr.Author}
	}
	if err := c.resolve(ctx, pr); err != nil {
		return nil, err
	}
	if err := c.configs(); err != nil {
		return nil, err
	}
	var err error
	if c.trust, err = r.LoadTrust(c.base.Hash); err != nil {
		return nil, fmt.Errorf("reading the allowed signers of the base %s: %w", gitops.Short(c.base.Hash), err)
	}
	if c.commit, err = r.Repo().RangeCommits(c.base.Hash, c.head.Hash); err != nil {
		return nil, err
	}
	if c.mergeBase, err = r.mergeBase(ctx, c.base.Hash, c.head.Hash); err != nil {
		return nil, err
	}
	changed, err := r.changedPaths(c.mergeBase, c.head, append([]string{manifests.ConfigFile, manifests.ClustersDir}, manifests.GovernedDirs...))
	if err != nil {
		return nil, err
	}
	steps := []func(context.Context, []changedPath) error{c.manifests, c.signatures, c.artifacts, c.rendered, c.promotions}
	for _, step := range steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := step(ctx, changed); err != nil {
			return nil, err
		}
	}
	if pr == nil {
		c.skip(CheckApprovals, "not checked: no pull request (run with --pr N against the forge)")
	} else {
		c.approvals(ctx, pr)
	}
	c.rep.Passed = len(c.rep.Failed()) == 0
	return c.rep, nil
}

// configs reads modelgit.yaml at the base and at the head. The base's
// decides what the check enforces (environments, order, clusters), so
// that a pull request cannot reorder the environments it is judged by;
// the head's only renders the head. A head whose modelgit.yaml does not
// parse is rendered with the base's (the manifests check reports it).
func (c *checkRun) configs() error {
	cfg, err := c.r.ConfigAt(c.base.Hash)
	if err != nil {
		return fmt.Errorf("checking: reading %s at the base %s: %w", manifests.ConfigFile, gitops.Short(c.base.Hash), err)
	}
	c.baseReg, c.headReg = c.r.UsingConfig(cfg), c.r.UsingConfig(cfg)
	if cfg, err := c.r.ConfigAt(c.head.Hash); err == nil {
		c.headReg = c.r.UsingConfig(cfg)
	}
	return nil
}

// resolve finds the base and head commits.
func (c *checkRun) resolve(ctx context.Context, pr *forge.PullRequest) error {
	r := c.r
	base, head := c.opts.Base, c.opts.Head
	if pr != nil {
		if pr.State != "open" {
			return fmt.Errorf("checking pull request #%d: it is %s", pr.Number, pr.State)
		}
		if c.opts.Remote != "" {
			for _, b := range []string{pr.Base, pr.Head} {
				if _, err := r.Repo().Fetch(ctx, c.opts.Remote, b, c.opts.Auth); err != nil {
					return fmt.Errorf("checking pull request #%d: %w", pr.Number, err)
				}
			}
		}
		head = pr.HeadSHA
		if base == "" {
			base = pr.Base
			remote := c.opts.Remote
			if remote == "" {
				remote = "origin"
			}
			if _, err := r.Repo().Resolve("refs/remotes/" + remote + "/" + pr.Base); err == nil {
				base = "refs/remotes/" + remote + "/" + pr.Base
			}
		}
	}
	c.baseName = base
	if pr != nil {
		c.baseName = pr.Base
	}
	if base == "" || head == "" {
		return fmt.Errorf("checking: both a base and a head revision are needed (--base main --head HEAD), or a pull request (--pr N)")
	}
	get := func(what, rev string) (*object.Commit, error) {
		h, err := r.Repo().Resolve(rev)
		if err != nil {
			hint := ""
			if pr != nil {
				hint = fmt.Sprintf(" (fetch it first: git fetch origin %s %s, or pass --remote origin)", pr.Base, pr.Head)
			}
			return nil, fmt.Errorf("checking: resolving the %s %q: %w%s", what, rev, err, hint)
		}
		cm, err := r.Repo().CommitObject(h)
		if err != nil {
			return nil, fmt.Errorf("checking: reading the %s %s: %w", what, h, err)
		}
		return cm, nil
	}
	var err error
	if c.base, err = get("base", base); err != nil {
		return err
	}
	if c.head, err = get("head", head); err != nil {
		return err
	}
	c.rep.Base, c.rep.Head = c.base.Hash.String(), c.head.Hash.String()
	return nil
}

func (c *checkRun) fail(name, detail string) {
	it := c.items[name]
	it.Status = CheckFail
	it.Details = append(it.Details, detail)
}

func (c *checkRun) skip(name, summary string) {
	it := c.items[name]
	if it.Status == CheckPass {
		it.Status = CheckSkip
	}
	if it.Summary == "" {
		it.Summary = summary
	}
}

func (c *checkRun) pass(name, detail string) {
	c.items[name].Details = append(c.items[name].Details, detail)
}

func (c *checkRun) summarize(name, passSummary, failSummary string) {
	it := c.items[name]
	if it.Summary != "" {
		return
	}
	if it.Status == CheckFail {
		it.Summary = failSummary
	} else {
		it.Summary = passSummary
	}
}

// annotate records an annotation for err on file: one per FileError when
// err carries them, else one on the file.
func (c *checkRun) annotate(file string, err error) {
	if fes := manifests.AsFileErrors(err); len(fes) > 0 {
		for _, fe := range fes {
			msg := fe.Msg
			if fe.Field != "" {
				msg = fmt.Sprintf("field %q: %s", fe.Field, fe.Msg)
			}
			c.rep.Annotations = append(c.rep.Annotations, Annotation{File: fe.File, Line: fe.Line, Column: fe.Column, Level: "error", Message: msg})
		}
		return
	}
	msg := strings.TrimPrefix(err.Error(), file+": ")
	c.rep.Annotations = append(c.rep.Annotations, Annotation{File: file, Level: "error", Message: msg})
}

// manifests parses every changed manifest at the head.
func (c *checkRun) manifests(_ context.Context, changed []changedPath) error {
	r := c.r
	n := 0
	for _, ch := range changed {
		if ch.Deleted || !strings.HasSuffix(ch.Path, ".yaml") {
			continue
		}
		raw, err := r.Repo().ReadFile(c.head.Hash, ch.Path)
		if err != nil {
			return err
		}
		parts := strings.Split(ch.Path, "/")
		switch {
		case ch.Path == manifests.ConfigFile:
			_, err = manifests.ParseConfig(ch.Path, raw)
		case len(parts) == 3 && parts[0] == manifests.ModelsDir && parts[2] == "model.yaml":
			_, err = manifests.ParseModel(ch.Path, raw)
		case len(parts) == 4 && parts[0] == manifests.ModelsDir && parts[2] == "versions":
			var v *gitops.VersionRef
			if v, err = r.ReadVersion(c.head.Hash, ch.Path); err == nil && v.Manifest.Model != parts[1] {
				err = &manifests.FileError{File: ch.Path, Field: "model", Msg: fmt.Sprintf("%q does not match the directory (want %q)", v.Manifest.Model, parts[1])}
			}
		case len(parts) == 3 && parts[0] == manifests.EnvironmentsDir:
			err = c.checkRelease(ch.Path, parts[1], strings.TrimSuffix(parts[2], ".yaml"), raw)
		case len(parts) == 2 && parts[0] == manifests.PoliciesDir:
			_, err = policies.Parse(ch.Path, raw)
		default:
			continue
		}
		n++
		if err != nil {
			c.fail(CheckManifests, err.Error())
			c.annotate(ch.Path, err)
		}
	}
	c.summarize(CheckManifests, fmt.Sprintf("%s changed, all valid", gitops.Count(n, "manifest")), fmt.Sprintf("%s of %s changed invalid", gitops.Count(len(c.items[CheckManifests].Details), "manifest"), fmt.Sprint(n)))
	return nil
}

// checkRelease validates a release file beyond its schema: it belongs
// where it is, and pins versions registered at the head with their
// digests.
func (c *checkRun) checkRelease(p, env, model string, raw []byte) error {
	rel, err := manifests.ParseRelease(p, raw)
	if err != nil {
		return err
	}
	if err := c.headReg.CheckEnv(env); err != nil {
		return &manifests.FileError{File: p, Msg: err.Error()}
	}
	if rel.Environment != env {
		return &manifests.FileError{File: p, Field: "environment", Msg: fmt.Sprintf("%q does not match the directory (want %q)", rel.Environment, env)}
	}
	if rel.Model != model {
		return &manifests.FileError{File: p, Field: "model", Msg: fmt.Sprintf("%q does not match the file name (want %q)", rel.Model, model)}
	}
	for i, rv := range rel.Versions {
		v, err := c.r.ReadVersion(c.head.Hash, manifests.VersionFile(model, rv.Version.String()))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return &manifests.FileError{File: p, Field: fmt.Sprintf("versions[%d].version", i), Msg: fmt.Sprintf("%s of %s is not registered", rv.Version, model)}
		case err != nil:
			return err
		case v.Digest != rv.Digest:
			return &manifests.FileError{File: p, Field: fmt.Sprintf("versions[%d].digest", i), Msg: fmt.Sprintf("%s does not match the manifest of %s, which hashes to %s", rv.Digest, rv.Version, v.Digest)}
		}
	}
	return nil
}

// signatures checks every commit of the range with the base's signers.
func (c *checkRun) signatures(_ context.Context, _ []changedPath) error {
	governed := 0
	for _, cm := range c.commit {
		g, fs, err := c.r.checkCommit(cm, c.trust)
		if err == nil && !g {
			g, fs, err = c.r.checkConfigCommit(cm, c.trust)
		}
		if err != nil {
			return err
		}
		if g {
			governed++
		}
		for _, f := range fs {
			name := CheckSignatures
			if f.Check == "immutable" {
				name = CheckImmutability
				c.rep.Annotations = append(c.rep.Annotations, Annotation{File: f.Path, Level: "error", Message: f.Message})
			}
			c.fail(name, f.String())
		}
	}
	c.summarize(CheckSignatures, fmt.Sprintf("%s touching governed paths or %s, all signed by signers allowed at the base", gitops.Count(governed, "commit"), manifests.ConfigFile), fmt.Sprintf("%s not signed by a signer allowed at the base %s", gitops.Count(len(c.items[CheckSignatures].Details), "commit"), gitops.Short(c.base.Hash)))
	c.summarize(CheckImmutability, "no registered version modified or deleted", "registered versions modified or deleted")
	return nil
}

// artifacts checks that the artifacts of added versions are in the store.
func (c *checkRun) artifacts(ctx context.Context, changed []changedPath) error {
	n, added, modified := 0, 0, 0
	seen := map[manifests.Digest]bool{}
	for _, ch := range changed {
		parts := strings.Split(ch.Path, "/")
		if ch.Deleted || len(parts) != 4 || parts[0] != manifests.ModelsDir || parts[2] != "versions" || !strings.HasSuffix(ch.Path, ".yaml") {
			continue
		}
		v, err := c.r.ReadVersion(c.head.Hash, ch.Path)
		if err != nil {
			continue // reported by the manifests check
		}
		// A version the base already registers is modified, not new (the
		// immutability check fails it); its artifacts are checked all the
		// same.
		if _, err := c.r.Repo().ReadFile(c.mergeBase.Hash, ch.Path); err == nil {
			modified++
		} else {
			added++
		}
		var firstErr error
		v.Manifest.Artifacts.Each(func(kind string, a *manifests.Artifact) {
			if firstErr != nil || seen[a.Digest] {
				return
			}
			seen[a.Digest] = true
			n++
			msg, err := c.r.checkBlob(ctx, a.Digest, a.MediaType, false)
			if err != nil {
				firstErr = fmt.Errorf("checking %s %s of %s: %w", kind, a.Digest, ch.Path, err)
				return
			}
			if msg != "" {
				c.fail(CheckArtifacts, fmt.Sprintf("%s: %s %s: %s", ch.Path, kind, a.Digest, msg))
				c.rep.Annotations = append(c.rep.Annotations, Annotation{File: ch.Path, Level: "error", Message: fmt.Sprintf("%s %s: %s", kind, a.Digest, msg)})
			}
		})
		if firstErr != nil {
			return firstErr
		}
	}
	if added+modified == 0 {
		c.skip(CheckArtifacts, "no version added")
		return nil
	}
	var of []string
	if added > 0 {
		of = append(of, gitops.Count(added, "new version"))
	}
	if modified > 0 {
		of = append(of, gitops.Count(modified, "modified registered version"))
	}
	c.summarize(CheckArtifacts, fmt.Sprintf("%s of %s found in the store", gitops.Count(n, "artifact"), strings.Join(of, " and ")), "artifacts missing from the store")
	return nil
}

// rendered checks rendered/ and clusters/ at the head, and, for an OCI
// store, the storage URIs of the changed releases (see pins).
func (c *checkRun) rendered(ctx context.Context, changed []changedPath) error {
	if err := c.pins(ctx, changed); err != nil {
		return err
	}
	envs := c.renderedEnvs(changed)
	if envs != nil && len(envs) == 0 {
		c.skip(CheckRendered, "nothing the pull request changes is rendered")
		return nil
	}
	stale, err := c.headReg.CheckRenderedAt(c.head.Hash, envs)
	if err != nil {
		c.fail(CheckRendered, "rendering the head: "+err.Error())
		c.items[CheckRendered].Summary = "the releases at the head do not render"
		if fes := manifests.AsFileErrors(err); len(fes) > 0 {
			c.annotate("", err)
		}
		return nil
	}
	for _, s := range stale {
		what := "differs from what the releases render to"
		if s.Missing {
			what = "is missing"
		}
		c.fail(CheckRendered, s.Path+" "+what)
		c.rep.Annotations = append(c.rep.Annotations, Annotation{File: s.Path, Level: "error", Message: "stale generated file: " + what + "; run modelgit render and commit the result"})
	}
	if len(stale) == 0 && c.items[CheckRendered].Status == CheckFail {
		c.summarize(CheckRendered, "", "a storage URI is not the pin of the version released: re-run modelgit promote")
	}
	c.summarize(CheckRendered, "rendered/ and clusters/ are in sync with the releases", fmt.Sprintf("%s out of sync: run modelgit render and commit", gitops.Count(len(stale), "generated file")))
	return nil
}

// pins checks, for an OCI store, that every release the pull request
// changes (its release or its rendered file) pins each version's storage
// URI to the OCI manifest computed from the committed version, and that
// its rendered file deploys only those (checkPins): a hand-edited
// oci://…@sha256:… would otherwise deploy what Git never registered. It
// fails the rendered check.
func (c *checkRun) pins(ctx context.Context, changed []changedPath) error {
	type key struct{ env, model string }
	seen := map[key]bool{}
	for _, ch := range changed {
		parts := strings.Split(ch.Path, "/")
		if ch.Deleted || len(parts) != 3 || (parts[0] != manifests.EnvironmentsDir && parts[0] != manifests.RenderedDir) || !strings.HasSuffix(parts[2], ".yaml") {
			continue
		}
		k := key{parts[1], strings.TrimSuffix(parts[2], ".yaml")}
		if seen[k] || c.headReg.CheckEnv(k.env) != nil || manifests.ValidName(k.model) != nil {
			continue
		}
		seen[k] = true
		problems, err := c.r.CheckPins(ctx, c.head.Hash, k.env, k.model)
		if err != nil {
			return fmt.Errorf("checking the storage URIs of %s: %w", manifests.ReleaseFile(k.env, k.model), err)
		}
		for _, p := range problems {
			loc := p.File
			if p.Line > 0 {
				loc = fmt.Sprintf("%s:%d", p.File, p.Line)
			}
			c.fail(CheckRendered, loc+": "+p.Message)
			c.rep.Annotations = append(c.rep.Annotations, Annotation{File: p.File, Line: p.Line, Level: "error", Message: p.Message})
		}
	}
	return nil
}

// renderedEnvs returns the environments whose rendered files the change
// can affect: those whose releases, rendered/ or clusters' files it
// changes (a cluster's environment by the base's and the head's
// modelgit.yaml); nil (all) when it changes modelgit.yaml or a model's
// manifest, which every environment renders from.
func (c *checkRun) renderedEnvs(changed []changedPath) map[string]bool {
	envs := map[string]bool{}
	clusterEnv := map[string][]string{}
	for _, reg := range []*gitops.Registry{c.baseReg, c.headReg} {
		for _, cl := range reg.Config().Clusters {
			clusterEnv[cl.Name] = append(clusterEnv[cl.Name], cl.Environment)
		}
	}
	for _, ch := range changed {
		parts := strings.Split(ch.Path, "/")
		switch {
		case ch.Path == manifests.ConfigFile:
			return nil
		case parts[0] == manifests.ModelsDir && len(parts) == 3 && parts[2] == "model.yaml":
			return nil
		case (parts[0] == manifests.EnvironmentsDir || parts[0] == manifests.RenderedDir) && len(parts) > 2:
			envs[parts[1]] = true
		case parts[0] == manifests.ClustersDir && len(parts) > 2:
			for _, e := range clusterEnv[parts[1]] {
				envs[e] = true
			}
		}
	}
	return envs
}

// promotions judges each changed release: gates, order and soak, under
// the policy read from the base.
func (c *checkRun) promotions(ctx context.Context, changed []changedPath) error {
	r := c.r
	now := c.opts.Now
	if now.IsZero() {
		now = r.Now()
	}
	requested := c.requestedBy()
	type promo struct {
		cp        CheckedPromotion
		candidate *gitops.VersionRef
		baseline  *gitops.VersionRef
		ap        *gitops.AppliedPolicy
		// undeclared: the environment is not in the base's modelgit.yaml
		// (the pull request declares it), so no order of the base
		// applies.
		undeclared bool
	}
	var ps []promo
	var unparsed []string
	releases := 0
	for _, ch := range changed {
		parts := strings.Split(ch.Path, "/")
		if len(parts) != 3 || parts[0] != manifests.EnvironmentsDir || !strings.HasSuffix(parts[2], ".yaml") {
			continue
		}
		env, model := parts[1], strings.TrimSuffix(parts[2], ".yaml")
		if c.headReg.CheckEnv(env) != nil || manifests.ValidName(model) != nil {
			continue // reported by the manifests check
		}
		// What the pull request changes is its release against the merge
		// base (the candidate); what runs now, the baseline, is the base
		// tip's. When the base changed this release meanwhile, the two
		// differ, and the pull request is behind.
		forkRel, _ := c.r.ReleaseAt(c.mergeBase.Hash, env, model)
		baseRel, _ := c.r.ReleaseAt(c.base.Hash, env, model)
		headRel, err := c.r.ReleaseAt(c.head.Hash, env, model)
		if err != nil && !ch.Deleted {
			continue // reported by the manifests check
		}
		releases++
		p := promo{cp: CheckedPromotion{Model: model, Environment: env, RequestedBy: requested}, undeclared: c.baseReg.CheckEnv(env) != nil}
		if v, ok := gitops.CurrentStable(baseRel); ok {
			p.cp.From = v.Version.String()
			p.baseline, _ = r.ReadVersion(c.base.Hash, manifests.VersionFile(model, v.Version.String()))
		}
		if fresh := newVersions(forkRel, headRel); len(fresh) > 1 {
			// Gates, order and soak judge one candidate per release: a
			// second new version would run unjudged. modelgit promote
			// never writes this; a hand edit can.
			msg := fmt.Sprintf("%s starts serving %d new versions at once (%s): a promotion brings one new version into an environment at a time, and only the first would be judged; promote them one by one", ch.Path, len(fresh), gitops.JoinVersions(fresh))
			c.fail(CheckOrder, msg)
			c.rep.Annotations = append(c.rep.Annotations, Annotation{File: ch.Path, Level: "error", Message: msg})
		}
		if cand, ok := candidateOf(forkRel, headRel); ok {
			p.cp.To = cand.String()
			p.cp.Strategy = gitops.StrategyTrailer(headRel, cand)
			p.candidate, _ = r.ReadVersion(c.head.Hash, manifests.VersionFile(model, cand.String()))
		} else {
			p.cp.Strategy = "removed"
		}
		if err := c.upToDate(ch.Path, p.cp); err != nil {
			return err
		}
		if p.ap, err = c.policy(env); err != nil {
			c.fail(CheckGates, fmt.Sprintf("the policy of %s on the base does not parse: %v", env, err))
			c.fail(CheckApprovals, fmt.Sprintf("the policy of %s on the base does not parse, so nobody can approve under it", env))
			unparsed = append(unparsed, fmt.Sprintf("the policy of %s on the base %s does not parse (%v)", env, gitops.Short(c.base.Hash), err))
			c.rep.Promotions = append(c.rep.Promotions, p.cp)
			continue
		}
		ps = append(ps, p)
	}
	if releases == 0 {
		c.skip(CheckUpToDate, "no release changed")
	}
	c.summarize(CheckUpToDate, fmt.Sprintf("no release the pull request changes changed on %s since it branched", c.baseName), fmt.Sprintf("behind its base: a release it changes changed on %s since it branched", c.baseName))
	if len(ps) == 0 {
		c.summarize(CheckGates, "", "a policy on the base does not parse")
		c.skip(CheckGates, "no release changed")
		if len(unparsed) > 0 {
			// The releases did change: say why they were not judged.
			c.skip(CheckOrder, "not checked: "+strings.Join(unparsed, "; "))
			c.skip(CheckSoak, "not checked: "+strings.Join(unparsed, "; "))
			return nil
		}
		c.skip(CheckOrder, "no release changed")
		c.skip(CheckSoak, "no release changed")
		return nil
	}
	// runOf asks the ledger for the candidate's latest run at the base.
	runOf := func(env, model string, v manifests.Version) (ledger.Run, error) {
		served, err := r.Served(ctx, c.base.Hash, env, model)
		if err != nil {
			return ledger.Run{}, fmt.Errorf("reading the release history: %w", err)
		}
		run, _ := ledger.LatestRun(served[v.String()])
		return run, nil
	}
	gatesRun, orderRun, soakRun := 0, 0, 0
	for _, p := range ps {
		c.rep.Promotions = append(c.rep.Promotions, p.cp)
		label := fmt.Sprintf("%s %s → %s", p.cp.Model, orNone(p.cp.From), p.cp.Environment)
		if p.candidate == nil {
			if p.cp.To == "" {
				c.pass(CheckGates, fmt.Sprintf("%s: the release is removed; no gate applies", p.cp.Model+" in "+p.cp.Environment))
			} else {
				c.fail(CheckGates, fmt.Sprintf("%s %s: not registered at the head", p.cp.Model, p.cp.To))
			}
			continue
		}
		label = fmt.Sprintf("%s %s → %s in %s", p.cp.Model, orNone(p.cp.From), p.cp.To, p.cp.Environment)
		// Gates.
		model := c.modelAt(c.head.Hash, p.cp.Model)
		cand := policies.FromVersion(p.candidate.Manifest, model)
		var baseline *policies.Subject
		if p.baseline != nil && p.baseline.Manifest.Version != p.candidate.Manifest.Version {
			b := policies.FromVersion(p.baseline.Manifest, c.modelAt(c.base.Hash, p.cp.Model))
			baseline = &b
		}
		gatesRun++
		for _, g := range p.ap.Policy.Evaluate(cand, baseline) {
			// A gate's message may hold one line per metric (the default
			// gate): each becomes a detail of its own, so that the CLI and
			// the pull request comment, which print a detail per line,
			// keep them apart.
			msg := strings.Split(strings.TrimRight(g.Message, "\n"), "\n")
			if g.Skipped {
				msg[0] += " (skipped)"
			}
			for _, m := range msg {
				line := fmt.Sprintf("%s: gate %s: %s", label, g.Name, m)
				if g.Passed || g.Skipped {
					c.pass(CheckGates, line)
				} else {
					c.fail(CheckGates, line)
				}
			}
		}
		// Order and soak.
		v := p.candidate.Manifest.Version
		here, err := runOf(p.cp.Environment, p.cp.Model, v)
		if err != nil {
			return err
		}
		var prev ledger.Run
		if p.ap.From != "" {
			if prev, err = runOf(p.ap.From, p.cp.Model, v); err != nil {
				return err
			}
		}
		switch {
		case p.undeclared:
			orderRun++
			c.fail(CheckOrder, fmt.Sprintf("%s: %s is not an environment in %s at the base %s, so no order applies to it; declare it in a pull request of its own and promote once that has merged", label, p.cp.Environment, manifests.ConfigFile, gitops.Short(c.base.Hash)))
		case p.ap.From == "":
			c.pass(CheckOrder, fmt.Sprintf("%s: %s is the first environment", label, p.cp.Environment))
		case !here.Commit.IsZero() && !here.Now:
			orderRun++
			c.pass(CheckOrder, fmt.Sprintf("%s: a rollback; %s served in %s before (from %s)", label, p.cp.To, p.cp.Environment, gitops.Short(here.Commit)))
		case prev.Commit.IsZero():
			orderRun++
			msg := fmt.Sprintf("%s: %s has not run in %q (policy order: %s first)", label, p.cp.To, p.ap.From, p.ap.From)
			if forced := c.trailer("Forced"); forced != "" {
				msg += "; the promotion was forced: " + forced
			}
			c.fail(CheckOrder, msg)
		default:
			orderRun++
			c.pass(CheckOrder, fmt.Sprintf("%s: ran in %s since %s (%s)", label, p.ap.From, prev.Since.UTC().Format(time.RFC3339), gitops.Short(prev.Commit)))
		}
		soak := time.Duration(p.ap.Policy.Soak)
		switch {
		case soak == 0:
		case p.ap.From == "" || (!here.Commit.IsZero() && !here.Now):
			c.pass(CheckSoak, fmt.Sprintf("%s: no soak applies", label))
		case prev.Commit.IsZero():
			soakRun++
			c.fail(CheckSoak, fmt.Sprintf("%s: needs %s in %s; it has not run there", label, p.ap.Policy.Soak, p.ap.From))
		default:
			soakRun++
			ran := now.Sub(prev.Since)
			if ran >= soak {
				c.pass(CheckSoak, fmt.Sprintf("%s: ran %s in %s (policy: %s)", label, roundDuration(ran), p.ap.From, p.ap.Policy.Soak))
			} else {
				c.fail(CheckSoak, fmt.Sprintf("%s: ran %s in %s, the policy asks %s (mergeable after %s)", label, roundDuration(ran), p.ap.From, p.ap.Policy.Soak, prev.Since.Add(soak).UTC().Format(time.RFC3339)))
			}
		}
		c.candidates = append(c.candidates, p.candidate.Manifest)
	}
	c.summarize(CheckGates, fmt.Sprintf("the gates of %s passed", gitops.Count(gatesRun, "promotion")), "a policy gate failed")
	if orderRun == 0 && c.items[CheckOrder].Status != CheckFail {
		c.skip(CheckOrder, "no order applies")
	}
	c.summarize(CheckOrder, "every version ran in the environment before", "the promotion order does not hold")
	if soakRun == 0 && c.items[CheckSoak].Status != CheckFail {
		c.skip(CheckSoak, "no soak time applies")
	}
	c.summarize(CheckSoak, "every version soaked long enough", "a version has not soaked long enough")
	return nil
}

// upToDate fails the up-to-date check when the release file p, which
// the pull request changes (its promotion cp), changed on the base since
// the merge base: someone else promoted or rolled back this model in this
// environment meanwhile, and merging would undo or mix with it.
func (c *checkRun) upToDate(p string, cp CheckedPromotion) error {
	if c.mergeBase.Hash == c.base.Hash {
		return nil
	}
	fork, err := c.blobAt(c.mergeBase, p)
	if err != nil {
		return err
	}
	now, err := c.blobAt(c.base, p)
	if err != nil {
		return err
	}
	if fork == now {
		return nil
	}
	c.fail(CheckUpToDate, fmt.Sprintf("behind its base: %s changed on %s since this pull request branched; re-run `%s` to update it, or merge %s into it", p, c.baseName, promoteCommand(cp), c.baseName))
	c.rep.Annotations = append(c.rep.Annotations, Annotation{File: p, Level: "error", Message: fmt.Sprintf("changed on %s since this pull request branched; re-run `%s` to update it", c.baseName, promoteCommand(cp))})
	return nil
}

// blobAt returns the blob hash of the file p in cm's tree, zero when
// absent.
func (c *checkRun) blobAt(cm *object.Commit, p string) (plumbing.Hash, error) {
	tree, err := cm.Tree()
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("checking: reading the tree of %s: %w", gitops.Short(cm.Hash), err)
	}
	e, err := tree.FindEntry(p)
	if errors.Is(err, object.ErrEntryNotFound) || errors.Is(err, object.ErrDirectoryNotFound) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("checking: reading %s at %s: %w", p, gitops.Short(cm.Hash), err)
	}
	return e.Hash, nil
}

// promoteCommand is the modelgit promote command that makes cp again,
// with the flags of its strategy (CheckedPromotion.Strategy, as
// strategyTrailer writes it).
func promoteCommand(cp CheckedPromotion) string {
	if cp.To == "" {
		return "modelgit promote MODEL@VERSION --to " + oneLine(cp.Environment)
	}
	cmd := fmt.Sprintf("modelgit promote %s@%s --to %s", oneLine(cp.Model), oneLine(cp.To), oneLine(cp.Environment))
	strategy, arg, _ := strings.Cut(oneLine(cp.Strategy), " ")
	switch strategy {
	case manifests.StrategyCanary:
		cmd += " --strategy canary"
		if w, ok := strings.CutPrefix(arg, "weight="); ok {
			cmd += " --weight " + w
		}
	case manifests.StrategyBlueGreen:
		cmd += " --strategy blue-green"
	case manifests.StrategyAB:
		cmd += " --strategy ab"
		if m, ok := strings.CutPrefix(arg, "match="); ok {
			cmd += " --match " + m
		}
	}
	return cmd
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func roundDuration(d time.Duration) time.Duration {
	if d > time.Hour {
		return d.Round(time.Minute)
	}
	return d.Round(time.Second)
}

// policy returns the policy of env read from the base, with the order of
// the base's modelgit.yaml, once.
func (c *checkRun) policy(env string) (*gitops.AppliedPolicy, error) {
	if ap, ok := c.applied[env]; ok {
		return ap, nil
	}
	ap, err := c.baseReg.PolicyAt(c.base.Hash, env)
	if err != nil {
		return nil, err
	}
	c.applied[env] = ap
	c.rep.Policies[env] = ap.Digest.String()
	return ap, nil
}

func (c *checkRun) modelAt(rev plumbing.Hash, model string) *manifests.Model {
	raw, err := c.r.Repo().ReadFile(rev, manifests.ModelFile(model))
	if err != nil {
		return nil
	}
	m, err := manifests.ParseModel(manifests.ModelFile(model), raw)
	if err != nil {
		return nil
	}
	return m
}

// candidateOf is the version a release change is about: the first
// version the head release lists that the base release does not, else
// the one whose weight grew the most, else the head's main version.
func candidateOf(base, head *manifests.Release) (manifests.Version, bool) {
	if head == nil || len(head.Versions) == 0 {
		return manifests.Version{}, false
	}
	if fresh := newVersions(base, head); len(fresh) > 0 {
		return fresh[0], true
	}
	weights := map[manifests.Version]int{}
	if base != nil {
		for _, v := range base.Versions {
			weights[v.Version] = weightOf(v)
		}
	}
	best, grew := head.Versions[0].Version, 0
	for _, v := range head.Versions {
		if d := weightOf(v) - weights[v.Version]; d > grew {
			best, grew = v.Version, d
		}
	}
	return best, true
}

// newVersions are the versions head serves that base did not.
func newVersions(base, head *manifests.Release) []manifests.Version {
	if head == nil {
		return nil
	}
	var out []manifests.Version
	for _, v := range head.Versions {
		if base == nil || !slices.ContainsFunc(base.Versions, func(b manifests.ReleasedVersion) bool { return b.Version == v.Version }) {
			out = append(out, v.Version)
		}
	}
	return out
}

func weightOf(v manifests.ReleasedVersion) int {
	if v.Weight == nil {
		return 100
	}
	return *v.Weight
}

// trailer returns the first value of a trailer in the range's commit
// messages, newest first.
func (c *checkRun) trailer(key string) string {
	for _, cm := range c.commit {
		for _, t := range repo.ParseTrailers(cm.Message) {
			if strings.EqualFold(t.Key, key) {
				return t.Value
			}
		}
	}
	return ""
}

// requestedBy returns the distinct Requested-by trailers of the range,
// joined.
func (c *checkRun) requestedBy() string {
	return strings.Join(c.requesters(), ", ")
}

func (c *checkRun) requesters() []string {
	var out []string
	for _, cm := range c.commit {
		for _, t := range repo.ParseTrailers(cm.Message) {
			if strings.EqualFold(t.Key, "Requested-by") && !slices.Contains(out, t.Value) {
				out = append(out, t.Value)
			}
		}
	}
	return out
}

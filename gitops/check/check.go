package check

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/manifests"
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
	// branches), with Auth. Without it, a base that lacks the forge's
	// base of the PR is fetched from origin, with Auth.
	Remote string
	Auth   transport.AuthMethod
	// Now is the time soak is measured at; zero means the registry's
	// clock.
	Now time.Time
	// Local, without PR, judges the approvals a merger asserts
	// (MergeLocal) instead of skipping approvals.
	Local *LocalApprovals
}

// ErrStaleBase is returned by Check and Merge when the base at hand does
// not contain the base the forge judges the pull request against, and
// fetching did not bring it.
var ErrStaleBase = errors.New("the base is behind the forge's")

// ErrNoForge is returned by Check and Merge when a pull request is named
// but no forge is configured.
var ErrNoForge = errors.New("no forge configured")

// checkRun is the state of one Check.
type checkRun struct {
	r    *repository
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
	baseReg, headReg *gitops.Repository
	trust            *gitops.Trust
	items            map[string]*CheckItem
	commit           []*object.Commit // base..head
	// policies applied, by environment, read from base.
	applied map[string]*gitops.AppliedPolicy
	// candidates are the versions the pull request promotes, for the
	// registrant exclusion.
	candidates []*manifests.ModelVersion
	// localURI: a rendered storage URI names a store inside a clone.
	localURI bool
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
func (r *repository) Check(ctx context.Context, opts CheckOptions) (*CheckReport, error) {
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
	if c.trust, err = r.trustAtBase(c.base.Hash); err != nil {
		return nil, fmt.Errorf("reading the allowed signers in force at the base %s: %w", gitops.Short(c.base.Hash), err)
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
	switch {
	case pr == nil && opts.Local != nil:
		if err := c.localApprovals(ctx); err != nil {
			return nil, err
		}
	case pr == nil:
		c.skip(CheckApprovals, "not checked: no pull request (run with --pr N against the forge, or merge --local with --approved-by)")
	default:
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

// resolve finds the base and head commits. With a pull request, the
// base is then held to the forge's (forgeBase).
func (c *checkRun) resolve(ctx context.Context, pr *forge.PullRequest) error {
	base, head, err := c.revisions(ctx, pr)
	if err != nil {
		return err
	}
	if c.base, err = c.commitAt("base", base, pr); err != nil {
		return err
	}
	if c.head, err = c.commitAt("head", head, pr); err != nil {
		return err
	}
	if pr != nil {
		if err := c.forgeBase(ctx, pr, base); err != nil {
			return err
		}
	}
	c.rep.Base, c.rep.Head = c.base.Hash.String(), c.head.Hash.String()
	return nil
}

// revisions are the base and head revisions to judge: the options', or
// for a pull request its head SHA and its base branch (its
// remote-tracking branch when there is one), fetched first from Remote.
func (c *checkRun) revisions(ctx context.Context, pr *forge.PullRequest) (base, head string, err error) {
	r := c.r
	base, head = c.opts.Base, c.opts.Head
	if pr != nil {
		if pr.State != "open" {
			return "", "", fmt.Errorf("checking pull request #%d: it is %s", pr.Number, pr.State)
		}
		if c.opts.Remote != "" {
			for _, b := range []string{pr.Base, pr.Head} {
				if _, err := r.Repo().Fetch(ctx, c.opts.Remote, b, c.opts.Auth); err != nil {
					return "", "", fmt.Errorf("checking pull request #%d: %w", pr.Number, err)
				}
			}
		}
		head = pr.HeadSHA
		if base == "" {
			base = c.trackingBase(pr.Base)
		}
	}
	c.baseName = base
	if pr != nil {
		c.baseName = pr.Base
	}
	if base == "" || head == "" {
		return "", "", fmt.Errorf("checking: both a base and a head revision are needed (--base main --head HEAD), or a pull request (--pr N)")
	}
	return base, head, nil
}

// trackingBase is branch's remote-tracking branch (of Remote, else
// origin) when there is one, else branch.
func (c *checkRun) trackingBase(branch string) string {
	remote := c.opts.Remote
	if remote == "" {
		remote = "origin"
	}
	if _, err := c.r.Repo().Resolve("refs/remotes/" + remote + "/" + branch); err == nil {
		return "refs/remotes/" + remote + "/" + branch
	}
	return branch
}

// commitAt reads the commit rev names, the base or head (what).
func (c *checkRun) commitAt(what, rev string, pr *forge.PullRequest) (*object.Commit, error) {
	h, err := c.r.Repo().Resolve(rev)
	if err != nil {
		hint := ""
		if pr != nil {
			hint = fmt.Sprintf(" (fetch it first: git fetch origin %s %s, or pass --remote origin)", pr.Base, pr.Head)
		}
		return nil, fmt.Errorf("checking: resolving the %s %q: %w%s", what, rev, err, hint)
	}
	cm, err := c.r.Repo().CommitObject(h)
	if err != nil {
		return nil, fmt.Errorf("checking: reading the %s %s: %w", what, h, err)
	}
	return cm, nil
}

// forgeBase holds the judged base to the one the forge merges into: a
// clone that has not fetched since a stricter policy merged would
// otherwise judge by the old one. For an open pull request that is the
// base branch's tip on the forge now (BranchHead), not the PR's base.sha,
// which GitHub moves only when the head is pushed to; for a merged one,
// the base.sha it was merged into. A base that contains it (is it, or
// newer) stands. One that does not is fetched (from Remote, else origin)
// and resolved again, the branch through its remote-tracking branch; when
// it still lacks it, the check refuses.
func (c *checkRun) forgeBase(ctx context.Context, pr *forge.PullRequest, rev string) error {
	want := pr.BaseSHA
	if pr.State == "open" {
		tip, err := c.opts.Forge.BranchHead(ctx, pr.Base)
		if err != nil {
			return fmt.Errorf("checking pull request #%d: reading the tip of its base %s on the forge: %w (nothing was judged)", pr.Number, pr.Base, err)
		}
		want = tip
	}
	if want == "" || c.hasBase(ctx, c.base.Hash, want) {
		return nil
	}
	remote := c.opts.Remote
	if remote == "" && c.r.Repo().HasRemote("origin") {
		remote = "origin"
	}
	why := "no remote to fetch it from"
	if remote != "" {
		why = "fetched from " + remote
		if _, err := c.r.Repo().Fetch(ctx, remote, pr.Base, c.opts.Auth); err != nil {
			why = err.Error()
		}
		if rev == pr.Base || rev == "refs/heads/"+pr.Base {
			rev = c.trackingBase(pr.Base)
		}
		if cm, err := c.commitAt("base", rev, pr); err == nil && c.hasBase(ctx, cm.Hash, want) {
			c.r.Log().Warningf("the base %s was behind the forge's %s; judging against %s, fetched from %s", gitops.Short(c.base.Hash), shortSHA(want), gitops.Short(cm.Hash), remote)
			c.base = cm
			return nil
		}
	}
	return fmt.Errorf("checking pull request #%d: %w: the forge merges it into %s at %s, and the base here, %s at %s, does not contain it (%s): a change merged on %s since this clone fetched (a stricter policy, perhaps) would not be judged; fetch it (git fetch origin %s) or pass --remote origin (nothing was judged)",
		pr.Number, ErrStaleBase, pr.Base, shortSHA(want), rev, gitops.Short(c.base.Hash), why, pr.Base, pr.Base)
}

// hasBase reports whether the commit at is the forge's base sha or
// descends from it; false when sha is not in the clone.
func (c *checkRun) hasBase(ctx context.Context, at plumbing.Hash, sha string) bool {
	if at.String() == sha {
		return true
	}
	ok, err := c.r.Repo().IsAncestor(ctx, plumbing.NewHash(sha), at)
	return err == nil && ok
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

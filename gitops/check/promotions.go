package check

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/ledger"
	"github.com/modelgit/modelgit/gitops/repo"
	"github.com/modelgit/modelgit/manifests"
	"github.com/modelgit/modelgit/policies"
)

// promo is one changed release as promotions judges it.
type promo struct {
	cp        CheckedPromotion
	candidate *gitops.VersionRef
	baseline  *gitops.VersionRef
	ap        *gitops.AppliedPolicy
	// undeclared: the environment is not in the base's modelgit.yaml
	// (the pull request declares it), so no order of the base applies.
	undeclared bool
}

// label names p in messages: "model from → to in env".
func (p promo) label() string {
	if p.candidate == nil {
		return fmt.Sprintf("%s %s → %s", p.cp.Model, orNone(p.cp.From), p.cp.Environment)
	}
	return fmt.Sprintf("%s %s → %s in %s", p.cp.Model, orNone(p.cp.From), p.cp.To, p.cp.Environment)
}

// promotions judges each changed release: gates, order and soak, under
// the policy read from the base.
func (c *checkRun) promotions(ctx context.Context, changed []changedPath) error {
	ps, unparsed, releases, err := c.collectPromotions(changed)
	if err != nil {
		return err
	}
	if releases == 0 {
		c.skip(CheckUpToDate, "no release changed")
	}
	c.summarize(CheckUpToDate, fmt.Sprintf("no release the pull request changes changed on %s since it branched", c.baseName), fmt.Sprintf("behind its base: a release it changes changed on %s since it branched", c.baseName))
	if len(ps) == 0 {
		c.noPromotions(unparsed)
		return nil
	}
	runOf, err := c.runsAtBase(ctx, ps)
	if err != nil {
		return err
	}
	now := c.opts.Now
	if now.IsZero() {
		now = c.r.Now()
	}
	gatesRun, orderRun, soakRun := 0, 0, 0
	for _, p := range ps {
		c.rep.Promotions = append(c.rep.Promotions, p.cp)
		if p.candidate == nil {
			c.removedRelease(p)
			continue
		}
		gatesRun++
		c.judgeGates(p)
		v := p.candidate.Manifest.Version
		here, prev := runOf(p.cp.Environment, p.cp.Model, v), ledger.Run{}
		if p.ap.From != "" {
			prev = runOf(p.ap.From, p.cp.Model, v)
		}
		if c.judgeOrder(p, here, prev) {
			orderRun++
		}
		if c.judgeSoak(p, here, prev, now) {
			soakRun++
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

// collectPromotions finds the promotion of each changed release file,
// with the policy of its environment; a release whose policy does not
// parse fails gates and approvals and is left out of ps, saying why in
// unparsed. releases counts the releases changed.
func (c *checkRun) collectPromotions(changed []changedPath) (ps []promo, unparsed []string, releases int, err error) {
	requested := c.requestedBy()
	for _, ch := range changed {
		p, ok, err := c.promoOf(ch, requested)
		if err != nil {
			return nil, nil, 0, err
		}
		if !ok {
			continue
		}
		releases++
		if err := c.upToDate(ch.Path, p.cp); err != nil {
			return nil, nil, 0, err
		}
		if p.ap, err = c.policy(p.cp.Environment); err != nil {
			env := p.cp.Environment
			c.fail(CheckGates, fmt.Sprintf("the policy of %s on the base does not parse: %v", env, err))
			c.fail(CheckApprovals, fmt.Sprintf("the policy of %s on the base does not parse, so nobody can approve under it", env))
			unparsed = append(unparsed, fmt.Sprintf("the policy of %s on the base %s does not parse (%v)", env, gitops.Short(c.base.Hash), err))
			c.rep.Promotions = append(c.rep.Promotions, p.cp)
			continue
		}
		ps = append(ps, p)
	}
	return ps, unparsed, releases, nil
}

// promoOf reads the promotion a changed path makes, when it is a valid
// release file (ok); what the manifests check reports is left to it.
func (c *checkRun) promoOf(ch changedPath, requested string) (p promo, ok bool, err error) {
	parts := strings.Split(ch.Path, "/")
	if len(parts) != 3 || parts[0] != manifests.EnvironmentsDir || !strings.HasSuffix(parts[2], ".yaml") {
		return p, false, nil
	}
	env, model := parts[1], strings.TrimSuffix(parts[2], ".yaml")
	if c.headReg.CheckEnv(env) != nil || manifests.ValidName(model) != nil {
		return p, false, nil // reported by the manifests check
	}
	// What the pull request changes is its release against the merge
	// base (the candidate); what runs now, the baseline, is the base
	// tip's. When the base changed this release meanwhile, the two
	// differ, and the pull request is behind.
	forkRel, _ := c.r.ReleaseAt(c.mergeBase.Hash, env, model)
	baseRel, _ := c.r.ReleaseAt(c.base.Hash, env, model)
	headRel, err := c.r.ReleaseAt(c.head.Hash, env, model)
	if err != nil && !ch.Deleted {
		return p, false, nil // reported by the manifests check
	}
	p = promo{cp: CheckedPromotion{Model: model, Environment: env, RequestedBy: requested}, undeclared: c.baseReg.CheckEnv(env) != nil}
	if v, ok := gitops.CurrentStable(baseRel); ok {
		p.cp.From = v.Version.String()
		p.baseline, _ = c.r.ReadVersion(c.base.Hash, manifests.VersionFile(model, v.Version.String()))
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
		p.candidate, _ = c.r.ReadVersion(c.head.Hash, manifests.VersionFile(model, cand.String()))
	} else {
		p.cp.Strategy = "removed"
	}
	return p, true, nil
}

// noPromotions skips gates, order and soak when no release was judged,
// saying why.
func (c *checkRun) noPromotions(unparsed []string) {
	c.summarize(CheckGates, "", "a policy on the base does not parse")
	c.skip(CheckGates, "no release changed")
	if len(unparsed) > 0 {
		// The releases did change: say why they were not judged.
		c.skip(CheckOrder, "not checked: "+strings.Join(unparsed, "; "))
		c.skip(CheckSoak, "not checked: "+strings.Join(unparsed, "; "))
		return
	}
	c.skip(CheckOrder, "no release changed")
	c.skip(CheckSoak, "no release changed")
}

// runsAtBase reads the ledger at the base, for every release file order
// and soak ask about, in one scan, and returns the lookup of a version's
// latest run there.
func (c *checkRun) runsAtBase(ctx context.Context, ps []promo) (func(env, model string, v manifests.Version) ledger.Run, error) {
	var keys []ledger.Key
	for _, p := range ps {
		if p.candidate == nil {
			continue
		}
		keys = append(keys, ledger.Key{Env: p.cp.Environment, Model: p.cp.Model})
		if p.ap.From != "" {
			keys = append(keys, ledger.Key{Env: p.ap.From, Model: p.cp.Model})
		}
	}
	served, err := c.r.ServedMany(ctx, c.base.Hash, keys)
	if err != nil {
		return nil, fmt.Errorf("reading the release history: %w", err)
	}
	return func(env, model string, v manifests.Version) ledger.Run {
		run, _ := ledger.LatestRun(served[ledger.Key{Env: env, Model: model}][v.String()])
		return run
	}, nil
}

// removedRelease judges a release that promotes no registered version:
// removed (no gate applies) or naming a version the head lacks.
func (c *checkRun) removedRelease(p promo) {
	if p.cp.To == "" {
		c.pass(CheckGates, fmt.Sprintf("%s: the release is removed; no gate applies", p.cp.Model+" in "+p.cp.Environment))
		return
	}
	c.fail(CheckGates, fmt.Sprintf("%s %s: not registered at the head", p.cp.Model, p.cp.To))
}

// judgeGates evaluates p's policy on its candidate against the baseline.
func (c *checkRun) judgeGates(p promo) {
	model := c.modelAt(c.head.Hash, p.cp.Model)
	cand := policies.FromVersion(p.candidate.Manifest, model)
	var baseline *policies.Subject
	if p.baseline != nil && p.baseline.Manifest.Version != p.candidate.Manifest.Version {
		b := policies.FromVersion(p.baseline.Manifest, c.modelAt(c.base.Hash, p.cp.Model))
		baseline = &b
	}
	for _, g := range p.ap.Policy.Evaluate(cand, baseline) {
		// A gate's message may hold one line per metric (the default
		// gate): each becomes a detail of its own, so that the CLI and
		// the pull request comment, which print a detail per line, keep
		// them apart.
		msg := strings.Split(strings.TrimRight(g.Message, "\n"), "\n")
		if g.Skipped {
			msg[0] += " (skipped)"
		}
		for _, m := range msg {
			line := fmt.Sprintf("%s: gate %s: %s", p.label(), g.Name, m)
			if g.Passed || g.Skipped {
				c.pass(CheckGates, line)
			} else {
				c.fail(CheckGates, line)
			}
		}
	}
}

// judgeOrder checks that p's candidate ran in the policy's from
// environment (here: its latest run in p's environment, prev: in from),
// and reports whether an order applied.
func (c *checkRun) judgeOrder(p promo, here, prev ledger.Run) bool {
	label := p.label()
	switch {
	case p.undeclared:
		c.fail(CheckOrder, fmt.Sprintf("%s: %s is not an environment in %s at the base %s, so no order applies to it; declare it in a pull request of its own and promote once that has merged", label, p.cp.Environment, manifests.ConfigFile, gitops.Short(c.base.Hash)))
	case p.ap.From == "":
		c.pass(CheckOrder, fmt.Sprintf("%s: %s is the first environment", label, p.cp.Environment))
		return false
	case !here.Commit.IsZero() && !here.Now:
		c.pass(CheckOrder, fmt.Sprintf("%s: a rollback; %s served in %s before (from %s)", label, p.cp.To, p.cp.Environment, gitops.Short(here.Commit)))
	case prev.Commit.IsZero():
		msg := fmt.Sprintf("%s: %s has not run in %q (policy order: %s first)", label, p.cp.To, p.ap.From, p.ap.From)
		if forced := c.trailer("Forced"); forced != "" {
			msg += "; the promotion was forced: " + forced
		}
		c.fail(CheckOrder, msg)
	default:
		c.pass(CheckOrder, fmt.Sprintf("%s: ran in %s since %s (%s)", label, p.ap.From, prev.Since.UTC().Format(time.RFC3339), gitops.Short(prev.Commit)))
	}
	return true
}

// judgeSoak checks that p's candidate served in the from environment for
// the policy's soak time by now, and reports whether a soak applied.
func (c *checkRun) judgeSoak(p promo, here, prev ledger.Run, now time.Time) bool {
	label := p.label()
	soak := time.Duration(p.ap.Policy.Soak)
	switch {
	case soak == 0:
		return false
	case p.ap.From == "" || (!here.Commit.IsZero() && !here.Now):
		c.pass(CheckSoak, fmt.Sprintf("%s: no soak applies", label))
		return false
	case prev.Commit.IsZero():
		c.fail(CheckSoak, fmt.Sprintf("%s: needs %s in %s; it has not run there", label, p.ap.Policy.Soak, p.ap.From))
		return true
	}
	ran := now.Sub(prev.Since)
	if ran >= soak {
		c.pass(CheckSoak, fmt.Sprintf("%s: ran %s in %s (policy: %s)", label, roundDuration(ran), p.ap.From, p.ap.Policy.Soak))
	} else {
		c.fail(CheckSoak, fmt.Sprintf("%s: ran %s in %s, the policy asks %s (mergeable after %s)", label, roundDuration(ran), p.ap.From, p.ap.Policy.Soak, prev.Since.Add(soak).UTC().Format(time.RFC3339)))
	}
	return true
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

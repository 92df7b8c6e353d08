package ledger

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/repo"
	"github.com/modelgit/modelgit/manifests"
)

// EventScanner turns scanned commits into events; it keeps the parsed
// Release blobs, since a blob fetched for one commit is not fetched again
// until the scan lets go of it (Forget).
type EventScanner struct {
	ctx      context.Context
	repo     *repo.Repo
	judge    gitops.CommitJudge
	releases map[plumbing.Hash]*ReleaseState
}

// NewEventScanner returns a scanner that judges signatures with j (the
// signers in force at each commit's first parent: gitops.HistoryJudge)
// and reads, from rp, the commits a merge brings in when its second
// parent is not the promotion commit.
func NewEventScanner(ctx context.Context, rp *repo.Repo, j gitops.CommitJudge) *EventScanner {
	return &EventScanner{ctx: ctx, repo: rp, judge: j, releases: map[plumbing.Hash]*ReleaseState{}}
}

// ScanEvents scans the first-parent history of tip (down to, not
// including, stop when not zero) for changes of the release files of envs
// (and of model, when not "") and calls fn with each commit's events,
// newest first. Signatures are judged by j. The events' times are the
// commits' own; listed is called, before fn is first, with the
// first-parent commits the scan lists, from which a clamper dates them on
// the first-parent line.
func (r *Ledger) ScanEvents(ctx context.Context, tip, stop plumbing.Hash, j gitops.CommitJudge, envs []string, model string, listed func(repo.ScanResult) error, fn func(*repo.FPCommit, []AuditEvent) error) (repo.ScanResult, error) {
	s := NewEventScanner(ctx, r.Repo(), j)
	return r.Repo().ScanReleasesListed(ctx, tip, stop, envs, model, false, listed, func(c *repo.FPCommit) error {
		evs, err := s.Events(c)
		if err != nil {
			return err
		}
		s.Forget(c.Forget)
		return fn(c, evs)
	})
}

// Forget drops the parsed release blobs hs (FPCommit.Forget), which the
// scan hands over again when a later commit needs one: what the scanner
// keeps is then bounded by the scan, not by the history. Events already
// built keep the states they point to.
func (s *EventScanner) Forget(hs []plumbing.Hash) {
	for _, h := range hs {
		delete(s.releases, h)
	}
}

// Release parses a release blob (cached by hash); zero hash: no file.
func (s *EventScanner) Release(file string, h plumbing.Hash, objects map[plumbing.Hash][]byte) *ReleaseState {
	if h.IsZero() {
		return nil
	}
	if st, ok := s.releases[h]; ok {
		return st
	}
	raw, ok := objects[h]
	if !ok {
		return &ReleaseState{Error: "blob " + h.String() + " was not read"}
	}
	st := StateOf(file, raw)
	s.releases[h] = st
	return st
}

// StateOf parses a release file's content.
func StateOf(file string, raw []byte) *ReleaseState {
	rel, ok := fastRelease(raw)
	var err error
	if !ok {
		rel, err = manifests.ParseRelease(file, raw)
	}
	if err != nil {
		return &ReleaseState{Error: err.Error(), Versions: []manifests.ReleasedVersion{}}
	}
	vs := rel.Versions
	if vs == nil {
		vs = []manifests.ReleasedVersion{}
	}
	return &ReleaseState{Strategy: rel.Strategy, Match: rel.Match, Versions: vs}
}

// Serving reports whether st routes traffic to v.
func (st *ReleaseState) Serving(v string) bool {
	if st == nil {
		return false
	}
	for _, rv := range st.Versions {
		if rv.Version.String() == v && (rv.Weight == nil || *rv.Weight > 0) {
			return true
		}
	}
	return false
}

// Parsed reports whether st is a release file that parsed, or no file.
func (st *ReleaseState) Parsed() bool { return st == nil || st.Error == "" }

// Main is the first version st lists; "" for none.
func (st *ReleaseState) Main() string {
	if st == nil || len(st.Versions) == 0 {
		return ""
	}
	return st.Versions[0].Version.String()
}

// trailerGroup is one model's trailers of a promotion commit.
type trailerGroup map[string]string

var perModelKeys = map[string]bool{
	"model": true, "model-version": true, "model-digest": true, "previous-version": true,
	"strategy": true, "forced": true, "rollback": true,
}

// PromotionTrailers splits a promotion commit's trailers into one group
// per model (each starts at "Model:") and the common ones (Environment,
// Requested-by), keys lowercased.
func PromotionTrailers(msg string) (groups []trailerGroup, common map[string][]string) {
	common = map[string][]string{}
	var cur trailerGroup
	for _, t := range repo.ParseTrailers(msg) {
		k := strings.ToLower(t.Key)
		switch {
		case k == "model":
			cur = trailerGroup{k: t.Value}
			groups = append(groups, cur)
		case perModelKeys[k] && cur != nil:
			cur[k] = t.Value
		default:
			common[k] = append(common[k], t.Value)
		}
	}
	return groups, common
}

var (
	mergePRRE  = regexp.MustCompile(`^Merge pull request #(\d+) from `)
	revertRE   = regexp.MustCompile(`This reverts commit ([0-9a-f]{40})`)
	prNumberRE = regexp.MustCompile(`(\d+)\s*$`)
)

func first(m map[string][]string, k string) string {
	if v := m[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// source is a commit that may explain a change: a promotion commit (its
// trailer groups) or a `git revert`.
type source struct {
	commit  *object.Commit
	groups  []trailerGroup
	common  map[string][]string
	reverts string
}

func newSource(c *object.Commit) *source {
	groups, common := PromotionTrailers(c.Message)
	src := &source{commit: c, groups: groups, common: common}
	if m := revertRE.FindStringSubmatch(c.Message); m != nil {
		src.reverts = m[1]
	}
	return src
}

// group is src's trailer group for model; nil when it has none.
func (src *source) group(model string) trailerGroup {
	for _, g := range src.groups {
		if g["model"] == model {
			return g
		}
	}
	return nil
}

// mergeTrailers says whether a merge commit's trailers are modelgit's.
func mergeTrailers(mt map[string][]string) bool {
	return len(mt["approved-by"]) > 0 || first(mt, "policy") != "" || first(mt, "pull-request") != ""
}

// mergeVia is how a merge with modelgit's trailers (mt) was made: by
// merge --local (Merge-Method: local), else through the forge.
func mergeVia(mt map[string][]string) string {
	if strings.EqualFold(first(mt, "merge-method"), "local") {
		return ViaLocal
	}
	return ViaModelgit
}

// commitEvents is what the events of one first-parent commit share while
// they are built: the commit, the event fields it sets, and the commits
// that may explain its changes (a direct commit itself; for a merge its
// second parent, then — read only when needed — the other commits it
// brings in).
type commitEvents struct {
	c       *repo.FPCommit
	commit  *object.Commit
	base    AuditEvent
	sources []*source
	// brought says whether sources holds every commit the merge brings in.
	brought bool
}

// Events builds the events of one first-parent commit.
func (s *EventScanner) Events(c *repo.FPCommit) ([]AuditEvent, error) {
	var changes []repo.RawChange
	for _, ch := range c.Changes {
		if _, _, ok := SplitReleasePath(ch.Path); ok {
			changes = append(changes, ch)
		}
	}
	if len(changes) == 0 {
		return nil, nil
	}
	ce, err := s.newCommitEvents(c)
	if err != nil {
		return nil, err
	}
	var out []AuditEvent
	for _, ch := range changes {
		ev, err := s.changeEvent(ce, ch)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// newCommitEvents reads a first-parent commit (and a merge's second
// parent) and sets the fields its events share.
func (s *EventScanner) newCommitEvents(c *repo.FPCommit) (*commitEvents, error) {
	commit, err := repo.LightCommit(c.Hash, c.Objects[c.Hash])
	if err != nil {
		return nil, err
	}
	sig, err := s.judge.Judge(commit)
	if err != nil {
		return nil, err
	}
	ce := &commitEvents{c: c, commit: commit, base: AuditEvent{
		Time:       commit.Committer.When.UTC(),
		Commit:     c.Hash.String(),
		Subject:    gitops.FirstLine(commit.Message),
		Signature:  sig,
		ApprovedBy: []string{},
	}}
	if len(c.Parents) < 2 {
		ce.base.Via = ViaDirect
		ce.sources = []*source{newSource(commit)}
		return ce, nil
	}
	_, mt := PromotionTrailers(commit.Message)
	setMergeFields(&ce.base, commit, mt)
	ce.base.Via = ViaOutside
	if mergeTrailers(mt) {
		ce.base.Via = mergeVia(mt)
	}
	if raw, ok := c.Objects[c.Parents[1]]; ok {
		p2, err := repo.LightCommit(c.Parents[1], raw)
		if err != nil {
			return nil, err
		}
		ce.sources = []*source{newSource(p2)}
	}
	return ce, nil
}

// setMergeFields sets what a merge commit's trailers (mt) say: approvers,
// policy, the head checked, who merged and the pull request.
func setMergeFields(ev *AuditEvent, merge *object.Commit, mt map[string][]string) {
	ev.ApprovedBy = append([]string{}, mt["approved-by"]...)
	ev.Policy = first(mt, "policy")
	ev.CheckedHead = first(mt, "checked-head")
	ev.MergedBy = first(mt, "merged-by")
	if ev.MergedBy == "" {
		ev.MergedBy = gitops.FormatIdentity(merge.Author)
	}
	ev.PullRequest = 0
	if pr := first(mt, "pull-request"); pr != "" {
		if m := prNumberRE.FindStringSubmatch(pr); m != nil {
			ev.PullRequest, _ = strconv.Atoi(m[1])
		}
	} else if m := mergePRRE.FindStringSubmatch(gitops.FirstLine(merge.Message)); m != nil {
		ev.PullRequest, _ = strconv.Atoi(m[1])
	}
}

// explaining finds the commit that explains a change of model's release
// file: the first source with a trailer group for model, else the first
// revert, looking into every commit a merge brings in when its second
// parent is neither (a reviewer's commit on top of the promotion, a
// `git pull` merge). Nil, nil when none does.
func (s *EventScanner) explaining(ce *commitEvents, model string) (*source, trailerGroup, error) {
	for {
		for _, src := range ce.sources {
			if g := src.group(model); g != nil {
				return src, g, nil
			}
		}
		for _, src := range ce.sources {
			if src.reverts != "" {
				return src, nil, nil
			}
		}
		if ce.brought || len(ce.c.Parents) < 2 || s.repo == nil || len(ce.sources) == 0 {
			return nil, nil, nil
		}
		if err := s.bringIn(ce); err != nil {
			return nil, nil, err
		}
	}
}

// bringIn adds to ce's sources the commits its merge brings in besides
// the second parent, newest first.
func (s *EventScanner) bringIn(ce *commitEvents) error {
	ce.brought = true
	p1, p2 := ce.c.Parents[0], ce.c.Parents[1]
	hs, err := s.repo.Brought(s.ctx, p1, p2)
	if err != nil {
		return err
	}
	hs = slices.DeleteFunc(hs, func(h plumbing.Hash) bool { return h == p2 })
	objs, err := s.repo.ReadObjects(s.ctx, hs)
	if err != nil {
		return err
	}
	for _, h := range hs {
		c, err := repo.LightCommit(h, objs[h])
		if err != nil {
			return err
		}
		ce.sources = append(ce.sources, newSource(c))
	}
	return nil
}

// approvingMerge is, among the commits a `git pull` merge brings in, the
// modelgit merge that merged the promotion commit h; nil when none.
func approvingMerge(ce *commitEvents, h plumbing.Hash) *source {
	for _, src := range ce.sources {
		c := src.commit
		if len(c.ParentHashes) > 1 && slices.Contains(c.ParentHashes[1:], h) && mergeTrailers(src.common) {
			return src
		}
	}
	return nil
}

// changeEvent builds the event of one changed release file of ce.
func (s *EventScanner) changeEvent(ce *commitEvents, ch repo.RawChange) (AuditEvent, error) {
	env, model, _ := SplitReleasePath(ch.Path)
	ev := ce.base
	ev.ApprovedBy = slices.Clone(ce.base.ApprovedBy)
	ev.Environment, ev.Model = env, model
	ev.From = s.Release(ch.Path, ch.Old, ce.c.Objects)
	ev.To = s.Release(ch.Path, ch.New, ce.c.Objects)
	src, g, err := s.explaining(ce, model)
	if err != nil {
		return ev, err
	}
	if src != nil {
		err = s.attribute(ce, &ev, src, g, ch.Path)
	} else if len(ce.sources) > 0 {
		// Neither a promotion nor a revert: the change is the commit's, or
		// the merged head's.
		err = s.setChange(&ev, ce.sources[0].commit)
	}
	if err != nil {
		return ev, err
	}
	setVersions(&ev, g)
	if ev.Via == ViaDirect && g != nil {
		ev.Notes = append(ev.Notes, "promotion committed straight to the branch, without a pull request")
	}
	ev.Action = actionOf(&ev, g)
	ev.Description = describe(&ev)
	ev.Notes = append(ev.Notes, signatureNotes(&ev)...)
	return ev, nil
}

// setChange makes c the event's change commit.
func (s *EventScanner) setChange(ev *AuditEvent, c *object.Commit) error {
	ev.ChangeCommit = c.Hash.String()
	if ev.ChangeCommit != ev.Commit {
		cs, err := s.judge.Judge(c)
		if err != nil {
			return err
		}
		ev.ChangeSignature = &cs
	}
	return nil
}

// attribute fills in what the explaining commit src (and its trailer
// group g for the model, if any) says about the change of file.
func (s *EventScanner) attribute(ce *commitEvents, ev *AuditEvent, src *source, g trailerGroup, file string) error {
	if err := s.setChange(ev, src.commit); err != nil {
		return err
	}
	ev.Reverts = src.reverts
	if g != nil {
		ev.Reverts = ""
		ev.RequestedBy = first(src.common, "requested-by")
		if te := first(src.common, "environment"); te != "" && te != ev.Environment {
			ev.Notes = append(ev.Notes, fmt.Sprintf("the commit's Environment trailer says %q but it changes %s", te, file))
		}
	}
	if len(ce.sources) == 0 || src == ce.sources[0] {
		return nil
	}
	// Not the head of the merged branch.
	ev.Notes = append(ev.Notes, fmt.Sprintf("the change commit %s is not the head of the merged branch (%s is): later commits were merged with it", src.commit.Hash.String()[:12], ce.sources[0].commit.Hash.String()[:12]))
	if Reviewed(ev.Via) {
		return nil
	}
	if m := approvingMerge(ce, src.commit.Hash); m != nil {
		// A `git pull` merge of a modelgit merge: the approvals are that
		// merge's.
		setMergeFields(ev, m.commit, m.common)
		ev.Via = mergeVia(m.common)
		ev.Notes = append(ev.Notes, fmt.Sprintf("merged by modelgit in %s, which reached the branch through the merge %s (a `git pull` merge)", m.commit.Hash.String()[:12], ev.Commit[:12]))
	}
	return nil
}

// setVersions sets the versions and strategy of an event, from the
// trailer group g of its promotion commit when there is one.
func setVersions(ev *AuditEvent, g trailerGroup) {
	ev.FromVersion = ev.From.Main()
	ev.ToVersion = ev.To.Main()
	if g != nil {
		if v := g["model-version"]; v != "" && ev.To != nil {
			if slices.ContainsFunc(ev.To.Versions, func(rv manifests.ReleasedVersion) bool { return rv.Version.String() == v }) {
				ev.ToVersion = v
			} else {
				ev.Notes = append(ev.Notes, fmt.Sprintf("the Model-Version trailer names %s, which the release file does not list", v))
			}
		}
		ev.Strategy = g["strategy"]
		ev.Forced = g["forced"]
		ev.Rollback = g["rollback"]
	} else if ev.To != nil && ev.From != nil {
		// No trailers: the version that is new, else the main one.
		for _, rv := range ev.To.Versions {
			if !slices.ContainsFunc(ev.From.Versions, func(o manifests.ReleasedVersion) bool { return o.Version == rv.Version }) {
				ev.ToVersion = rv.Version.String()
				break
			}
		}
	}
	if ev.Strategy == "" && ev.To != nil && ev.To.Error == "" {
		rel := &manifests.Release{Strategy: ev.To.Strategy, Match: ev.To.Match, Versions: ev.To.Versions}
		if v, err := manifests.ParseVersion(ev.ToVersion); err == nil {
			ev.Strategy = gitops.StrategyTrailer(rel, v)
		}
	}
}

func actionOf(ev *AuditEvent, g trailerGroup) string {
	switch {
	case ev.Reverts != "":
		return ActionRevert
	case ev.To == nil:
		return ActionRemove
	case ev.Rollback != "":
		return ActionRollback
	case g != nil:
		return ActionPromote
	}
	return ActionEdit
}

// signatureNotes explains a signature that does not verify.
func signatureNotes(ev *AuditEvent) []string {
	switch cs := ev.ChangeSignature; {
	case ev.Signature.Trusted:
		return nil
	case !ev.Signature.Signed && cs != nil && cs.Trusted:
		// The forge's merge button: the merge is unsigned, what it merges
		// is signed (verify accepts it when it adds nothing).
		return []string{"the merge commit is unsigned (a forge merge); the change it merges is signed by " + cs.Signer}
	case cs != nil && cs.Trusted:
		// A merge the forge signed with its own key (GitHub's web-flow
		// key), not an allowed signer's: the change it merges vouches for
		// it, as above.
		return []string{"the merge commit is signed by a key not in allowed_signers (the forge's own, for a forge merge); the change it merges is signed by " + cs.Signer}
	}
	return []string{"the commit's signature does not verify: " + gitops.SigReason(ev.Signature)}
}

// describe says what happened when from → to would not: a release file
// that does not parse (Flux cannot apply it, what ran goes on running),
// one that parses again, a rollback that aborts a canary (or an A/B test,
// a standby) and keeps the version that was already serving.
func describe(ev *AuditEvent) string {
	switch {
	case !ev.To.Parsed() && !ev.From.Parsed():
		return "still unreadable, still serving what it served before"
	case !ev.To.Parsed() && servingList(ev.From) == "":
		return "unreadable, nothing was serving"
	case !ev.To.Parsed():
		return "unreadable, still serving " + servingList(ev.From)
	case !ev.From.Parsed() && ev.To != nil:
		return "readable again: " + servingList(ev.To)
	case ev.Rollback == "" || ev.From == nil || ev.To == nil:
		return ""
	}
	stays := ev.To.Main()
	if stays == "" || !ev.From.Serving(stays) {
		return ""
	}
	var out []string
	for _, rv := range ev.From.Versions {
		if v := rv.Version.String(); ev.From.Serving(v) && !ev.To.Serving(v) {
			out = append(out, roleWord(rv, ev.From.Strategy, false)+v)
		}
	}
	if len(out) == 0 {
		return ""
	}
	return fmt.Sprintf("%s aborted, %s%s stays", strings.Join(out, " and "), roleWord(ev.From.Versions[slices.IndexFunc(ev.From.Versions, func(rv manifests.ReleasedVersion) bool { return rv.Version.String() == stays })], ev.From.Strategy, true), stays)
}

// roleWord names a version's part in a release ("canary ", "stable "):
// its role, else what the strategy calls the first (main) or another one.
func roleWord(rv manifests.ReleasedVersion, strategy string, main bool) string {
	if rv.Role != "" {
		return rv.Role + " "
	}
	names := map[string][2]string{
		manifests.StrategyCanary: {"stable", "canary"}, manifests.StrategyAB: {"a", "b"},
		manifests.StrategyBlueGreen: {"active", "standby"},
	}[strategy]
	switch {
	case names[0] == "":
		return ""
	case main:
		return names[0] + " "
	}
	return names[1] + " "
}

// servingList lists the versions st routes traffic to, with their weight
// when they share it: "1.0.0 (90%) and 1.1.0 (10%)".
func servingList(st *ReleaseState) string {
	if st == nil {
		return ""
	}
	var out []string
	for _, rv := range st.Versions {
		switch {
		case rv.Weight == nil:
			out = append(out, rv.Version.String())
		case *rv.Weight > 0 && *rv.Weight < 100:
			out = append(out, fmt.Sprintf("%s (%d%%)", rv.Version, *rv.Weight))
		case *rv.Weight > 0:
			out = append(out, rv.Version.String())
		}
	}
	return strings.Join(out, " and ")
}

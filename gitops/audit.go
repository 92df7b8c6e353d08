package gitops

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/modelgit/modelgit/gitops/repo"
	"github.com/modelgit/modelgit/manifests"
)

// TimeBasis is how audit answers date events; every answer states it.
const TimeBasis = "committer time of the commit on the first-parent history of the followed branch (for a pull request, its merge commit)"

// Audit actions.
const (
	ActionPromote  = "promote"  // a promotion with modelgit's trailers
	ActionRollback = "rollback" // a promotion with a Rollback trailer
	ActionRevert   = "revert"   // a `git revert` of an earlier commit
	ActionRemove   = "remove"   // the release file was deleted
	ActionEdit     = "edit"     // a change without modelgit's trailers
)

// How a change reached the followed branch.
const (
	ViaModelgit = "modelgit merge"          // merge commit with Approved-by/Policy/Pull-Request trailers
	ViaOutside  = "merged outside modelgit" // a merge commit without them (the forge's button, git merge)
	ViaDirect   = "direct commit"           // a commit straight on the branch, no pull request
)

// ReleaseState is a release file's content as audit reports it.
type ReleaseState struct {
	Strategy string                      `json:"strategy"`
	Match    string                      `json:"match,omitempty"`
	Versions []manifests.ReleasedVersion `json:"versions"`
	// Error says why the file did not parse; Versions is then empty.
	Error string `json:"error,omitempty"`
}

// AuditEvent is one change of one release file on the followed branch.
type AuditEvent struct {
	Time         time.Time     `json:"time"`
	Environment  string        `json:"environment"`
	Model        string        `json:"model"`
	Action       string        `json:"action"`
	FromVersion  string        `json:"fromVersion,omitempty"`
	ToVersion    string        `json:"toVersion,omitempty"`
	From         *ReleaseState `json:"from"`
	To           *ReleaseState `json:"to"`
	Strategy     string        `json:"strategy,omitempty"`
	Forced       string        `json:"forced,omitempty"`
	Rollback     string        `json:"rollback,omitempty"`
	RequestedBy  string        `json:"requestedBy,omitempty"`
	ApprovedBy   []string      `json:"approvedBy"`
	MergedBy     string        `json:"mergedBy,omitempty"`
	Policy       string        `json:"policy,omitempty"`
	PullRequest  int           `json:"pullRequest,omitempty"`
	CheckedHead  string        `json:"checkedHead,omitempty"`
	Via          string        `json:"via"`
	Commit       string        `json:"commit"`
	ChangeCommit string        `json:"changeCommit,omitempty"`
	Reverts      string        `json:"reverts,omitempty"`
	Subject      string        `json:"subject"`
	Signature    SignatureInfo `json:"signature"`
	// ChangeSignature is that of ChangeCommit when it is not Commit.
	ChangeSignature *SignatureInfo `json:"changeSignature,omitempty"`
	Notes           []string       `json:"notes,omitempty"`
}

// AuditOptions select what Audit reports; zero values select everything.
type AuditOptions struct {
	Env, Model   string
	Since, Until time.Time
	// Progress, when set, is called with the number of commits scanned.
	Progress func(commits int)
}

// AuditReport is the answer of Audit.
type AuditReport struct {
	TimeBasis string `json:"timeBasis"`
	// Branches are the followed branches scanned and their tips.
	Branches []BranchTip `json:"branches"`
	// Rewrites are the history rewrites of a followed branch ever detected.
	Rewrites []Rewrite `json:"rewrites"`
	// Events are oldest first.
	Events []AuditEvent `json:"events"`
}

// BranchTip is a followed branch and the commit it pointed to when read.
type BranchTip struct {
	Branch       string   `json:"branch"`
	Tip          string   `json:"tip"`
	Environments []string `json:"environments"`
}

// followedBranches maps each followed branch to the environments that
// follow it (env's Branch, or the current branch).
func (r *Registry) followedBranches(env string) (map[string][]string, error) {
	if env != "" {
		if err := r.checkEnv(env); err != nil {
			return nil, err
		}
	}
	_, current, err := r.repo.Head()
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, e := range r.config.Environments {
		if env != "" && e.Name != env {
			continue
		}
		b := e.Branch
		if b == "" {
			b = current
		}
		if b == "" {
			return nil, fmt.Errorf("auditing %q: HEAD is detached and modelgit.yaml names no branch for it; check out the branch Flux follows", e.Name)
		}
		out[b] = append(out[b], e.Name)
	}
	return out, nil
}

// Audit lists every change of a release file on the first-parent history
// of the followed branch(es): promotions, rollbacks, reverts and edits,
// with who asked, who approved, who merged and the signatures, oldest
// first. It also checks the branch against the position recorded by the
// last run and reports a history rewrite. The events come from, and go
// to, the audit cache (AuditCacheFile): only commits it does not cover
// are scanned.
func (r *Registry) Audit(ctx context.Context, opts AuditOptions) (*AuditReport, error) {
	branches, err := r.followedBranches(opts.Env)
	if err != nil {
		return nil, err
	}
	rep := &AuditReport{TimeBasis: TimeBasis, Rewrites: []Rewrite{}, Events: []AuditEvent{}}
	names := make([]string, 0, len(branches))
	for b := range branches {
		names = append(names, b)
	}
	slices.Sort(names)
	// The cache holds every environment of a branch, whichever is asked.
	envsOf, err := r.followedBranches("")
	if err != nil {
		return nil, err
	}
	scanned := 0
	modelSeen := false
	var tips []string
	for _, b := range names {
		tip, err := r.branchTip(ctx, b)
		if err != nil {
			return nil, err
		}
		rw, err := r.checkFollowed(ctx, b, tip)
		if err != nil {
			return nil, err
		}
		rep.Rewrites = append(rep.Rewrites, rw...)
		rep.Branches = append(rep.Branches, BranchTip{Branch: b, Tip: tip.String(), Environments: branches[b]})
		if tip.IsZero() {
			continue
		}
		progress := func() {
			scanned++
			if opts.Progress != nil && scanned%1000 == 0 {
				opts.Progress(scanned)
			}
		}
		all, err := r.branchEvents(ctx, b, tip, envsOf[b], progress)
		if err != nil {
			return nil, err
		}
		tips = append(tips, tip.String())
		for _, ev := range all {
			modelSeen = modelSeen || ev.Model == opts.Model
			switch {
			case !slices.Contains(branches[b], ev.Environment),
				opts.Model != "" && ev.Model != opts.Model,
				!opts.Since.IsZero() && ev.Time.Before(opts.Since),
				!opts.Until.IsZero() && ev.Time.After(opts.Until):
				continue
			}
			ev.ApprovedBy = slices.Clone(ev.ApprovedBy)
			rep.Events = append(rep.Events, ev)
		}
	}
	if opts.Progress != nil {
		opts.Progress(scanned)
	}
	if opts.Model != "" && !modelSeen {
		if err := r.checkAuditedModel(ctx, opts.Model, tips); err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(rep.Events, func(a, b AuditEvent) int { return a.Time.Compare(b.Time) })
	return rep, nil
}

// checkAuditedModel refuses a --model that names no model: not one under
// models/ at HEAD, nor one whose directory is in the history of the
// followed branches' tips (a model removed since is still audited).
func (r *Registry) checkAuditedModel(ctx context.Context, model string, tips []string) error {
	known, err := r.Models()
	if err != nil {
		return err
	}
	if slices.Contains(known, model) {
		return nil
	}
	if manifests.ValidName(model) == nil && len(tips) > 0 {
		seen, err := r.repo.EverTouched(ctx, tips, manifests.ModelsDir+"/"+model)
		if err != nil || seen {
			return err
		}
	}
	return fmt.Errorf("auditing: %w %q: it is not under %s/ and never was in the history audited (registered: %s)", ErrUnknownModel, model, manifests.ModelsDir, listOrNone(known))
}

// branchTip reads refs/heads/<branch>; zero when it does not exist yet.
func (r *Registry) branchTip(ctx context.Context, branch string) (plumbing.Hash, error) {
	return r.repo.BranchTip(ctx, branch)
}

// eventScanner turns scanned commits into events; it keeps the parsed
// release blobs, since a blob fetched for one commit is not fetched again.
type eventScanner struct {
	trust    *trust
	releases map[plumbing.Hash]*ReleaseState
	blobs    map[plumbing.Hash][]byte
}

// scanEvents scans the first-parent history of tip (down to, not
// including, stop when not zero) for changes of the release files of envs
// (and of model, when not "") and calls fn with each commit's events,
// newest first. Signatures are judged against the allowed signers t.
func (r *Registry) scanEvents(ctx context.Context, tip, stop plumbing.Hash, t *trust, envs []string, model string, fn func(*repo.FPCommit, []AuditEvent) error) (reached bool, err error) {
	s := &eventScanner{trust: t, releases: map[plumbing.Hash]*ReleaseState{}, blobs: map[plumbing.Hash][]byte{}}
	return r.repo.ScanReleases(ctx, tip, stop, envs, model, false, func(c *repo.FPCommit) error {
		evs, err := s.events(c)
		if err != nil {
			return err
		}
		return fn(c, evs)
	})
}

// release parses a release blob (cached by hash); zero hash: no file.
func (s *eventScanner) release(file string, h plumbing.Hash, objects map[plumbing.Hash][]byte) *ReleaseState {
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
	st := releaseState(file, raw)
	s.releases[h] = st
	return st
}

func releaseState(file string, raw []byte) *ReleaseState {
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

// serving reports whether st routes traffic to v.
func (st *ReleaseState) serving(v string) bool {
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

func (st *ReleaseState) main() string {
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

// promotionTrailers splits a promotion commit's trailers into one group
// per model (each starts at "Model:") and the common ones (Environment,
// Requested-by), keys lowercased.
func promotionTrailers(msg string) (groups []trailerGroup, common map[string][]string) {
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

// events builds the events of one first-parent commit.
func (s *eventScanner) events(c *repo.FPCommit) ([]AuditEvent, error) {
	var changes []repo.RawChange
	for _, ch := range c.Changes {
		if _, _, ok := splitReleasePath(ch.Path); ok {
			changes = append(changes, ch)
		}
	}
	if len(changes) == 0 {
		return nil, nil
	}
	commit, err := repo.LightCommit(c.Hash, c.Objects[c.Hash])
	if err != nil {
		return nil, err
	}
	sig := signatureInfo(commit, s.trust)
	base := AuditEvent{
		Time:       commit.Committer.When.UTC(),
		Commit:     c.Hash.String(),
		Subject:    firstLine(commit.Message),
		Signature:  sig,
		ApprovedBy: []string{},
	}
	change := commit
	if len(c.Parents) > 1 {
		_, mt := promotionTrailers(commit.Message)
		base.ApprovedBy = append(base.ApprovedBy, mt["approved-by"]...)
		base.Policy = first(mt, "policy")
		base.CheckedHead = first(mt, "checked-head")
		base.MergedBy = first(mt, "merged-by")
		if base.MergedBy == "" {
			base.MergedBy = formatIdentity(commit.Author)
		}
		if pr := first(mt, "pull-request"); pr != "" {
			if m := prNumberRE.FindStringSubmatch(pr); m != nil {
				base.PullRequest, _ = strconv.Atoi(m[1])
			}
		} else if m := mergePRRE.FindStringSubmatch(base.Subject); m != nil {
			base.PullRequest, _ = strconv.Atoi(m[1])
		}
		if len(mt["approved-by"]) > 0 || base.Policy != "" || first(mt, "pull-request") != "" {
			base.Via = ViaModelgit
		} else {
			base.Via = ViaOutside
		}
		p2 := c.Parents[1]
		if raw, ok := c.Objects[p2]; ok {
			if change, err = repo.LightCommit(p2, raw); err != nil {
				return nil, err
			}
			base.ChangeCommit = p2.String()
			cs := signatureInfo(change, s.trust)
			base.ChangeSignature = &cs
		}
	} else {
		base.Via = ViaDirect
		base.ChangeCommit = c.Hash.String()
		if m := revertRE.FindStringSubmatch(commit.Message); m != nil {
			base.Reverts = m[1]
		}
	}
	groups, common := promotionTrailers(change.Message)
	base.RequestedBy = first(common, "requested-by")
	trailerEnv := first(common, "environment")
	var out []AuditEvent
	for _, ch := range changes {
		env, model, _ := splitReleasePath(ch.Path)
		ev := base
		ev.ApprovedBy = slices.Clone(base.ApprovedBy)
		ev.Environment, ev.Model = env, model
		ev.From = s.release(ch.Path, ch.Old, c.Objects)
		ev.To = s.release(ch.Path, ch.New, c.Objects)
		var g trailerGroup
		for _, cand := range groups {
			if cand["model"] == model {
				g = cand
				break
			}
		}
		if g != nil && trailerEnv != "" && trailerEnv != env {
			ev.Notes = append(ev.Notes, fmt.Sprintf("the commit's Environment trailer says %q but it changes %s", trailerEnv, ch.Path))
		}
		ev.FromVersion = ev.From.main()
		ev.ToVersion = ev.To.main()
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
				ev.Strategy = strategyTrailer(rel, v)
			}
		}
		if base.Via == ViaDirect && g != nil {
			ev.Notes = append(ev.Notes, "promotion committed straight to the branch, without a pull request")
		}
		switch {
		case ev.Reverts != "":
			ev.Action = ActionRevert
		case ev.To == nil:
			ev.Action = ActionRemove
		case ev.Rollback != "":
			ev.Action = ActionRollback
		case g != nil:
			ev.Action = ActionPromote
		default:
			ev.Action = ActionEdit
		}
		switch cs := ev.ChangeSignature; {
		case ev.Signature.Trusted:
		case !ev.Signature.Signed && cs != nil && cs.Trusted:
			// The forge's merge button: the merge is unsigned, what it
			// merges is signed (verify accepts it when it adds nothing).
			ev.Notes = append(ev.Notes, "the merge commit is unsigned (a forge merge); the change it merges is signed by "+cs.Signer)
		default:
			ev.Notes = append(ev.Notes, "the commit's signature does not verify: "+sigReason(ev.Signature))
		}
		out = append(out, ev)
	}
	return out, nil
}

func sigReason(s SignatureInfo) string {
	if s.Reason != "" {
		return s.Reason
	}
	if !s.Signed {
		return "unsigned"
	}
	return "not by an allowed signer"
}

// splitReleasePath splits environments/<env>/<model>.yaml.
func splitReleasePath(p string) (env, model string, ok bool) {
	rest, ok := strings.CutPrefix(p, manifests.EnvironmentsDir+"/")
	if !ok {
		return "", "", false
	}
	env, file, ok := strings.Cut(rest, "/")
	if !ok || strings.Contains(file, "/") {
		return "", "", false
	}
	model, ok = strings.CutSuffix(file, ".yaml")
	return env, model, ok && model != ""
}

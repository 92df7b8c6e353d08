package ledger

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/modelgit/modelgit/gitops"
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
	Time         time.Time            `json:"time"`
	Environment  string               `json:"environment"`
	Model        string               `json:"model"`
	Action       string               `json:"action"`
	FromVersion  string               `json:"fromVersion,omitempty"`
	ToVersion    string               `json:"toVersion,omitempty"`
	From         *ReleaseState        `json:"from"`
	To           *ReleaseState        `json:"to"`
	Strategy     string               `json:"strategy,omitempty"`
	Forced       string               `json:"forced,omitempty"`
	Rollback     string               `json:"rollback,omitempty"`
	RequestedBy  string               `json:"requestedBy,omitempty"`
	ApprovedBy   []string             `json:"approvedBy"`
	MergedBy     string               `json:"mergedBy,omitempty"`
	Policy       string               `json:"policy,omitempty"`
	PullRequest  int                  `json:"pullRequest,omitempty"`
	CheckedHead  string               `json:"checkedHead,omitempty"`
	Via          string               `json:"via"`
	Commit       string               `json:"commit"`
	ChangeCommit string               `json:"changeCommit,omitempty"`
	Reverts      string               `json:"reverts,omitempty"`
	Subject      string               `json:"subject"`
	Signature    gitops.SignatureInfo `json:"signature"`
	// ChangeSignature is that of ChangeCommit when it is not Commit.
	ChangeSignature *gitops.SignatureInfo `json:"changeSignature,omitempty"`
	Notes           []string              `json:"notes,omitempty"`
}

// FollowedBranches maps each followed branch to the environments that
// follow it (env's Branch, or the current branch).
func (r *Ledger) FollowedBranches(env string) (map[string][]string, error) {
	if env != "" {
		if err := r.CheckEnv(env); err != nil {
			return nil, err
		}
	}
	_, current, err := r.Repo().Head()
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, e := range r.Config().Environments {
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

// BranchTip reads refs/heads/<branch>; zero when it does not exist yet.
func (r *Ledger) BranchTip(ctx context.Context, branch string) (plumbing.Hash, error) {
	return r.Repo().BranchTip(ctx, branch)
}

// EventScanner turns scanned commits into events; it keeps the parsed
// Release blobs, since a blob fetched for one commit is not fetched again.
type EventScanner struct {
	trust    *gitops.Trust
	releases map[plumbing.Hash]*ReleaseState
	blobs    map[plumbing.Hash][]byte
}

// NewEventScanner returns a scanner that judges signatures against t.
func NewEventScanner(t *gitops.Trust) *EventScanner {
	return &EventScanner{trust: t, releases: map[plumbing.Hash]*ReleaseState{}, blobs: map[plumbing.Hash][]byte{}}
}

// ScanEvents scans the first-parent history of tip (down to, not
// including, stop when not zero) for changes of the release files of envs
// (and of model, when not "") and calls fn with each commit's events,
// newest first. Signatures are judged against the allowed signers t.
func (r *Ledger) ScanEvents(ctx context.Context, tip, stop plumbing.Hash, t *gitops.Trust, envs []string, model string, fn func(*repo.FPCommit, []AuditEvent) error) (reached bool, err error) {
	s := NewEventScanner(t)
	return r.Repo().ScanReleases(ctx, tip, stop, envs, model, false, func(c *repo.FPCommit) error {
		evs, err := s.Events(c)
		if err != nil {
			return err
		}
		return fn(c, evs)
	})
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

// serving reports whether st routes traffic to v.
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

// events builds the events of one first-parent commit.
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
	commit, err := repo.LightCommit(c.Hash, c.Objects[c.Hash])
	if err != nil {
		return nil, err
	}
	sig := gitops.SignatureOf(commit, s.trust)
	base := AuditEvent{
		Time:       commit.Committer.When.UTC(),
		Commit:     c.Hash.String(),
		Subject:    gitops.FirstLine(commit.Message),
		Signature:  sig,
		ApprovedBy: []string{},
	}
	change := commit
	if len(c.Parents) > 1 {
		_, mt := PromotionTrailers(commit.Message)
		base.ApprovedBy = append(base.ApprovedBy, mt["approved-by"]...)
		base.Policy = first(mt, "policy")
		base.CheckedHead = first(mt, "checked-head")
		base.MergedBy = first(mt, "merged-by")
		if base.MergedBy == "" {
			base.MergedBy = gitops.FormatIdentity(commit.Author)
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
			cs := gitops.SignatureOf(change, s.trust)
			base.ChangeSignature = &cs
		}
	} else {
		base.Via = ViaDirect
		base.ChangeCommit = c.Hash.String()
		if m := revertRE.FindStringSubmatch(commit.Message); m != nil {
			base.Reverts = m[1]
		}
	}
	groups, common := PromotionTrailers(change.Message)
	base.RequestedBy = first(common, "requested-by")
	trailerEnv := first(common, "environment")
	var out []AuditEvent
	for _, ch := range changes {
		env, model, _ := SplitReleasePath(ch.Path)
		ev := base
		ev.ApprovedBy = slices.Clone(base.ApprovedBy)
		ev.Environment, ev.Model = env, model
		ev.From = s.Release(ch.Path, ch.Old, c.Objects)
		ev.To = s.Release(ch.Path, ch.New, c.Objects)
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
			ev.Notes = append(ev.Notes, "the commit's signature does not verify: "+gitops.SigReason(ev.Signature))
		}
		out = append(out, ev)
	}
	return out, nil
}

// SplitReleasePath splits environments/<env>/<model>.yaml.
func SplitReleasePath(p string) (env, model string, ok bool) {
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

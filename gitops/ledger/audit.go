package ledger

import (
	"context"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/manifests"
)

// TimeBasis is how audit answers date events; every answer states it.
const TimeBasis = "committer time of the commit on the first-parent history of the followed branch (for a pull request, its merge commit), never before its first parent's"

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
	ViaLocal    = "modelgit merge --local"  // the same, made without a forge: Merge-Method: local, approvers asserted by the merger
	ViaOutside  = "merged outside modelgit" // a merge commit without them (the forge's button, git merge)
	ViaDirect   = "direct commit"           // a commit straight on the branch, no pull request
)

// Reviewed reports whether a change that came via (an AuditEvent's Via)
// was judged and merged by modelgit: through the forge, or locally with
// approvers the merger asserted and signed for.
func Reviewed(via string) bool { return via == ViaModelgit || via == ViaLocal }

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
	Time time.Time `json:"time"`
	// CommitterTime is the commit's own committer time when it is before
	// its first parent's (a skewed clock); Time is then the parent's, since
	// time on the first-parent line never goes back (docs/audit.md).
	CommitterTime *time.Time           `json:"committerTime,omitempty"`
	Environment   string               `json:"environment"`
	Model         string               `json:"model"`
	Action        string               `json:"action"`
	FromVersion   string               `json:"fromVersion,omitempty"`
	ToVersion     string               `json:"toVersion,omitempty"`
	From          *ReleaseState        `json:"from"`
	To            *ReleaseState        `json:"to"`
	Strategy      string               `json:"strategy,omitempty"`
	Forced        string               `json:"forced,omitempty"`
	Rollback      string               `json:"rollback,omitempty"`
	RequestedBy   string               `json:"requestedBy,omitempty"`
	ApprovedBy    []string             `json:"approvedBy"`
	MergedBy      string               `json:"mergedBy,omitempty"`
	Policy        string               `json:"policy,omitempty"`
	PullRequest   int                  `json:"pullRequest,omitempty"`
	CheckedHead   string               `json:"checkedHead,omitempty"`
	Via           string               `json:"via"`
	Commit        string               `json:"commit"`
	ChangeCommit  string               `json:"changeCommit,omitempty"`
	Reverts       string               `json:"reverts,omitempty"`
	Subject       string               `json:"subject"`
	Signature     gitops.SignatureInfo `json:"signature"`
	// ChangeSignature is that of ChangeCommit when it is not Commit.
	ChangeSignature *gitops.SignatureInfo `json:"changeSignature,omitempty"`
	// Description says what happened when from → to does not: a canary
	// aborted by a rollback, a release file that does not parse.
	Description string   `json:"description,omitempty"`
	Notes       []string `json:"notes,omitempty"`
}

// FluxDefaultBranch is the branch the generated Flux GitRepository
// follows for an environment whose modelgit.yaml entry names none
// (gitops/render), so the branch audit follows then.
const FluxDefaultBranch = "main"

// FollowedBranches maps each followed branch to the environments that
// follow it: the environment's branch in modelgit.yaml, else the one the
// generated Flux configuration follows (FluxDefaultBranch), whatever is
// checked out.
func (r *Ledger) FollowedBranches(env string) (map[string][]string, error) {
	if env != "" {
		if err := r.CheckEnv(env); err != nil {
			return nil, err
		}
	}
	out := map[string][]string{}
	for _, e := range r.Config().Environments {
		if env != "" && e.Name != env {
			continue
		}
		b := e.Branch
		if b == "" {
			b = FluxDefaultBranch
		}
		out[b] = append(out[b], e.Name)
	}
	return out, nil
}

// BranchTip reads refs/heads/<branch>; zero when it does not exist yet.
func (r *Ledger) BranchTip(ctx context.Context, branch string) (plumbing.Hash, error) {
	tip, err := r.Repo().BranchTip(ctx, branch)
	if err == nil && tip.IsZero() {
		r.Log().Warningf("branch %s, which Flux follows, does not exist in this clone: nothing ran from it yet (fetch it, or name the branch Flux follows in modelgit.yaml's environments)", branch)
	}
	return tip, err
}

// EnsureChangedPaths writes the commit-graph with changed paths before a
// walk of commits first-parent commits when it is missing
// (repo.EnsureChangedPaths); when it cannot, it says so in one line and
// the walk goes on without it.
func (r *Ledger) EnsureChangedPaths(ctx context.Context, commits int) {
	_, err := r.Repo().EnsureChangedPaths(ctx, commits)
	r.warnCommitGraph(err)
}

func (r *Ledger) warnCommitGraph(err error) {
	if err != nil {
		r.Log().Warningf("%v; going on without it, slower", err)
	}
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

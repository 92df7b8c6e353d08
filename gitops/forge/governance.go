package forge

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Repository roles as GitHub's role_name names them, from least to most
// access.
const (
	RoleNone     = "none"
	RoleRead     = "read"
	RoleTriage   = "triage"
	RoleWrite    = "write"
	RoleMaintain = "maintain"
	RoleAdmin    = "admin"
)

var roleOrder = []string{RoleNone, RoleRead, RoleTriage, RoleWrite, RoleMaintain, RoleAdmin}

// Permission is a user's access to the repository.
type Permission struct {
	// Login is the user's login.
	Login string
	// Role is the role (GitHub's role_name): one of the Role constants,
	// or the name of an organization's custom role.
	Role string
	// Base is the older coarse permission: admin, write, read or none
	// (maintain counts as write, triage as read; a custom role as the
	// role it inherits from).
	Base string
}

// AtLeast reports whether p grants at least role (a Role constant). A
// custom role is judged by its Base.
func (p *Permission) AtLeast(role string) bool {
	want := slices.Index(roleOrder, role)
	if p == nil || want < 0 {
		return false
	}
	have := slices.Index(roleOrder, p.Role)
	if have < 0 {
		have = slices.Index(roleOrder, p.Base)
	}
	return have >= want
}

// CanWrite reports whether p has write access: what GitHub's required
// reviews demand of an approver whose review counts, and of a reviewer
// whose change request blocks.
func (p *Permission) CanWrite() bool { return p.AtLeast(RoleWrite) }

// BranchProtection is what the forge enforces on merges into a branch,
// from classic branch protection and every active ruleset together (the
// stricter of the two wherever both say something).
type BranchProtection struct {
	// Branch is the protected branch.
	Branch string
	// RequiredStatusChecks are the status contexts that must pass, sorted.
	RequiredStatusChecks []string
	// Strict: the head must be up to date with the branch ("Require
	// branches to be up to date before merging").
	Strict bool
	// RequiredApprovals is the number of approving reviews needed; 0 when
	// reviews are not required.
	RequiredApprovals int
	// DismissStaleReviews: approvals are dismissed when new commits are
	// pushed.
	DismissStaleReviews bool
	// RequireCodeOwnerReviews and RequireLastPushApproval are as GitHub
	// names them.
	RequireCodeOwnerReviews, RequireLastPushApproval bool
	// RequiredSignatures: commits must have verified signatures.
	RequiredSignatures bool
	// EnforceAdmins: the classic protection applies to administrators too.
	EnforceAdmins bool
	// AllowedMergeMethods are the merge methods rulesets allow; nil when
	// no ruleset restricts them.
	AllowedMergeMethods []string
	// Sources say where the settings come from: "branch protection",
	// "ruleset 42".
	Sources []string
	// ClassicUnreadable is why the classic branch protection could not be
	// read ("" when it was): GitHub lets only tokens with administration
	// rights read it, while the rules of rulesets are readable by anyone
	// who can read the repository. Settings from classic protection are
	// then missing from this summary, not necessarily from the branch.
	ClassicUnreadable string
}

// CommitLogins returns the forge logins linked to the authors and
// committers of the commits shas, read from each commit itself
// (GetCommit), lower-cased and without duplicates, and the SHAs whose
// author or committer the forge links to no account. It is how to
// exclude a person by login when their commits (a registration on the
// base branch, say) are not among the PR's own.
func CommitLogins(ctx context.Context, f Forge, shas []string) (logins, unlinked []string, err error) {
	seen := map[string]bool{}
	for _, sha := range shas {
		c, err := f.GetCommit(ctx, sha)
		if err != nil {
			return nil, nil, err
		}
		if c.AuthorLogin == "" || c.CommitterLogin == "" {
			unlinked = append(unlinked, sha)
		}
		for _, l := range []string{c.AuthorLogin, c.CommitterLogin} {
			if k := strings.ToLower(l); k != "" && !seen[k] {
				seen[k] = true
				logins = append(logins, k)
			}
		}
	}
	return logins, unlinked, nil
}

// Protection requirement states.
const (
	// RequirementMet: the branch has the setting.
	RequirementMet = "ok"
	// RequirementMissing: the branch lacks the setting.
	RequirementMissing = "missing"
	// RequirementUnknown: rulesets do not have the setting and the classic
	// branch protection, where it may be, could not be read.
	RequirementUnknown = "unknown"
)

// Requirement is one branch setting modelgit's governance needs from the
// forge, and whether a branch has it.
type Requirement struct {
	// Setting names it, camelCase ("requiredStatusCheck").
	Setting string `json:"setting"`
	// State is RequirementMet, RequirementMissing or RequirementUnknown.
	State string `json:"state"`
	// Want is the setting as GitHub's settings page names it.
	Want string `json:"want"`
	// Have is what the branch has instead.
	Have string `json:"have"`
	// Why says what goes wrong without it.
	Why string `json:"why"`
}

// Requirements judges bp against the branch settings modelgit needs (see
// docs/governance.md): the modelgit/promotion status required, branches
// up to date before merging, stale approvals dismissed, signed commits
// required, and merge commits allowed (modelgit merges with one).
func Requirements(bp *BranchProtection) []Requirement {
	state := func(ok bool) string {
		switch {
		case ok:
			return RequirementMet
		case bp.ClassicUnreadable != "":
			return RequirementUnknown
		}
		return RequirementMissing
	}
	onOff := func(on bool) string {
		if on {
			return "on"
		}
		return "off"
	}
	checks := "no required status checks"
	if len(bp.RequiredStatusChecks) > 0 {
		checks = "required: " + strings.Join(bp.RequiredStatusChecks, ", ")
	}
	hasStatus := slices.Contains(bp.RequiredStatusChecks, StatusContext)
	methods := "not restricted by rulesets"
	mergeOK := true
	if bp.AllowedMergeMethods != nil {
		methods = "rulesets allow: " + strings.Join(bp.AllowedMergeMethods, ", ")
		mergeOK = slices.Contains(bp.AllowedMergeMethods, MergeMethodMerge)
	}
	mergeState := RequirementMet
	if !mergeOK {
		mergeState = RequirementMissing
	}
	return []Requirement{
		{
			Setting: "requiredStatusCheck", State: state(hasStatus), Have: checks,
			Want: fmt.Sprintf("Require status checks to pass before merging: %q", StatusContext),
			Why:  "without it anyone with write access can merge a promotion that modelgit check failed, or never ran on",
		},
		{
			Setting: "strictStatusChecks", State: state(hasStatus && bp.Strict), Have: "up to date before merging: " + onOff(bp.Strict),
			Want: "Require branches to be up to date before merging",
			Why:  "the check judged the head against the base it saw; without it a base that moved since (a stricter policy merged meanwhile) is never judged",
		},
		{
			Setting: "dismissStaleReviews", State: state(bp.DismissStaleReviews), Have: "dismiss stale approvals: " + onOff(bp.DismissStaleReviews),
			Want: "Dismiss stale pull request approvals when new commits are pushed",
			Why:  "GitHub's own review count keeps approvals of an older head, which modelgit never counts; the two then disagree about a pushed-over promotion",
		},
		{
			Setting: "requiredSignatures", State: state(bp.RequiredSignatures), Have: "signed commits: " + onOff(bp.RequiredSignatures),
			Want: "Require signed commits",
			Why:  "modelgit verify rejects unsigned model commits after the fact; GitHub refuses them at push",
		},
		{
			Setting: "mergeCommitsAllowed", State: mergeState, Have: methods,
			Want: "Allow merge commits",
			Why:  "modelgit merge records the approvers in a merge commit; a branch that only allows squash or rebase refuses it (405)",
		},
	}
}

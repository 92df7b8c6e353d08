package forge

import (
	"context"
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

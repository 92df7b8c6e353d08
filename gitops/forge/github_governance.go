package forge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-github/v60/github"
)

// This file holds what governance reads through GitHub: the accounts
// linked to a commit, a collaborator's role, and what branch protection
// and rulesets enforce.

// GetCommit implements Forge. GitHub answers 422 "No commit found for
// SHA" for a SHA it does not have; that is ErrNotFound here.
func (g *GitHub) GetCommit(ctx context.Context, sha string) (*Commit, error) {
	if sha == "" {
		return nil, fmt.Errorf("reading commit: no SHA given")
	}
	c, _, err := g.client.getCommit(ctx, g.owner, g.repo, sha)
	if err != nil {
		mapped := g.mapErr(err)
		var ae *APIError
		if errors.As(mapped, &ae) && ae.Status == http.StatusUnprocessableEntity && strings.Contains(ae.Message, "No commit found") {
			ae.kind = ErrNotFound
		}
		return nil, fmt.Errorf("reading commit %s: %w", sha, mapped)
	}
	out := toCommit(c)
	return &out, nil
}

// CollaboratorPermission implements Forge.
func (g *GitHub) CollaboratorPermission(ctx context.Context, login string) (*Permission, error) {
	if login == "" {
		return nil, fmt.Errorf("reading repository permission: no login given")
	}
	p, _, err := g.client.permission(ctx, g.owner, g.repo, login)
	if err != nil {
		return nil, g.wrap(err, "reading the permission of %q on %s/%s", login, g.owner, g.repo)
	}
	out := &Permission{Login: login, Role: p.RoleName, Base: p.Permission}
	if p.User.GetLogin() != "" {
		out.Login = p.User.GetLogin()
	}
	if out.Role == "" { // GitHub Enterprise Server before role_name
		out.Role = out.Base
	}
	return out, nil
}

// BranchHead implements Forge.
func (g *GitHub) BranchHead(ctx context.Context, branch string) (string, error) {
	b, resp, err := g.client.getBranch(ctx, g.owner, g.repo, branch)
	if err != nil && resp != nil && resp.StatusCode == http.StatusNotFound {
		// go-github's GetBranch reports a 404 as a bare status error,
		// not an *ErrorResponse that mapErr would map.
		return "", fmt.Errorf("reading branch %q: %w", branch, ErrNotFound)
	}
	if err != nil {
		return "", g.wrap(err, "reading branch %q", branch)
	}
	sha := b.GetCommit().GetSHA()
	if sha == "" {
		return "", fmt.Errorf("reading branch %q: the forge named no commit", branch)
	}
	return sha, nil
}

// BranchProtection implements Forge.
func (g *GitHub) BranchProtection(ctx context.Context, branch string) (*BranchProtection, error) {
	bp := &BranchProtection{Branch: branch}
	p, _, err := g.client.protection(ctx, g.owner, g.repo, branch)
	switch {
	case errors.Is(err, github.ErrBranchNotProtected):
	case err != nil:
		mapped := g.mapErr(err)
		var ae *APIError
		// GitHub answers 403 (or, to some tokens, a bare 404 "Not Found")
		// to a token without administration rights; "Branch not found"
		// is the branch itself missing.
		switch {
		case errors.As(mapped, &ae) && ae.Status == http.StatusNotFound && strings.Contains(ae.Message, "Branch not found"):
			return nil, fmt.Errorf("reading the protection of branch %q: %w", branch, mapped)
		case errors.As(mapped, &ae) && (ae.Status == http.StatusForbidden || ae.Status == http.StatusNotFound):
			bp.ClassicUnreadable = ae.Message
		default:
			return nil, fmt.Errorf("reading the protection of branch %q: %w", branch, mapped)
		}
	default:
		bp.Sources = append(bp.Sources, "branch protection")
		if rsc := p.GetRequiredStatusChecks(); rsc != nil {
			bp.Strict = rsc.Strict
			if rsc.Contexts != nil {
				bp.RequiredStatusChecks = append(bp.RequiredStatusChecks, *rsc.Contexts...)
			}
			if rsc.Checks != nil {
				for _, c := range *rsc.Checks {
					bp.RequiredStatusChecks = append(bp.RequiredStatusChecks, c.Context)
				}
			}
		}
		if r := p.GetRequiredPullRequestReviews(); r != nil {
			bp.RequiredApprovals = r.RequiredApprovingReviewCount
			bp.DismissStaleReviews = r.DismissStaleReviews
			bp.RequireCodeOwnerReviews = r.RequireCodeOwnerReviews
			bp.RequireLastPushApproval = r.RequireLastPushApproval
		}
		bp.RequiredSignatures = p.GetRequiredSignatures().GetEnabled()
		bp.EnforceAdmins = p.GetEnforceAdmins().Enabled
	}
	opts := &github.ListOptions{PerPage: perPage}
	for {
		rules, resp, err := g.client.rulesForBranch(ctx, g.owner, g.repo, branch, opts)
		if err != nil {
			return nil, g.wrap(err, "reading the rules for branch %q", branch)
		}
		if err := bp.addRules(rules); err != nil {
			return nil, fmt.Errorf("reading the rules for branch %q: %w", branch, err)
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	slices.Sort(bp.RequiredStatusChecks)
	bp.RequiredStatusChecks = slices.Compact(bp.RequiredStatusChecks)
	return bp, nil
}

// addRules folds the rules of active rulesets into bp, the stricter
// setting winning.
func (bp *BranchProtection) addRules(rules []*branchRule) error {
	for _, r := range rules {
		if r == nil {
			continue
		}
		source := fmt.Sprintf("ruleset %d", r.RulesetID)
		switch r.Type {
		case "required_status_checks":
			var p github.RequiredStatusChecksRuleParameters
			if err := unmarshalParams(r, &p); err != nil {
				return err
			}
			for _, c := range p.RequiredStatusChecks {
				bp.RequiredStatusChecks = append(bp.RequiredStatusChecks, c.Context)
			}
			bp.Strict = bp.Strict || (p.StrictRequiredStatusChecksPolicy && len(p.RequiredStatusChecks) > 0)
		case "pull_request":
			var p struct {
				github.PullRequestRuleParameters
				AllowedMergeMethods []string `json:"allowed_merge_methods"`
			}
			if err := unmarshalParams(r, &p); err != nil {
				return err
			}
			bp.RequiredApprovals = max(bp.RequiredApprovals, p.RequiredApprovingReviewCount)
			bp.DismissStaleReviews = bp.DismissStaleReviews || p.DismissStaleReviewsOnPush
			bp.RequireCodeOwnerReviews = bp.RequireCodeOwnerReviews || p.RequireCodeOwnerReview
			bp.RequireLastPushApproval = bp.RequireLastPushApproval || p.RequireLastPushApproval
			if len(p.AllowedMergeMethods) > 0 {
				if bp.AllowedMergeMethods == nil {
					bp.AllowedMergeMethods = p.AllowedMergeMethods
				} else {
					bp.AllowedMergeMethods = slices.DeleteFunc(bp.AllowedMergeMethods, func(m string) bool { return !slices.Contains(p.AllowedMergeMethods, m) })
				}
			}
		case "required_signatures":
			bp.RequiredSignatures = true
		default:
			continue
		}
		if !slices.Contains(bp.Sources, source) {
			bp.Sources = append(bp.Sources, source)
		}
	}
	return nil
}

func unmarshalParams(r *branchRule, v any) error {
	if len(r.Parameters) == 0 || string(r.Parameters) == "null" {
		return nil
	}
	if err := json.Unmarshal(r.Parameters, v); err != nil {
		return fmt.Errorf("parsing the parameters of rule %q: %w", r.Type, err)
	}
	return nil
}

package githubfake

import (
	"fmt"
	"net/http"
	"path"
	"slices"
	"strings"
)

// Protection is a branch's classic branch protection, the settings GET
// /repos/{o}/{r}/branches/{b}/protection answers and merges obey.
type Protection struct {
	// RequiredStatusChecks are the status contexts that must be "success"
	// on the head before a merge; nil: status checks are not required.
	RequiredStatusChecks []string
	// Strict requires the head to contain the base's tip ("Require
	// branches to be up to date before merging").
	Strict bool
	// RequiredApprovals is the number of approving reviews, on the current
	// head when DismissStaleReviews is set, by users with write access,
	// that a merge needs; 0: reviews are not required.
	RequiredApprovals int
	// DismissStaleReviews makes approvals on an older head not count.
	DismissStaleReviews bool
	// RequireCodeOwnerReviews and RequireLastPushApproval are reported
	// only; the fake does not enforce them.
	RequireCodeOwnerReviews, RequireLastPushApproval bool
	// RequiredSignatures is reported only (the fake does not verify
	// signatures).
	RequiredSignatures bool
	// EnforceAdmins applies the protection to administrators too
	// (reported only: the fake's token is held to it either way).
	EnforceAdmins bool
}

// Ruleset is one active branch ruleset, as GET /repos/{o}/{r}/rules/branches/{b}
// lists its rules for every branch its pattern matches.
type Ruleset struct {
	// ID and Name identify the ruleset (ID is given when 0).
	ID   int64
	Name string
	// Branches are path.Match patterns of branch names ("main",
	// "release/*").
	Branches []string
	// RequiredStatusChecks and Strict make a "required_status_checks"
	// rule when RequiredStatusChecks is not nil.
	RequiredStatusChecks []string
	Strict               bool
	// PullRequest makes a "pull_request" rule when not nil.
	PullRequest *PullRequestRule
	// RequiredSignatures makes a "required_signatures" rule.
	RequiredSignatures bool
}

// PullRequestRule is the parameters of a ruleset's "pull_request" rule.
type PullRequestRule struct {
	RequiredApprovals         int
	DismissStaleReviewsOnPush bool
	RequireCodeOwnerReview    bool
	RequireLastPushApproval   bool
	// AllowedMergeMethods limits the merge methods ("merge", "squash",
	// "rebase"); empty: all the repository allows.
	AllowedMergeMethods []string
}

// SetBranchProtection protects branch as p says; nil removes the
// protection (GET answers 404 "Branch not protected").
func (s *Server) SetBranchProtection(branch string, p *Protection) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p == nil {
		delete(s.protection, branch)
		return
	}
	cp := *p
	cp.RequiredStatusChecks = slices.Clone(p.RequiredStatusChecks)
	s.protection[branch] = &cp
}

// DenyProtectionRead makes GET .../branches/{b}/protection answer 403
// "Resource not accessible by integration", as GitHub answers a token
// without administration rights (the Actions GITHUB_TOKEN); the rules of
// rulesets stay readable.
func (s *Server) DenyProtectionRead(deny bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.protectionDenied = deny
}

// AddRuleset adds an active branch ruleset and returns its ID.
func (s *Server) AddRuleset(rs Ruleset) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rs.ID == 0 {
		s.nextID++
		rs.ID = s.nextID
	}
	rs.Branches = slices.Clone(rs.Branches)
	rs.RequiredStatusChecks = slices.Clone(rs.RequiredStatusChecks)
	if rs.PullRequest != nil {
		pr := *rs.PullRequest
		pr.AllowedMergeMethods = slices.Clone(pr.AllowedMergeMethods)
		rs.PullRequest = &pr
	}
	s.rulesets = append(s.rulesets, &rs)
	return rs.ID
}

// SetMergeMethods sets the merge methods the repository allows
// ("merge", "squash"; the fake cannot rebase, so "rebase" is always
// refused). The default is both.
func (s *Server) SetMergeMethods(methods ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mergeMethods = slices.Clone(methods)
}

// Repository roles, from least to most access, as role_name names them.
var roles = []string{"none", "read", "triage", "write", "maintain", "admin"}

// SetPermission gives user a role on the repository: "admin",
// "maintain", "write", "triage", "read" or "none". Users without one have
// Options.DefaultPermission.
func (s *Server) SetPermission(user, role string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.permissions[strings.ToLower(user)] = role
}

// role returns user's role on the repository. s.mu is held.
func (s *Server) role(user string) string {
	if r, ok := s.permissions[strings.ToLower(user)]; ok {
		return r
	}
	return s.opts.DefaultPermission
}

// atLeast reports whether role grants at least min.
func atLeast(role, min string) bool {
	return slices.Index(roles, role) >= slices.Index(roles, min)
}

// legacyPermission is the older "permission" field GitHub answers next to
// role_name: maintain counts as write and triage as read.
func legacyPermission(role string) string {
	switch role {
	case "admin":
		return "admin"
	case "maintain", "write":
		return "write"
	case "triage", "read":
		return "read"
	}
	return "none"
}

// collaboratorPermission answers GET
// /repos/{o}/{r}/collaborators/{user}/permission.
func (s *Server) collaboratorPermission(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	user := r.PathValue("user")
	role := s.role(user)
	u := s.userJSON(user)
	u["permissions"] = map[string]bool{
		"admin": atLeast(role, "admin"), "maintain": atLeast(role, "maintain"), "push": atLeast(role, "write"),
		"triage": atLeast(role, "triage"), "pull": atLeast(role, "read"),
	}
	u["role_name"] = role
	writeJSON(w, http.StatusOK, map[string]any{"permission": legacyPermission(role), "role_name": role, "user": u})
}

// branchProtection answers GET /repos/{o}/{r}/branches/{branch}/protection.
func (s *Server) branchProtection(w http.ResponseWriter, r *http.Request) {
	branch := r.PathValue("branch")
	s.mu.Lock()
	defer s.mu.Unlock()
	if sha, err := s.branchSHA(branch); err != nil || sha == "" {
		writeError(w, http.StatusNotFound, "Branch not found")
		return
	}
	if s.protectionDenied {
		writeError(w, http.StatusForbidden, "Resource not accessible by integration")
		return
	}
	p := s.protection[branch]
	if p == nil {
		writeError(w, http.StatusNotFound, "Branch not protected")
		return
	}
	base := fmt.Sprintf("http://%s/api/v3/repos/%s/%s/branches/%s/protection", r.Host, s.opts.Owner, s.opts.Repo, branch)
	enabled := func(name string, on bool) map[string]any {
		return map[string]any{"url": base + "/" + name, "enabled": on}
	}
	out := map[string]any{
		"url":                              base,
		"enforce_admins":                   enabled("enforce_admins", p.EnforceAdmins),
		"required_signatures":              enabled("required_signatures", p.RequiredSignatures),
		"required_linear_history":          map[string]any{"enabled": false},
		"allow_force_pushes":               map[string]any{"enabled": false},
		"allow_deletions":                  map[string]any{"enabled": false},
		"block_creations":                  map[string]any{"enabled": false},
		"required_conversation_resolution": map[string]any{"enabled": false},
		"lock_branch":                      map[string]any{"enabled": false},
		"allow_fork_syncing":               map[string]any{"enabled": false},
	}
	if p.RequiredStatusChecks != nil {
		checks := []map[string]any{}
		for _, c := range p.RequiredStatusChecks {
			checks = append(checks, map[string]any{"context": c, "app_id": nil})
		}
		out["required_status_checks"] = map[string]any{
			"url": base + "/required_status_checks", "strict": p.Strict,
			"contexts": p.RequiredStatusChecks, "checks": checks,
			"contexts_url": base + "/required_status_checks/contexts",
		}
	}
	if p.RequiredApprovals > 0 || p.DismissStaleReviews || p.RequireCodeOwnerReviews || p.RequireLastPushApproval {
		out["required_pull_request_reviews"] = map[string]any{
			"url":                             base + "/required_pull_request_reviews",
			"dismiss_stale_reviews":           p.DismissStaleReviews,
			"require_code_owner_reviews":      p.RequireCodeOwnerReviews,
			"required_approving_review_count": p.RequiredApprovals,
			"require_last_push_approval":      p.RequireLastPushApproval,
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// rulesFor returns the rulesets whose patterns match branch. s.mu is held.
func (s *Server) rulesFor(branch string) []*Ruleset {
	var out []*Ruleset
	for _, rs := range s.rulesets {
		for _, pat := range rs.Branches {
			if ok, _ := path.Match(pat, branch); ok {
				out = append(out, rs)
				break
			}
		}
	}
	return out
}

// branchRules answers GET /repos/{o}/{r}/rules/branches/{branch}: every
// active rule for the branch, existing or not, one entry per rule.
func (s *Server) branchRules(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	for _, rs := range s.rulesFor(r.PathValue("branch")) {
		rule := func(typ string, params map[string]any) {
			m := map[string]any{"type": typ, "ruleset_source_type": "Repository", "ruleset_source": s.opts.Owner + "/" + s.opts.Repo, "ruleset_id": rs.ID}
			if params != nil {
				m["parameters"] = params
			}
			out = append(out, m)
		}
		if rs.RequiredStatusChecks != nil {
			checks := []map[string]any{}
			for _, c := range rs.RequiredStatusChecks {
				checks = append(checks, map[string]any{"context": c})
			}
			rule("required_status_checks", map[string]any{"required_status_checks": checks, "strict_required_status_checks_policy": rs.Strict})
		}
		if p := rs.PullRequest; p != nil {
			methods := p.AllowedMergeMethods
			if len(methods) == 0 {
				methods = []string{"merge", "squash", "rebase"}
			}
			rule("pull_request", map[string]any{
				"required_approving_review_count": p.RequiredApprovals, "dismiss_stale_reviews_on_push": p.DismissStaleReviewsOnPush,
				"require_code_owner_review": p.RequireCodeOwnerReview, "require_last_push_approval": p.RequireLastPushApproval,
				"required_review_thread_resolution": false, "allowed_merge_methods": methods,
			})
		}
		if rs.RequiredSignatures {
			rule("required_signatures", nil)
		}
	}
	paginate(w, r, out)
}

// methodRefusal is GitHub's 405 message when the repository or a ruleset
// of p's base does not allow merge method, or "". s.mu is held.
func (s *Server) methodRefusal(p *pull, method string) string {
	if method == "" {
		method = "merge"
	}
	names := map[string]string{"merge": "Merge commits are", "squash": "Squash merges are", "rebase": "Rebase merges are"}
	allowed := s.mergeMethods
	if allowed == nil {
		allowed = []string{"merge", "squash"}
	}
	for _, rs := range s.rulesFor(p.Base) {
		if rs.PullRequest != nil && len(rs.PullRequest.AllowedMergeMethods) > 0 && !slices.Contains(rs.PullRequest.AllowedMergeMethods, method) {
			allowed = nil
		}
	}
	if !slices.Contains(allowed, method) || method == "rebase" {
		return names[method] + " not allowed on this repository."
	}
	return ""
}

// protectionRefusal is why GitHub would refuse to merge p at head into
// base under the branch's protection and rulesets, as the status and
// message GitHub answers; status 0 when nothing refuses. s.mu is held.
func (s *Server) protectionRefusal(p *pull, head, base string) (int, string) {
	rules := s.rulesFor(p.Base)

	// What the classic protection and every matching ruleset require,
	// together: GitHub enforces the union of both.
	var contexts []string
	strict, approvals, stale := false, 0, false
	if pr := s.protection[p.Base]; pr != nil {
		contexts = append(contexts, pr.RequiredStatusChecks...)
		strict, approvals, stale = pr.Strict, pr.RequiredApprovals, pr.DismissStaleReviews
	}
	for _, rs := range rules {
		contexts = append(contexts, rs.RequiredStatusChecks...)
		strict = strict || (rs.Strict && len(rs.RequiredStatusChecks) > 0)
		if rs.PullRequest != nil {
			approvals = max(approvals, rs.PullRequest.RequiredApprovals)
			stale = stale || rs.PullRequest.DismissStaleReviewsOnPush
		}
	}
	if approvals > 0 {
		if n := s.approvals(p.Number, head, stale); n < approvals {
			if approvals == 1 {
				return http.StatusMethodNotAllowed, "At least 1 approving review is required by reviewers with write access."
			}
			return http.StatusMethodNotAllowed, fmt.Sprintf("At least %d approving reviews are required by reviewers with write access.", approvals)
		}
	}
	for _, c := range contexts {
		switch st := s.latestStatus(head, c); st {
		case "success":
		case "":
			return http.StatusMethodNotAllowed, fmt.Sprintf("Required status check %q is expected.", c)
		default:
			return http.StatusMethodNotAllowed, fmt.Sprintf("Required status check %q is %s.", c, map[string]string{"pending": "pending", "failure": "failing", "error": "failing"}[st])
		}
	}
	if strict && len(contexts) > 0 {
		if ok, err := s.isAncestor(base, head); err == nil && !ok {
			return http.StatusMethodNotAllowed, "Head branch is out of date. Review and try the merge again."
		}
	}
	return 0, ""
}

// approvals counts the users whose latest non-comment review of PR
// number approves (on head when onHead) and who have write access.
// s.mu is held.
func (s *Server) approvals(number int, head string, onHead bool) int {
	latest := map[string]*review{}
	for _, rv := range s.reviews[number] {
		if rv.State != "COMMENTED" {
			latest[strings.ToLower(rv.User)] = rv
		}
	}
	n := 0
	for user, rv := range latest {
		if rv.State == "APPROVED" && (!onHead || rv.CommitID == head) && atLeast(s.role(user), "write") {
			n++
		}
	}
	return n
}

// latestStatus is the state of the newest status with context on sha,
// or "". s.mu is held.
func (s *Server) latestStatus(sha, context string) string {
	list := s.statuses[sha]
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].Context == context {
			return list[i].State
		}
	}
	return ""
}

package check

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/policies"
)

// approvalRules are what the applied policies ask of approvals: the
// strictest count and role of any of them, and every team they name.
type approvalRules struct {
	required int
	teams    []string
	role     string
}

func (c *checkRun) approvalRules() approvalRules {
	ru := approvalRules{teams: []string{}, role: policies.RoleWrite}
	for _, ap := range c.applied {
		a := ap.Policy.Approvals
		ru.required = max(ru.required, a.Count)
		for _, t := range a.Teams {
			if !slices.Contains(ru.teams, t) {
				ru.teams = append(ru.teams, t)
			}
		}
		if slices.Index(roleOrder, a.MinRole()) > slices.Index(roleOrder, ru.role) {
			ru.role = a.MinRole()
		}
	}
	if len(c.applied) == 0 {
		// A pull request that promotes nothing (a policy or signer
		// change) still needs the default review.
		ru.required = policies.DefaultApprovals
	}
	sort.Strings(ru.teams)
	return ru
}

// roleOrder ranks the roles a policy may ask of an approver.
var roleOrder = []string{policies.RoleWrite, policies.RoleMaintain, policies.RoleAdmin}

// tally is the running count of one judgement of the reviews.
type tally struct {
	counted  int
	covered  map[string]bool // teams with a counted approver
	blocking []string
	perms    map[string]*forge.Permission
}

// approvals judges the reviews of pr as GitHub's required reviews do and
// more strictly: the latest non-comment review per person counts when it
// approves the current head, its author has the role the policy asks
// (write access by default) and is not excluded (excluded); a change
// request from anyone with write access blocks. Any API error counts as
// "not approved" and is said.
func (c *checkRun) approvals(ctx context.Context, pr *forge.PullRequest) {
	rep := c.rep
	ru := c.approvalRules()
	rep.Required, rep.Missing = ru.required, ru.required
	reviews, err := forge.LatestReviews(ctx, c.opts.Forge, pr.Number)
	if err != nil {
		c.approvalsUnknown("reading the reviews", "reviews", err)
		return
	}
	ex, err := c.excluded(ctx, pr)
	if err != nil {
		c.approvalsUnknown("reading the commits", "commits", err)
		return
	}
	t := &tally{covered: map[string]bool{}, perms: map[string]*forge.Permission{}}
	for _, rv := range reviews {
		a := c.judgeReview(ctx, rv, ex, ru, t)
		if a.Counted {
			t.counted++
		}
		rep.Approvals = append(rep.Approvals, a)
	}
	rep.Missing = max(0, ru.required-t.counted)
	for _, a := range rep.Approvals {
		line := fmt.Sprintf("%s: %s on %s", a.User, strings.ToLower(a.State), shortSHA(a.CommitID))
		if a.Counted {
			line += ": counts"
		} else {
			line += ": does not count: " + a.Reason
		}
		c.pass(CheckApprovals, line)
	}
	rep.Eligible = eligibleText(ru, ex)
	c.approvalsVerdict(ru, t)
}

// approvalsUnknown fails approvals when the forge failed while reading
// what (the unread): without the reviews or the commits nobody can say
// who may still approve; the report says so rather than leave it blank.
func (c *checkRun) approvalsUnknown(what, unread string, err error) {
	c.fail(CheckApprovals, fmt.Sprintf("%s: %v; counted as not approved", what, err))
	c.items[CheckApprovals].Summary = fmt.Sprintf("not approved: the forge failed while %s (re-run the check)", what)
	c.rep.Eligible = fmt.Sprintf("unknown: the %s could not be read (re-run the check)", unread)
}

// judgeReview says whether the latest review rv of one person counts, or
// blocks (t.blocking), and why not.
func (c *checkRun) judgeReview(ctx context.Context, rv forge.Review, ex *exclusions, ru approvalRules, t *tally) Approval {
	a := Approval{User: rv.User, State: rv.State, CommitID: rv.CommitID}
	excluded := ex.reason(rv.User, strings.EqualFold(rv.UserType, "Bot"))
	switch {
	case rv.State == forge.ReviewChangesRequested:
		a.Reason = c.changeRequest(ctx, rv.User, excluded, t)
	case rv.State != forge.ReviewApproved:
		a.Reason = or(excluded, "review "+strings.ToLower(rv.State))
	case rv.CommitID != c.rep.Head:
		a.Reason = or(excluded, fmt.Sprintf("approved an older head %s, not %s", shortSHA(rv.CommitID), shortSHA(c.rep.Head)))
	case excluded != "":
		a.Reason = excluded
	default:
		if a.Reason = c.lacksRole(ctx, rv.User, ru.role, t); a.Reason == "" {
			a.Reason = c.teamsReason(ctx, rv.User, ru.teams, t)
		}
		a.Counted = a.Reason == ""
	}
	return a
}

// changeRequest judges a CHANGES_REQUESTED review by login: as in
// GitHub's required reviews, it blocks when they have write access,
// whoever they are (a bot, a committer, the requester); a permission the
// forge does not answer blocks too. It returns the review's reason.
func (c *checkRun) changeRequest(ctx context.Context, login, excluded string, t *tally) string {
	reason := "requested changes"
	if excluded != "" {
		reason = excluded + "; requested changes"
	}
	p, err := c.permission(ctx, login, t)
	switch {
	case err != nil:
		t.blocking = append(t.blocking, login)
		return fmt.Sprintf("%s; their access could not be read (%v), so it blocks", reason, err)
	case !p.CanWrite():
		return reason + ", which does not block: " + accessText(p)
	}
	t.blocking = append(t.blocking, login)
	return reason
}

// lacksRole says why login may not approve under role ("" when they
// may): GitHub counts approvals from write access and up, and a policy
// may ask maintain or admin.
func (c *checkRun) lacksRole(ctx context.Context, login, role string, t *tally) string {
	p, err := c.permission(ctx, login, t)
	switch {
	case err != nil:
		return fmt.Sprintf("their access could not be read (%v); counted as not approved", err)
	case !p.AtLeast(forge.RoleWrite):
		return accessText(p)
	case !p.AtLeast(role):
		return fmt.Sprintf("has %s access only; the policy asks %s or more", p.Role, role)
	}
	return ""
}

// permission reads login's role once per check; a login the forge
// does not know has none.
func (c *checkRun) permission(ctx context.Context, login string, t *tally) (*forge.Permission, error) {
	key := strings.ToLower(login)
	if p, ok := t.perms[key]; ok {
		return p, nil
	}
	p, err := c.opts.Forge.CollaboratorPermission(ctx, login)
	switch {
	case errors.Is(err, forge.ErrNotFound):
		// GitHub answers 404 for an account that is no collaborator of a
		// repository it cannot see.
		p = &forge.Permission{Login: login, Role: forge.RoleNone, Base: forge.RoleNone}
	case err != nil:
		return nil, err
	}
	t.perms[key] = p
	return p, nil
}

// accessText says what access p gives short of write.
func accessText(p *forge.Permission) string {
	switch {
	case p.Role == forge.RoleNone || p.Role == "":
		return "has no access to the repository"
	case p.AtLeast(forge.RoleTriage) && !p.AtLeast(forge.RoleWrite):
		return "has triage access only"
	case !p.AtLeast(forge.RoleWrite):
		return "has read access only"
	}
	return "has " + p.Role + " access"
}

// teamsReason says why login's approval does not count under teams (""
// when it does) and marks the teams it covers.
func (c *checkRun) teamsReason(ctx context.Context, login string, teams []string, t *tally) string {
	if len(teams) == 0 {
		return ""
	}
	var in []string
	var apiErr error
	for _, team := range teams {
		org, slug, _ := strings.Cut(team, "/")
		ok, err := c.opts.Forge.IsTeamMember(ctx, org, slug, login)
		if err != nil {
			apiErr = err
			continue
		}
		if ok {
			in = append(in, team)
		}
	}
	switch {
	case len(in) > 0:
		for _, team := range in {
			t.covered[team] = true
		}
		return ""
	case apiErr != nil:
		return fmt.Sprintf("membership of %s could not be read (%v); counted as not approved", strings.Join(teams, ", "), apiErr)
	}
	return "not a member of " + gitops.OrList(teams)
}

// approvalsVerdict sets the approvals item's status and summary from the
// tally.
func (c *checkRun) approvalsVerdict(ru approvalRules, t *tally) {
	rep := c.rep
	preFailed := c.items[CheckApprovals].Status == CheckFail
	var uncovered []string
	for _, team := range ru.teams {
		if !t.covered[team] {
			uncovered = append(uncovered, team)
		}
	}
	it := c.items[CheckApprovals]
	switch {
	case len(t.blocking) > 0:
		it.Status = CheckFail
		it.Summary = fmt.Sprintf("changes requested by %s", strings.Join(t.blocking, ", "))
	case rep.Missing > 0:
		it.Status = CheckFail
		if it.Summary == "" {
			it.Summary = fmt.Sprintf("%d of %d required approvals on %s; %d more needed", t.counted, ru.required, shortSHA(rep.Head), rep.Missing)
		}
	case len(uncovered) > 0:
		it.Status = CheckFail
		if it.Summary == "" {
			it.Summary = fmt.Sprintf("no approval yet from a member of %s (each team needs one)", strings.Join(uncovered, ", "))
		}
	case preFailed:
		it.Summary = "not approved: a policy on the base does not parse"
	default:
		if it.Summary == "" {
			it.Summary = fmt.Sprintf("%d of %d required approvals on %s", t.counted, ru.required, shortSHA(rep.Head))
		}
	}
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// committerText names a committer: their login when the forge links
// one, else "Name <email>".
func committerText(login, name, email string) string {
	switch {
	case login != "":
		return login
	case name == "":
		return "<" + email + ">"
	case email == "":
		return name
	}
	return name + " <" + email + ">"
}

// TeamsText says who may approve under teams, as check enforces it: with
// one team its members; with several, at least one approval from a
// member of each (one person in several teams covers each of them).
func TeamsText(teams []string) string {
	switch len(teams) {
	case 0:
		return "anyone with review rights"
	case 1:
		return "members of " + teams[0]
	}
	return "a member of each of " + strings.Join(teams, ", ") + " (one approval from each team; a member of several teams covers each)"
}

// eligibleText says who may still approve, for humans.
func eligibleText(ru approvalRules, ex *exclusions) string {
	var b strings.Builder
	switch {
	case ru.role == policies.RoleWrite:
		b.WriteString(TeamsText(ru.teams))
	case len(ru.teams) == 0:
		b.WriteString("anyone with " + ru.role + " access or more")
	default:
		b.WriteString(TeamsText(ru.teams) + ", with " + ru.role + " access or more")
	}
	var not []string
	for _, p := range ex.requesters {
		not = append(not, "the requester "+p.text)
	}
	for _, p := range ex.registrants {
		not = append(not, "the registrant "+p.text)
	}
	for _, p := range ex.mergers {
		not = append(not, "the merger "+p.text)
	}
	for _, group := range []struct {
		what string
		ps   []person
	}{{"committers", ex.committers}, {"signers", ex.signers}} {
		var names []string
		for _, p := range group.ps {
			names = append(names, p.text)
		}
		sort.Strings(names)
		if len(names) > 0 {
			not = append(not, group.what+" ("+strings.Join(names, ", ")+")")
		}
	}
	if ex.author != "" {
		not = append(not, "the author "+ex.author)
	}
	not = append(not, "bots")
	b.WriteString(", except " + strings.Join(not, ", "))
	b.WriteString("; approvals count on the current head only")
	return b.String()
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	if s == "" {
		return "(no commit)"
	}
	return s
}

package check

import (
	"context"
	"fmt"
	"net/mail"
	"slices"
	"sort"
	"strings"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/forge"
)

// person is someone named in a commit or manifest ("Name <email>"),
// matched to forge logins.
type person struct {
	text   string
	name   string
	email  string
	logins []string
}

func parsePerson(s string) person {
	p := person{text: s}
	if a, err := mail.ParseAddress(s); err == nil {
		p.name, p.email = a.Name, strings.ToLower(a.Address)
	} else {
		p.name = strings.TrimSpace(s)
	}
	return p
}

// matches reports whether login may be this person: an account linked to
// their email by the forge, their GitHub no-reply address, or a login
// equal to their name or the local part of their email. It errs on
// excluding: a false match costs one approval, a miss lets someone
// approve their own change.
func (p person) matches(login string) bool {
	l := strings.ToLower(login)
	for _, x := range p.logins {
		if strings.ToLower(x) == l {
			return true
		}
	}
	local, domain, _ := strings.Cut(p.email, "@")
	if domain == "users.noreply.github.com" {
		if _, after, ok := strings.Cut(local, "+"); ok {
			local = after
		}
	}
	return (local != "" && local == l) || (p.name != "" && strings.ToLower(p.name) == l)
}

// approvals judges the reviews of pr: the latest non-comment review per
// person counts when it approves the current head and its author is
// eligible. Any API error counts as "not approved" and is said.
func (c *checkRun) approvals(ctx context.Context, pr *forge.PullRequest) {
	fg := c.opts.Forge
	rep := c.rep
	preFailed := c.items[CheckApprovals].Status == CheckFail
	required, teams := 0, []string{}
	for _, ap := range c.applied {
		required = max(required, ap.Policy.Approvals.Count)
		for _, t := range ap.Policy.Approvals.Teams {
			if !slices.Contains(teams, t) {
				teams = append(teams, t)
			}
		}
	}
	if len(c.applied) == 0 {
		// A pull request that promotes nothing (a policy or signer
		// change) still needs the default review.
		required = 1
	}
	sort.Strings(teams)
	rep.Required = required
	rep.Missing = required
	// apiFail: without the reviews or the commits nobody can say who may
	// still approve; the report says so rather than leave it blank.
	apiFail := func(what, unread string, err error) {
		c.fail(CheckApprovals, fmt.Sprintf("%s: %v; counted as not approved", what, err))
		c.items[CheckApprovals].Summary = fmt.Sprintf("not approved: the forge failed while %s (re-run the check)", what)
		rep.Eligible = fmt.Sprintf("unknown: the %s could not be read (re-run the check)", unread)
	}
	reviews, err := forge.LatestReviews(ctx, fg, pr.Number)
	if err != nil {
		apiFail("reading the reviews", "reviews", err)
		return
	}
	commits, err := fg.ListCommits(ctx, pr.Number)
	if err != nil {
		apiFail("reading the commits", "commits", err)
		return
	}
	// Who may not approve. A committer is matched by the login the forge
	// links to their email and, like a requester, by their name or the
	// local part of their email: the forge links no login to an email it
	// has not verified, which must not let that committer approve.
	byEmail := map[string][]string{}
	var committers []person
	for _, cm := range commits {
		for _, who := range [][3]string{{cm.AuthorLogin, cm.AuthorName, cm.AuthorEmail}, {cm.CommitterLogin, cm.CommitterName, cm.CommitterEmail}} {
			login, name, email := who[0], who[1], strings.ToLower(who[2])
			if login != "" && !slices.Contains(byEmail[email], login) {
				byEmail[email] = append(byEmail[email], login)
			}
			if login == "" && name == "" && email == "" {
				continue
			}
			p := person{text: committerText(login, name, email), name: name, email: email}
			if login != "" {
				p.logins = []string{login}
			}
			if !slices.ContainsFunc(committers, func(q person) bool { return q.text == p.text }) {
				committers = append(committers, p)
			}
		}
	}
	link := func(p person) person {
		p.logins = byEmail[p.email]
		return p
	}
	var requesters, registrants []person
	for _, s := range c.requesters() {
		requesters = append(requesters, link(parsePerson(s)))
	}
	for _, mv := range c.candidates {
		registrants = append(registrants, link(parsePerson(mv.RegisteredBy)))
	}
	anyMatch := func(ps []person, login string) (string, bool) {
		for _, p := range ps {
			if p.matches(login) {
				return p.text, true
			}
		}
		return "", false
	}
	covered := map[string]bool{}
	counted := 0
	var blocking []string
	for _, rv := range reviews {
		a := Approval{User: rv.User, State: rv.State, CommitID: rv.CommitID}
		login := strings.ToLower(rv.User)
		isBot := strings.EqualFold(rv.UserType, "Bot") || strings.HasSuffix(login, "[bot]")
		switch {
		case isBot:
			a.Reason = "a bot"
		case strings.EqualFold(rv.User, pr.Author):
			a.Reason = "opened the pull request"
		default:
			if who, ok := anyMatch(requesters, rv.User); ok {
				a.Reason = "requested the promotion (Requested-by: " + who + ")"
			} else if who, ok := anyMatch(registrants, rv.User); ok {
				a.Reason = "registered the version (" + who + ")"
			} else if who, ok := anyMatch(committers, rv.User); ok {
				a.Reason = "committed to the pull request"
				if !strings.EqualFold(who, rv.User) {
					a.Reason += " (" + who + ")"
				}
			}
		}
		eligible := a.Reason == ""
		switch {
		case rv.State == forge.ReviewChangesRequested:
			if eligible {
				blocking = append(blocking, rv.User)
			}
			if a.Reason == "" {
				a.Reason = "requested changes"
			}
		case rv.State != forge.ReviewApproved:
			if a.Reason == "" {
				a.Reason = "review " + strings.ToLower(rv.State)
			}
		case rv.CommitID != rep.Head:
			if a.Reason == "" {
				a.Reason = fmt.Sprintf("approved an older head %s, not %s", shortSHA(rv.CommitID), shortSHA(rep.Head))
			}
		case !eligible:
		case len(teams) > 0:
			var in []string
			var apiErr error
			for _, t := range teams {
				org, slug, _ := strings.Cut(t, "/")
				ok, err := fg.IsTeamMember(ctx, org, slug, rv.User)
				if err != nil {
					apiErr = err
					continue
				}
				if ok {
					in = append(in, t)
				}
			}
			switch {
			case len(in) > 0:
				a.Counted = true
				for _, t := range in {
					covered[t] = true
				}
			case apiErr != nil:
				a.Reason = fmt.Sprintf("membership of %s could not be read (%v); counted as not approved", strings.Join(teams, ", "), apiErr)

			default:
				a.Reason = "not a member of " + gitops.OrList(teams)
			}
		default:
			a.Counted = true
		}
		if a.Counted {
			counted++
		}
		rep.Approvals = append(rep.Approvals, a)
	}
	rep.Missing = max(0, required-counted)
	var uncovered []string
	for _, t := range teams {
		if !covered[t] {
			uncovered = append(uncovered, t)
		}
	}
	for _, a := range rep.Approvals {
		line := fmt.Sprintf("%s: %s on %s", a.User, strings.ToLower(a.State), shortSHA(a.CommitID))
		if a.Counted {
			line += ": counts"
		} else {
			line += ": does not count: " + a.Reason
		}
		c.pass(CheckApprovals, line)
	}
	rep.Eligible = c.eligibleText(teams, requesters, registrants, committers, pr)
	it := c.items[CheckApprovals]
	switch {
	case len(blocking) > 0:
		it.Status = CheckFail
		it.Summary = fmt.Sprintf("changes requested by %s", strings.Join(blocking, ", "))
	case rep.Missing > 0:
		it.Status = CheckFail
		if it.Summary == "" {
			it.Summary = fmt.Sprintf("%d of %d required approvals on %s; %d more needed", counted, required, shortSHA(rep.Head), rep.Missing)
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
			it.Summary = fmt.Sprintf("%d of %d required approvals on %s", counted, required, shortSHA(rep.Head))
		}
	}
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
func (c *checkRun) eligibleText(teams []string, requesters, registrants, committers []person, pr *forge.PullRequest) string {
	var b strings.Builder
	b.WriteString(TeamsText(teams))
	var not []string
	for _, p := range requesters {
		not = append(not, "the requester "+p.text)
	}
	for _, p := range registrants {
		not = append(not, "the registrant "+p.text)
	}
	var cs []string
	for _, p := range committers {
		cs = append(cs, p.text)
	}
	sort.Strings(cs)
	if len(cs) > 0 {
		not = append(not, "committers ("+strings.Join(cs, ", ")+")")
	}
	if pr.Author != "" {
		not = append(not, "the author "+pr.Author)
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

package check

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/forge"
	"github.com/modelgit/modelgit/manifests"
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

// matches reports whether login may be this person: an account the forge
// links to them, their GitHub no-reply address, or a login equal to their
// name or the local part of their email. It errs on excluding: a false
// match costs one approval, a miss lets someone approve their own change.
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

// exclusions are the people who may not approve a pull request, each
// resolved to the forge logins GitHub links to them.
type exclusions struct {
	author      string
	requesters  []person
	registrants []person
	committers  []person
	signers     []person
	// mergers is who makes the merge (merge --local): the merger and
	// their signing key's principal.
	mergers []person
}

// reason says why login may not approve, "" when nothing excludes them.
// isBot is the forge's word that the account is a bot.
func (e *exclusions) reason(login string, isBot bool) string {
	switch {
	case isBot || strings.HasSuffix(strings.ToLower(login), "[bot]"):
		return "a bot"
	case strings.EqualFold(login, e.author):
		return "opened the pull request"
	}
	return e.matching(func(p person) bool { return p.matches(login) }, login)
}

// matching says why someone match finds among the excluded may not
// approve ("" when nobody): who is how the approver is named.
func (e *exclusions) matching(match func(person) bool, who string) string {
	anyMatch := func(ps []person) (string, bool) {
		for _, p := range ps {
			if match(p) {
				return p.text, true
			}
		}
		return "", false
	}
	if what, ok := anyMatch(e.mergers); ok {
		return "merges the promotion (" + what + ")"
	}
	if what, ok := anyMatch(e.requesters); ok {
		return "requested the promotion (Requested-by: " + what + ")"
	}
	if what, ok := anyMatch(e.registrants); ok {
		return "registered the version (" + what + ")"
	}
	if what, ok := anyMatch(e.committers); ok {
		if strings.EqualFold(what, who) {
			return "committed to the pull request"
		}
		return "committed to the pull request (" + what + ")"
	}
	if what, ok := anyMatch(e.signers); ok {
		return "signed the pull request's commits (" + what + ")"
	}
	return ""
}

// loginLinks are the forge accounts GitHub links to commits, as it shows
// them on each commit (author.login, committer.login): by SHA, and by the
// commit emails they were linked through.
type loginLinks struct {
	bySHA   map[string]forge.Commit
	byEmail map[string][]string
}

func (l *loginLinks) add(cm forge.Commit) {
	l.bySHA[cm.SHA] = cm
	for _, who := range [][2]string{{cm.AuthorLogin, cm.AuthorEmail}, {cm.CommitterLogin, cm.CommitterEmail}} {
		email := strings.ToLower(who[1])
		if who[0] != "" && email != "" && !slices.Contains(l.byEmail[email], who[0]) {
			l.byEmail[email] = append(l.byEmail[email], who[0])
		}
	}
}

// resolve makes sure every commit of cms has its logins: those the pull
// request's commit list did not give (GitHub lists at most 250; a
// registration commit is on the base) are read one by one. A commit the
// forge does not have links nobody.
func (l *loginLinks) resolve(ctx context.Context, fg forge.Forge, cms []*object.Commit) error {
	for _, cm := range cms {
		sha := cm.Hash.String()
		if _, ok := l.bySHA[sha]; ok {
			continue
		}
		got, err := fg.GetCommit(ctx, sha)
		switch {
		case errors.Is(err, forge.ErrNotFound):
			got = &forge.Commit{SHA: sha}
		case err != nil:
			return err
		}
		got.SHA = sha
		l.add(*got)
	}
	return nil
}

// link adds to p the logins linked to their email.
func (l *loginLinks) link(p person) person {
	for _, x := range l.byEmail[p.email] {
		if !slices.Contains(p.logins, x) {
			p.logins = append(p.logins, x)
		}
	}
	return p
}

// people are the authors and committers of cms, named by login when the
// forge links one, from git itself (name and email) and the forge (the
// login on the commit and every login linked to the email). A person
// appears once.
func (l *loginLinks) people(cms []*object.Commit) []person {
	var out []person
	for _, cm := range cms {
		fc := l.bySHA[cm.Hash.String()]
		for _, who := range []struct {
			login string
			sig   object.Signature
		}{{fc.AuthorLogin, cm.Author}, {fc.CommitterLogin, cm.Committer}} {
			email := strings.ToLower(who.sig.Email)
			if who.login == "" && who.sig.Name == "" && email == "" {
				continue
			}
			p := person{text: committerText(who.login, who.sig.Name, email), name: who.sig.Name, email: email}
			if who.login != "" {
				p.logins = []string{who.login}
			}
			p = l.link(p)
			if !slices.ContainsFunc(out, func(q person) bool { return q.text == p.text }) {
				out = append(out, p)
			}
		}
	}
	return out
}

// excluded resolves everyone who may not approve pr to forge logins: the
// pull request's author; the committers and authors of its commits, taken
// from git (merge base to head, past the 250 commits the forge lists);
// the registrants of the versions it promotes, with the commits that
// registered them (on the base branch, where the pull request's own
// commits do not link their emails); the requesters named in
// Requested-by; and the principals of the keys that signed its commits.
// Logins come from the forge as GitHub shows them on each commit.
func (c *checkRun) excluded(ctx context.Context, pr *forge.PullRequest) (*exclusions, error) {
	fg := c.opts.Forge
	links := newLoginLinks()
	listed, err := fg.ListCommits(ctx, pr.Number)
	if err != nil {
		return nil, err
	}
	for _, cm := range listed {
		links.add(cm)
	}
	regs, err := c.registrationCommits(ctx)
	if err != nil {
		return nil, err
	}
	if err := links.resolve(ctx, fg, append(append([]*object.Commit{}, c.commit...), regs...)); err != nil {
		return nil, err
	}
	ex := c.exclusionsFrom(links, regs)
	ex.author = pr.Author
	return ex, nil
}

func newLoginLinks() *loginLinks {
	return &loginLinks{bySHA: map[string]forge.Commit{}, byEmail: map[string][]string{}}
}

// exclusionsFrom names the people excluded from approving, with the
// logins links gives them: the committers and authors of the range, the
// requesters, the registrants (of the candidates and of their
// registration commits regs) and the signers.
func (c *checkRun) exclusionsFrom(links *loginLinks, regs []*object.Commit) *exclusions {
	ex := &exclusions{committers: links.people(c.commit)}
	for _, s := range c.requesters() {
		ex.requesters = append(ex.requesters, links.link(parsePerson(s)))
	}
	for _, mv := range c.candidates {
		ex.registrants = append(ex.registrants, links.link(parsePerson(mv.RegisteredBy)))
	}
	for _, p := range links.people(regs) {
		if !slices.ContainsFunc(ex.registrants, func(q person) bool { return q.email != "" && q.email == p.email }) {
			ex.registrants = append(ex.registrants, p)
		}
	}
	for _, s := range c.signerPrincipals() {
		ex.signers = append(ex.signers, links.link(parsePerson(s)))
	}
	return ex
}

// signerPrincipals are the principals of the allowed keys (at the base)
// that signed the pull request's commits.
func (c *checkRun) signerPrincipals() []string {
	var out []string
	for _, cm := range c.commit {
		if cm.PGPSignature == "" {
			continue
		}
		s := gitops.SignatureOf(cm, c.trust)
		if s.Trusted && s.Signer != "" && !slices.Contains(out, s.Signer) {
			out = append(out, s.Signer)
		}
	}
	return out
}

// registrationCommits are the commits that added the manifests of the
// versions the pull request promotes (a version manifest is added once
// and never changed: the immutability check holds it).
func (c *checkRun) registrationCommits(ctx context.Context) ([]*object.Commit, error) {
	var out []*object.Commit
	for _, mv := range c.candidates {
		p := manifests.VersionFile(mv.Model, mv.Version.String())
		h, err := c.r.Repo().AddedIn(ctx, c.head.Hash, p)
		if err != nil {
			return nil, fmt.Errorf("finding the commit that registered %s: %w", p, err)
		}
		if h.IsZero() || slices.ContainsFunc(out, func(x *object.Commit) bool { return x.Hash == h }) {
			continue
		}
		cm, err := c.r.Repo().CommitObject(h)
		if err != nil {
			return nil, fmt.Errorf("reading the commit that registered %s: %w", p, err)
		}
		out = append(out, cm)
	}
	return out, nil
}

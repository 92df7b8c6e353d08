package forge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"
)

// GitHubOptions configures NewGitHub.
type GitHubOptions struct {
	// Repository is OWNER/NAME.
	Repository string
	// Token authenticates every request ("Bearer") to the API's origin
	// (scheme, host and port of BaseURL) and to no other, redirects
	// included; it never appears in errors.
	Token string
	// BaseURL is the API root: "" for api.github.com, or a GitHub
	// Enterprise Server such as https://ghe.example.com/api/v3/ ("/api/v3/"
	// is added when missing).
	BaseURL string
	// HTTPClient sends requests; its transport is wrapped with retries.
	HTTPClient *http.Client
	// Attempts bounds the tries of an idempotent read (GET) on 5xx or
	// timeout; default 3.
	Attempts int
	// RequestTimeout bounds one attempt; default 30s.
	RequestTimeout time.Duration
	// RetryBackoff is the wait before the second attempt, doubling after;
	// default 250ms.
	RetryBackoff time.Duration
}

// TokenFromEnv returns $GH_TOKEN, else $GITHUB_TOKEN, else "".
func TokenFromEnv() string {
	if t := os.Getenv("GH_TOKEN"); t != "" {
		return t
	}
	return os.Getenv("GITHUB_TOKEN")
}

// GitHub is the Forge over the GitHub REST API.
type GitHub struct {
	client      githubClient
	owner, repo string
	clean       sanitizer

	selfOnce sync.Once
	self     string // the token's login; "" when GitHub does not say
}

// login returns who the token authenticates as. An installation token
// (GitHub Actions' GITHUB_TOKEN) may not read /user: then "".
func (g *GitHub) login(ctx context.Context) string {
	g.selfOnce.Do(func() {
		if u, _, err := g.client.authenticatedUser(ctx); err == nil {
			g.self = u.GetLogin()
		}
	})
	return g.self
}

// ours reports whether a comment was written by modelgit's own identity:
// the token's login when known, else a bot account (as the Actions token
// posts as github-actions[bot]). A person who pastes the marker into a
// comment of theirs does not capture the sticky comment.
func (g *GitHub) ours(ctx context.Context, c *github.IssueComment) bool {
	if self := g.login(ctx); self != "" {
		return c.GetUser().GetLogin() == self
	}
	return c.GetUser().GetType() == "Bot"
}

var _ Forge = (*GitHub)(nil)

// NewGitHub returns the Forge for opts.Repository on GitHub or GitHub
// Enterprise Server.
func NewGitHub(opts GitHubOptions) (*GitHub, error) {
	owner, repo, ok := strings.Cut(opts.Repository, "/")
	if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
		return nil, fmt.Errorf("creating GitHub forge for %q: repository is not valid; want OWNER/NAME", opts.Repository)
	}
	hc := &http.Client{}
	if opts.HTTPClient != nil {
		copied := *opts.HTTPClient
		hc = &copied
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	rt := &retryTransport{base: base, attempts: opts.Attempts, timeout: opts.RequestTimeout, backoff: opts.RetryBackoff}
	if rt.attempts <= 0 {
		rt.attempts = 3
	}
	if rt.timeout <= 0 {
		rt.timeout = 30 * time.Second
	}
	if rt.backoff <= 0 {
		rt.backoff = 250 * time.Millisecond
	}
	origin := Origin("https://api.github.com/")
	if opts.BaseURL != "" {
		origin = Origin(opts.BaseURL)
	}
	hc.Transport = originOnly{base: rt, origin: origin}
	c := github.NewClient(hc)
	if opts.Token != "" {
		c = c.WithAuthToken(opts.Token)
	}
	if opts.BaseURL != "" {
		var err error
		c, err = c.WithEnterpriseURLs(opts.BaseURL, opts.BaseURL)
		if err != nil {
			return nil, fmt.Errorf("creating GitHub forge for %q: parsing base URL %q: %w", opts.Repository, sanitizer{opts.Token}.clean(opts.BaseURL), errors.New("not a URL"))
		}
	}
	return &GitHub{client: goGitHub{c}, owner: owner, repo: repo, clean: sanitizer{opts.Token}}, nil
}

// wrap maps a go-github error to modelgit's typed errors, removing the
// token and URL queries, and prefixes what was being done.
func (g *GitHub) wrap(err error, format string, a ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, a...), g.mapErr(err))
}

func (g *GitHub) mapErr(err error) error {
	var rle *github.RateLimitError
	var abuse *github.AbuseRateLimitError
	var er *github.ErrorResponse
	switch {
	case errors.As(err, &rle):
		return &RateLimitError{Reset: rle.Rate.Reset.Time, Message: g.clean.clean(rle.Message)}
	case errors.As(err, &abuse):
		reset := time.Time{}
		if abuse.RetryAfter != nil {
			reset = time.Now().Add(*abuse.RetryAfter)
		}
		return &RateLimitError{Reset: reset, Message: g.clean.clean(abuse.Message)}
	case errors.As(err, &er):
		status := 0
		if er.Response != nil {
			status = er.Response.StatusCode
		}
		msg := er.Message
		for _, d := range er.Errors {
			switch {
			case d.Message != "":
				msg += ": " + d.Message
			case d.Field != "":
				msg += fmt.Sprintf(": %s %s %s", d.Resource, d.Field, d.Code)
			}
		}
		msg = g.clean.clean(msg)
		if status == http.StatusTooManyRequests {
			return &RateLimitError{Reset: resetFromHeaders(er.Response), Message: msg}
		}
		ae := &APIError{Status: status, Message: msg}
		switch status {
		case http.StatusNotFound:
			ae.kind = ErrNotFound
		case http.StatusUnauthorized, http.StatusForbidden:
			ae.kind = ErrUnauthorized
		}
		return ae
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &sanitizedError{msg: g.clean.clean(err.Error()), kind: contextErr(err)}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &sanitizedError{msg: g.clean.clean(err.Error()), kind: ErrTimeout}
	}
	return &sanitizedError{msg: g.clean.clean(err.Error())}
}

func contextErr(err error) error {
	if errors.Is(err, context.Canceled) {
		return context.Canceled
	}
	return context.DeadlineExceeded
}

func resetFromHeaders(resp *http.Response) time.Time {
	if resp == nil {
		return time.Time{}
	}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil {
			return time.Now().Add(time.Duration(n) * time.Second)
		}
	}
	if s := resp.Header.Get("X-RateLimit-Reset"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.Unix(n, 0)
		}
	}
	return time.Time{}
}

func toPR(p *github.PullRequest) *PullRequest {
	pr := &PullRequest{
		Number:         p.GetNumber(),
		Title:          p.GetTitle(),
		Body:           p.GetBody(),
		Head:           p.GetHead().GetRef(),
		Base:           p.GetBase().GetRef(),
		HeadSHA:        p.GetHead().GetSHA(),
		BaseSHA:        p.GetBase().GetSHA(),
		State:          p.GetState(),
		Author:         p.GetUser().GetLogin(),
		URL:            p.GetHTMLURL(),
		Merged:         p.GetMerged() || p.MergedAt != nil,
		MergeCommitSHA: p.GetMergeCommitSHA(),
	}
	if pr.Merged {
		pr.State = "merged"
	} else {
		pr.MergeCommitSHA = "" // GitHub fills it with a test merge while open
	}
	for _, l := range p.Labels {
		pr.Labels = append(pr.Labels, l.GetName())
	}
	return pr
}

const perPage = 100

// FindPullRequest implements Forge.
func (g *GitHub) FindPullRequest(ctx context.Context, head, base string) (*PullRequest, error) {
	opts := &github.PullRequestListOptions{State: "open", Head: g.owner + ":" + head, Base: base, ListOptions: github.ListOptions{PerPage: perPage}}
	for {
		prs, resp, err := g.client.listPulls(ctx, g.owner, g.repo, opts)
		if err != nil {
			return nil, g.wrap(err, "finding pull request for %q into %q", head, base)
		}
		for _, p := range prs {
			if p.GetHead().GetRef() == head && p.GetBase().GetRef() == base {
				return toPR(p), nil
			}
		}
		if resp.NextPage == 0 {
			return nil, nil
		}
		opts.Page = resp.NextPage
	}
}

// CreatePullRequest implements Forge.
func (g *GitHub) CreatePullRequest(ctx context.Context, spec PullRequestSpec) (*PullRequest, error) {
	p, _, err := g.client.createPull(ctx, g.owner, g.repo, &github.NewPullRequest{
		Title: github.String(spec.Title),
		Body:  github.String(spec.Body),
		Head:  github.String(spec.Head),
		Base:  github.String(spec.Base),
	})
	if err != nil {
		return nil, g.wrap(err, "creating pull request for %q into %q", spec.Head, spec.Base)
	}
	pr := toPR(p)
	if missing := missingLabels(pr.Labels, spec.Labels); len(missing) > 0 {
		labels, err := g.AddLabels(ctx, pr.Number, missing)
		if err != nil {
			return pr, err
		}
		pr.Labels = labels
	}
	return pr, nil
}

// AddLabels implements Forge.
func (g *GitHub) AddLabels(ctx context.Context, number int, labels []string) ([]string, error) {
	got, _, err := g.client.addLabels(ctx, g.owner, g.repo, number, labels)
	if err != nil {
		return nil, g.wrap(err, "labelling pull request #%d", number)
	}
	out := make([]string, 0, len(got))
	for _, l := range got {
		out = append(out, l.GetName())
	}
	return out, nil
}

// UpdatePullRequest implements Forge.
func (g *GitHub) UpdatePullRequest(ctx context.Context, number int, title, body string) (*PullRequest, error) {
	p, _, err := g.client.editPull(ctx, g.owner, g.repo, number, &github.PullRequest{Title: github.String(title), Body: github.String(body)})
	if err != nil {
		return nil, g.wrap(err, "updating pull request #%d", number)
	}
	return toPR(p), nil
}

// GetPullRequest implements Forge.
func (g *GitHub) GetPullRequest(ctx context.Context, number int) (*PullRequest, error) {
	p, _, err := g.client.getPull(ctx, g.owner, g.repo, number)
	if err != nil {
		return nil, g.wrap(err, "getting pull request #%d", number)
	}
	return toPR(p), nil
}

// ListPullRequests implements Forge. State "merged" lists closed PRs that
// were merged.
func (g *GitHub) ListPullRequests(ctx context.Context, state, headPrefix string) ([]*PullRequest, error) {
	apiState := state
	switch state {
	case "":
		apiState = "open"
	case "merged":
		apiState = "closed"
	case "open", "closed", "all":
	default:
		return nil, fmt.Errorf("listing pull requests in state %q: want open, closed, merged or all", state)
	}
	opts := &github.PullRequestListOptions{State: apiState, ListOptions: github.ListOptions{PerPage: perPage}}
	var out []*PullRequest
	for {
		prs, resp, err := g.client.listPulls(ctx, g.owner, g.repo, opts)
		if err != nil {
			return nil, g.wrap(err, "listing %s pull requests", apiState)
		}
		for _, p := range prs {
			pr := toPR(p)
			if !strings.HasPrefix(pr.Head, headPrefix) || (state == "merged" && !pr.Merged) {
				continue
			}
			out = append(out, pr)
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// ListReviews implements Forge.
func (g *GitHub) ListReviews(ctx context.Context, number int) ([]Review, error) {
	opts := &github.ListOptions{PerPage: perPage}
	var out []Review
	for {
		rs, resp, err := g.client.listReviews(ctx, g.owner, g.repo, number, opts)
		if err != nil {
			return nil, g.wrap(err, "listing reviews of pull request #%d", number)
		}
		for _, r := range rs {
			out = append(out, Review{
				ID:          r.GetID(),
				User:        r.GetUser().GetLogin(),
				State:       r.GetState(),
				CommitID:    r.GetCommitID(),
				SubmittedAt: r.GetSubmittedAt().Time,
				UserType:    r.GetUser().GetType(),
			})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// IsTeamMember implements Forge.
func (g *GitHub) IsTeamMember(ctx context.Context, org, team, user string) (bool, error) {
	m, _, err := g.client.teamMembership(ctx, org, team, user)
	if err != nil {
		mapped := g.mapErr(err)
		if errors.Is(mapped, ErrNotFound) {
			return false, nil
		}
		return false, fmt.Errorf("reading membership of %q in team %q: %w", user, org+"/"+team, mapped)
	}
	return m.GetState() == "active", nil
}

// maxPullCommits is the most commits GitHub lists for a pull request
// ("Lists a maximum of 250 commits for a pull request"); past it,
// ListCommits pages through the compare API.
const maxPullCommits = 250

func toCommit(c *github.RepositoryCommit) Commit {
	return Commit{
		SHA:            c.GetSHA(),
		AuthorLogin:    c.GetAuthor().GetLogin(),
		CommitterLogin: c.GetCommitter().GetLogin(),
		AuthorName:     c.GetCommit().GetAuthor().GetName(),
		AuthorEmail:    c.GetCommit().GetAuthor().GetEmail(),
		CommitterName:  c.GetCommit().GetCommitter().GetName(),
		CommitterEmail: c.GetCommit().GetCommitter().GetEmail(),
	}
}

// ListCommits implements Forge. A PR listing GitHub's cap of 250 commits
// may have more: then the commits are read again, all of them, from the
// compare API between the PR's base and head SHAs.
func (g *GitHub) ListCommits(ctx context.Context, number int) ([]Commit, error) {
	opts := &github.ListOptions{PerPage: perPage}
	var out []Commit
	for {
		cs, resp, err := g.client.listPullCommits(ctx, g.owner, g.repo, number, opts)
		if err != nil {
			return nil, g.wrap(err, "listing commits of pull request #%d", number)
		}
		for _, c := range cs {
			out = append(out, toCommit(c))
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if len(out) < maxPullCommits {
		return out, nil
	}
	pr, err := g.GetPullRequest(ctx, number)
	if err != nil {
		return nil, fmt.Errorf("listing the commits of pull request #%d past %d: %w", number, maxPullCommits, err)
	}
	return g.compareCommits(ctx, pr.BaseSHA, pr.HeadSHA)
}

// compareCommits lists the commits reachable from head and not from base,
// oldest first, all pages.
func (g *GitHub) compareCommits(ctx context.Context, base, head string) ([]Commit, error) {
	opts := &github.ListOptions{PerPage: perPage}
	var out []Commit
	for {
		cmp, resp, err := g.client.compare(ctx, g.owner, g.repo, base, head, opts)
		if err != nil {
			return nil, g.wrap(err, "comparing %s...%s", base, head)
		}
		for _, c := range cmp.Commits {
			out = append(out, toCommit(c))
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// User implements Forge.
func (g *GitHub) User(ctx context.Context, login string) (*User, error) {
	if login == "" {
		// go-github reads the token's own account for "".
		return nil, fmt.Errorf("reading user: no login given")
	}
	u, _, err := g.client.getUser(ctx, login)
	if err != nil {
		return nil, g.wrap(err, "reading user %q", login)
	}
	return &User{Login: u.GetLogin(), ID: u.GetID(), Name: u.GetName(), Email: u.GetEmail()}, nil
}

// SetStatus implements Forge. An empty Context is StatusContext; a
// Description longer than GitHub's 140 characters is shortened.
func (g *GitHub) SetStatus(ctx context.Context, sha string, st Status) error {
	switch st.State {
	case "pending", "success", "failure", "error":
	default:
		return fmt.Errorf("setting status on %q: state %q is not valid; want pending, success, failure or error", sha, st.State)
	}
	if st.Context == "" {
		st.Context = StatusContext
	}
	if r := []rune(st.Description); len(r) > 140 {
		st.Description = string(r[:139]) + "…"
	}
	rs := &github.RepoStatus{State: github.String(st.State), Context: github.String(st.Context), Description: github.String(st.Description)}
	if st.TargetURL != "" {
		rs.TargetURL = github.String(st.TargetURL)
	}
	_, _, err := g.client.createStatus(ctx, g.owner, g.repo, sha, rs)
	return g.wrap(err, "setting status %q on %q", st.Context, sha)
}

// UpsertComment implements Forge.
func (g *GitHub) UpsertComment(ctx context.Context, number int, marker, body string) (*Comment, error) {
	if err := checkMarker(marker); err != nil {
		return nil, err
	}
	mark := Marker(marker)
	full := mark + "\n" + body
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: perPage}}
	var found *github.IssueComment
	for found == nil {
		cs, resp, err := g.client.listComments(ctx, g.owner, g.repo, number, opts)
		if err != nil {
			return nil, g.wrap(err, "listing comments of pull request #%d", number)
		}
		for _, c := range cs {
			if strings.HasPrefix(c.GetBody(), mark) && g.ours(ctx, c) {
				found = c
				break
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	toComment := func(c *github.IssueComment) *Comment {
		return &Comment{ID: c.GetID(), User: c.GetUser().GetLogin(), Body: c.GetBody()}
	}
	if found != nil {
		if found.GetBody() == full {
			return toComment(found), nil
		}
		c, _, err := g.client.editComment(ctx, g.owner, g.repo, found.GetID(), &github.IssueComment{Body: github.String(full)})
		if err != nil {
			return nil, g.wrap(err, "editing comment %d on pull request #%d", found.GetID(), number)
		}
		return toComment(c), nil
	}
	c, _, err := g.client.createComment(ctx, g.owner, g.repo, number, &github.IssueComment{Body: github.String(full)})
	if err != nil {
		return nil, g.wrap(err, "commenting on pull request #%d", number)
	}
	return toComment(c), nil
}

// Merge implements Forge.
func (g *GitHub) Merge(ctx context.Context, number int, sha, message, method string) (string, error) {
	if sha == "" {
		return "", fmt.Errorf("merging pull request #%d: no head SHA to pin the merge to", number)
	}
	if method == "" {
		method = MergeMethodMerge
	}
	title, rest, _ := strings.Cut(message, "\n")
	rest = strings.TrimLeft(rest, "\n")
	res, _, err := g.client.mergePull(ctx, g.owner, g.repo, number, rest, &github.PullRequestOptions{
		CommitTitle:        title,
		SHA:                sha,
		MergeMethod:        method,
		DontDefaultIfBlank: message != "",
	})
	if err == nil {
		if !res.GetMerged() {
			return "", fmt.Errorf("merging pull request #%d at %s: %w: %s", number, sha, ErrNotMergeable, g.clean.clean(res.GetMessage()))
		}
		return res.GetSHA(), nil
	}
	mapped := g.mapErr(err)
	var ae *APIError
	if errors.As(mapped, &ae) {
		if kind := mergeRefusal(ae.Status, ae.Message); kind != nil {
			ae.kind = kind
		}
	}
	// The merge may have happened although we got no clear answer (5xx,
	// timeout) or it happened on an earlier run (405): read the PR back
	// instead of re-sending the merge.
	unclear := errors.Is(mapped, ErrTimeout) || (ae != nil && ae.Status >= 500)
	if unclear || errors.Is(mapped, ErrNotMergeable) {
		if pr, gerr := g.GetPullRequest(ctx, number); gerr == nil && pr.Merged && pr.HeadSHA == sha && pr.MergeCommitSHA != "" {
			return pr.MergeCommitSHA, nil
		}
	}
	return "", fmt.Errorf("merging pull request #%d at %s: %w", number, sha, mapped)
}

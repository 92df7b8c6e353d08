package forge

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/google/go-github/v60/github"
)

// githubClient is the narrow slice of go-github that GitHub uses, so that
// the calls GitHub makes stay in one place (this file).
type githubClient interface {
	listPulls(ctx context.Context, owner, repo string, opts *github.PullRequestListOptions) ([]*github.PullRequest, *github.Response, error)
	createPull(ctx context.Context, owner, repo string, pull *github.NewPullRequest) (*github.PullRequest, *github.Response, error)
	getPull(ctx context.Context, owner, repo string, number int) (*github.PullRequest, *github.Response, error)
	editPull(ctx context.Context, owner, repo string, number int, pull *github.PullRequest) (*github.PullRequest, *github.Response, error)
	mergePull(ctx context.Context, owner, repo string, number int, msg string, opts *github.PullRequestOptions) (*github.PullRequestMergeResult, *github.Response, error)
	listReviews(ctx context.Context, owner, repo string, number int, opts *github.ListOptions) ([]*github.PullRequestReview, *github.Response, error)
	listPullCommits(ctx context.Context, owner, repo string, number int, opts *github.ListOptions) ([]*github.RepositoryCommit, *github.Response, error)
	addLabels(ctx context.Context, owner, repo string, number int, labels []string) ([]*github.Label, *github.Response, error)
	listComments(ctx context.Context, owner, repo string, number int, opts *github.IssueListCommentsOptions) ([]*github.IssueComment, *github.Response, error)
	createComment(ctx context.Context, owner, repo string, number int, c *github.IssueComment) (*github.IssueComment, *github.Response, error)
	editComment(ctx context.Context, owner, repo string, id int64, c *github.IssueComment) (*github.IssueComment, *github.Response, error)
	createStatus(ctx context.Context, owner, repo, ref string, st *github.RepoStatus) (*github.RepoStatus, *github.Response, error)
	teamMembership(ctx context.Context, org, slug, user string) (*github.Membership, *github.Response, error)
	authenticatedUser(ctx context.Context) (*github.User, *github.Response, error)
	getUser(ctx context.Context, login string) (*github.User, *github.Response, error)
	getCommit(ctx context.Context, owner, repo, sha string) (*github.RepositoryCommit, *github.Response, error)
	compare(ctx context.Context, owner, repo, base, head string, opts *github.ListOptions) (*github.CommitsComparison, *github.Response, error)
	permission(ctx context.Context, owner, repo, user string) (*permissionLevel, *github.Response, error)
	protection(ctx context.Context, owner, repo, branch string) (*github.Protection, *github.Response, error)
	getBranch(ctx context.Context, owner, repo, branch string) (*github.Branch, *github.Response, error)
	rulesForBranch(ctx context.Context, owner, repo, branch string, opts *github.ListOptions) ([]*branchRule, *github.Response, error)
}

// branchRule is one rule of GET /rules/branches/{branch}; go-github v60's
// RepositoryRule drops the ruleset it comes from and the pull_request
// rule's allowed_merge_methods.
type branchRule struct {
	Type       string          `json:"type"`
	Parameters json.RawMessage `json:"parameters"`
	RulesetID  int64           `json:"ruleset_id"`
}

type goGitHub struct{ c *github.Client }

func (g goGitHub) listPulls(ctx context.Context, owner, repo string, opts *github.PullRequestListOptions) ([]*github.PullRequest, *github.Response, error) {
	return g.c.PullRequests.List(ctx, owner, repo, opts)
}

func (g goGitHub) createPull(ctx context.Context, owner, repo string, pull *github.NewPullRequest) (*github.PullRequest, *github.Response, error) {
	return g.c.PullRequests.Create(ctx, owner, repo, pull)
}

func (g goGitHub) getPull(ctx context.Context, owner, repo string, number int) (*github.PullRequest, *github.Response, error) {
	return g.c.PullRequests.Get(ctx, owner, repo, number)
}

func (g goGitHub) editPull(ctx context.Context, owner, repo string, number int, pull *github.PullRequest) (*github.PullRequest, *github.Response, error) {
	return g.c.PullRequests.Edit(ctx, owner, repo, number, pull)
}

func (g goGitHub) mergePull(ctx context.Context, owner, repo string, number int, msg string, opts *github.PullRequestOptions) (*github.PullRequestMergeResult, *github.Response, error) {
	return g.c.PullRequests.Merge(ctx, owner, repo, number, msg, opts)
}

func (g goGitHub) listReviews(ctx context.Context, owner, repo string, number int, opts *github.ListOptions) ([]*github.PullRequestReview, *github.Response, error) {
	return g.c.PullRequests.ListReviews(ctx, owner, repo, number, opts)
}

func (g goGitHub) listPullCommits(ctx context.Context, owner, repo string, number int, opts *github.ListOptions) ([]*github.RepositoryCommit, *github.Response, error) {
	return g.c.PullRequests.ListCommits(ctx, owner, repo, number, opts)
}

func (g goGitHub) addLabels(ctx context.Context, owner, repo string, number int, labels []string) ([]*github.Label, *github.Response, error) {
	return g.c.Issues.AddLabelsToIssue(ctx, owner, repo, number, labels)
}

func (g goGitHub) listComments(ctx context.Context, owner, repo string, number int, opts *github.IssueListCommentsOptions) ([]*github.IssueComment, *github.Response, error) {
	return g.c.Issues.ListComments(ctx, owner, repo, number, opts)
}

func (g goGitHub) createComment(ctx context.Context, owner, repo string, number int, c *github.IssueComment) (*github.IssueComment, *github.Response, error) {
	return g.c.Issues.CreateComment(ctx, owner, repo, number, c)
}

func (g goGitHub) editComment(ctx context.Context, owner, repo string, id int64, c *github.IssueComment) (*github.IssueComment, *github.Response, error) {
	return g.c.Issues.EditComment(ctx, owner, repo, id, c)
}

func (g goGitHub) createStatus(ctx context.Context, owner, repo, ref string, st *github.RepoStatus) (*github.RepoStatus, *github.Response, error) {
	return g.c.Repositories.CreateStatus(ctx, owner, repo, ref, st)
}

func (g goGitHub) teamMembership(ctx context.Context, org, slug, user string) (*github.Membership, *github.Response, error) {
	return g.c.Teams.GetTeamMembershipBySlug(ctx, org, slug, user)
}

func (g goGitHub) authenticatedUser(ctx context.Context) (*github.User, *github.Response, error) {
	return g.c.Users.Get(ctx, "")
}

func (g goGitHub) getUser(ctx context.Context, login string) (*github.User, *github.Response, error) {
	return g.c.Users.Get(ctx, login)
}

// permissionLevel is GET /collaborators/{user}/permission's answer;
// go-github v60's RepositoryPermissionLevel has no role_name.
type permissionLevel struct {
	Permission string `json:"permission"`
	RoleName   string `json:"role_name"`
	User       *github.User
}

func (g goGitHub) getCommit(ctx context.Context, owner, repo, sha string) (*github.RepositoryCommit, *github.Response, error) {
	return g.c.Repositories.GetCommit(ctx, owner, repo, sha, nil)
}

func (g goGitHub) compare(ctx context.Context, owner, repo, base, head string, opts *github.ListOptions) (*github.CommitsComparison, *github.Response, error) {
	return g.c.Repositories.CompareCommits(ctx, owner, repo, base, head, opts)
}

func (g goGitHub) permission(ctx context.Context, owner, repo, user string) (*permissionLevel, *github.Response, error) {
	u := fmt.Sprintf("repos/%s/%s/collaborators/%s/permission", url.PathEscape(owner), url.PathEscape(repo), url.PathEscape(user))
	req, err := g.c.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	var out permissionLevel
	resp, err := g.c.Do(ctx, req, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

func (g goGitHub) protection(ctx context.Context, owner, repo, branch string) (*github.Protection, *github.Response, error) {
	return g.c.Repositories.GetBranchProtection(ctx, owner, repo, branch)
}

// getBranch follows no redirect: a renamed branch is an error to report,
// not a branch to judge in its place.
func (g goGitHub) getBranch(ctx context.Context, owner, repo, branch string) (*github.Branch, *github.Response, error) {
	return g.c.Repositories.GetBranch(ctx, owner, repo, branch, 0)
}

func (g goGitHub) rulesForBranch(ctx context.Context, owner, repo, branch string, opts *github.ListOptions) ([]*branchRule, *github.Response, error) {
	u := fmt.Sprintf("repos/%s/%s/rules/branches/%s?per_page=%d&page=%d", url.PathEscape(owner), url.PathEscape(repo), url.PathEscape(branch), opts.PerPage, max(opts.Page, 1))
	req, err := g.c.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	var out []*branchRule
	resp, err := g.c.Do(ctx, req, &out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

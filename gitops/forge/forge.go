package forge

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// PullRequest is a pull request as modelgit sees it.
type PullRequest struct {
	// Number is the PR number in its repository.
	Number int
	// Title and Body are the PR text.
	Title, Body string
	// Head and Base are branch names (not "owner:branch").
	Head, Base string
	// HeadSHA is the commit at the tip of Head when the PR was read.
	HeadSHA string
	// BaseSHA is the commit of Base the forge judges the PR against when
	// it was read (for a merged PR, the base it was merged into). A
	// judgement made from a local clone whose base differs is stale.
	BaseSHA string
	// State is "open", "closed" or "merged".
	State string
	// Author is the login of the user who opened the PR.
	Author string
	// URL is the PR's web address.
	URL string
	// Merged reports whether the PR was merged.
	Merged bool
	// MergeCommitSHA is the merge commit once Merged.
	MergeCommitSHA string
	// Labels are the PR's label names.
	Labels []string
}

// PullRequestSpec is what CreatePullRequest and EnsurePullRequest open.
type PullRequestSpec struct {
	Title, Body string
	// Head and Base are branch names in the forge's repository.
	Head, Base string
	// Labels are added to a new PR (and to an adopted one if missing).
	Labels []string
}

// Review states as the GitHub API reports them.
const (
	ReviewApproved         = "APPROVED"
	ReviewChangesRequested = "CHANGES_REQUESTED"
	ReviewCommented        = "COMMENTED"
	ReviewDismissed        = "DISMISSED"
)

// Review is one submitted pull request review.
type Review struct {
	// ID is the forge's review id; it grows with submission order.
	ID int64
	// User is the reviewer's login.
	User string
	// State is one of ReviewApproved, ReviewChangesRequested,
	// ReviewCommented or ReviewDismissed.
	State string
	// CommitID is the head SHA the review was submitted on; only reviews
	// on the current head count as approvals.
	CommitID string
	// SubmittedAt is when the review was submitted.
	SubmittedAt time.Time
	// UserType is "User" or "Bot".
	UserType string
}

// Comment is a pull request (issue) comment.
type Comment struct {
	ID   int64
	User string
	Body string
}

// Status is a commit status. State is "pending", "success", "failure" or
// "error".
type Status struct {
	State, Context, Description, TargetURL string
}

// StatusContext is the fixed context under which modelgit reports the
// promotion check on a head SHA.
const StatusContext = "modelgit/promotion"

// Commit is one commit of a pull request.
type Commit struct {
	SHA string
	// AuthorLogin and CommitterLogin are the forge accounts linked to the
	// commit's emails; empty when the forge knows no such account.
	AuthorLogin, CommitterLogin string
	// AuthorName, AuthorEmail, CommitterName and CommitterEmail are from
	// the commit itself, whether or not the forge links them to an
	// account.
	AuthorName, AuthorEmail       string
	CommitterName, CommitterEmail string
}

// User is a forge account as its public profile shows it.
type User struct {
	// Login is the account's current login.
	Login string
	// ID is the account's numeric id, which survives a change of login.
	ID int64
	// Name and Email are the profile's public name and email; empty when
	// the user did not make them public.
	Name, Email string
}

// Merge methods accepted by Merge.
const (
	MergeMethodMerge  = "merge"
	MergeMethodSquash = "squash"
	MergeMethodRebase = "rebase"
)

// Forge is the code-hosting API that modelgit drives: what a forge must
// do, nothing derived. Behaviour built from these methods (EnsurePullRequest,
// LatestReviews) is written once in this package as functions over a
// Forge, not once per implementation. Implementations are safe for
// concurrent use. Errors are typed (ErrNotFound, ErrHeadMoved,
// ErrNotMergeable, ErrRateLimited, ErrUnauthorized, ErrTimeout, *APIError)
// and never contain the token.
type Forge interface {
	// FindPullRequest returns the open PR from branch head into base, or
	// nil (and no error) when there is none.
	FindPullRequest(ctx context.Context, head, base string) (*PullRequest, error)
	// CreatePullRequest opens a PR. A PR that already exists for the branch
	// gives an *APIError with Status 422 (see IsAlreadyExists).
	CreatePullRequest(ctx context.Context, spec PullRequestSpec) (*PullRequest, error)
	// UpdatePullRequest sets a PR's title and body.
	UpdatePullRequest(ctx context.Context, number int, title, body string) (*PullRequest, error)
	// AddLabels adds labels to a PR (those it has stay) and returns all
	// the PR's labels afterwards.
	AddLabels(ctx context.Context, number int, labels []string) ([]string, error)
	// GetPullRequest reads one PR; ErrNotFound when there is none.
	GetPullRequest(ctx context.Context, number int) (*PullRequest, error)
	// ListPullRequests lists PRs in state "open", "closed" or "all" whose
	// head branch starts with headPrefix ("" for all), all pages.
	ListPullRequests(ctx context.Context, state, headPrefix string) ([]*PullRequest, error)
	// ListReviews lists every review of a PR, oldest first, all pages.
	ListReviews(ctx context.Context, number int) ([]Review, error)
	// IsTeamMember reports whether user is an active member of org/team;
	// a 404 means "not a member" and is not an error.
	IsTeamMember(ctx context.Context, org, team, user string) (bool, error)
	// ListCommits lists every commit of a PR, oldest first, all pages,
	// past GitHub's 250-commit cap of the PR's own list.
	ListCommits(ctx context.Context, number int) ([]Commit, error)
	// GetCommit reads one commit by SHA, with the forge accounts linked
	// to its author and committer emails (as GitHub shows them on the
	// commit itself); ErrNotFound when the forge has no such commit.
	GetCommit(ctx context.Context, sha string) (*Commit, error)
	// CollaboratorPermission reads login's role on the repository
	// (admin, maintain, write, triage, read, none, or a custom role).
	CollaboratorPermission(ctx context.Context, login string) (*Permission, error)
	// BranchHead reads the commit at the tip of branch on the forge now;
	// ErrNotFound when there is no such branch. A pull request's BaseSHA
	// is not that: GitHub moves it only when the head is pushed to.
	BranchHead(ctx context.Context, branch string) (string, error)
	// BranchProtection reads what the forge enforces on merges into
	// branch: classic branch protection and the rules of every active
	// ruleset, together. ErrNotFound when the branch does not exist.
	BranchProtection(ctx context.Context, branch string) (*BranchProtection, error)
	// User reads the public profile of login; ErrNotFound when there is
	// no such account.
	User(ctx context.Context, login string) (*User, error)
	// SetStatus creates a commit status on sha.
	SetStatus(ctx context.Context, sha string, st Status) error
	// UpsertComment keeps one sticky comment on a PR: the comment carrying
	// the hidden Marker(marker) is edited, else one is created. The stored
	// body is Marker(marker) + "\n" + body.
	UpsertComment(ctx context.Context, number int, marker, body string) (*Comment, error)
	// Merge merges a PR pinned to sha with the given commit message (first
	// line is the title) and method (MergeMethodMerge when ""). It returns
	// the merge commit SHA, or an error matching the one of the merge
	// errors (ErrHeadMoved, ErrBaseMoved, ErrMergeMethodNotAllowed,
	// ErrRequiredStatus, ErrReviewRequired, ErrHeadBehind,
	// ErrProtectedBranch, ErrNotMergeable) that names why the forge
	// refused; its *APIError carries the forge's own message. A PR
	// already merged at sha returns its merge commit.
	Merge(ctx context.Context, number int, sha, message, method string) (mergeSHA string, err error)
}

// Marker is the hidden HTML comment that identifies a sticky comment:
// "<!-- modelgit:NAME -->". NAME must not contain "--" or ">".
func Marker(name string) string {
	return "<!-- modelgit:" + name + " -->"
}

func checkMarker(name string) error {
	if name == "" || strings.Contains(name, "--") || strings.ContainsAny(name, ">\n") {
		return fmt.Errorf("checking comment marker %q: want a non-empty name without \"--\", \">\" or newlines", name)
	}
	return nil
}

// Options selects and configures a forge, as modelgit.yaml's forge
// section does.
type Options struct {
	// Type is "github" (the default when empty).
	Type string
	// Repository is OWNER/NAME.
	Repository string
	// URL is the API base URL; empty means api.github.com.
	URL string
	// Token authenticates; TokenFromEnv when empty.
	Token string
	// HTTPClient is used for requests; a default client when nil.
	HTTPClient *http.Client
}

// New returns the forge that opts.Type names.
func New(opts Options) (Forge, error) {
	switch opts.Type {
	case "", "github":
		token := opts.Token
		if token == "" {
			token = TokenFromEnv()
		}
		return NewGitHub(GitHubOptions{
			Repository: opts.Repository,
			Token:      token,
			BaseURL:    opts.URL,
			HTTPClient: opts.HTTPClient,
		})
	default:
		return nil, fmt.Errorf("creating forge %q: type is not supported; want \"github\"", opts.Type)
	}
}

package forge

import (
	"context"
	"errors"
)

// errNotImplemented is what a Fake method without its XxxFn returns.
var errNotImplemented = errors.New("not implemented by this fake")

// Fake is a Forge whose methods call the matching XxxFn field, for unit
// tests of code that uses a Forge (kargo's gitprovider.Fake). A nil field
// makes its method fail with an error. Derived behaviour
// (EnsurePullRequest, LatestReviews) needs no field of its own: it runs
// over the fields it is built from.
type Fake struct {
	FindPullRequestFn        func(ctx context.Context, head, base string) (*PullRequest, error)
	CreatePullRequestFn      func(ctx context.Context, spec PullRequestSpec) (*PullRequest, error)
	UpdatePullRequestFn      func(ctx context.Context, number int, title, body string) (*PullRequest, error)
	AddLabelsFn              func(ctx context.Context, number int, labels []string) ([]string, error)
	GetPullRequestFn         func(ctx context.Context, number int) (*PullRequest, error)
	ListPullRequestsFn       func(ctx context.Context, state, headPrefix string) ([]*PullRequest, error)
	ListReviewsFn            func(ctx context.Context, number int) ([]Review, error)
	IsTeamMemberFn           func(ctx context.Context, org, team, user string) (bool, error)
	ListCommitsFn            func(ctx context.Context, number int) ([]Commit, error)
	UserFn                   func(ctx context.Context, login string) (*User, error)
	GetCommitFn              func(ctx context.Context, sha string) (*Commit, error)
	CollaboratorPermissionFn func(ctx context.Context, login string) (*Permission, error)
	BranchProtectionFn       func(ctx context.Context, branch string) (*BranchProtection, error)
	BranchHeadFn             func(ctx context.Context, branch string) (string, error)
	SetStatusFn              func(ctx context.Context, sha string, st Status) error
	UpsertCommentFn          func(ctx context.Context, number int, marker, body string) (*Comment, error)
	MergeFn                  func(ctx context.Context, number int, sha, message, method string) (string, error)
}

var _ Forge = (*Fake)(nil)

// FindPullRequest implements Forge.
func (f *Fake) FindPullRequest(ctx context.Context, head, base string) (*PullRequest, error) {
	if f.FindPullRequestFn == nil {
		return nil, errNotImplemented
	}
	return f.FindPullRequestFn(ctx, head, base)
}

// CreatePullRequest implements Forge.
func (f *Fake) CreatePullRequest(ctx context.Context, spec PullRequestSpec) (*PullRequest, error) {
	if f.CreatePullRequestFn == nil {
		return nil, errNotImplemented
	}
	return f.CreatePullRequestFn(ctx, spec)
}

// UpdatePullRequest implements Forge.
func (f *Fake) UpdatePullRequest(ctx context.Context, number int, title, body string) (*PullRequest, error) {
	if f.UpdatePullRequestFn == nil {
		return nil, errNotImplemented
	}
	return f.UpdatePullRequestFn(ctx, number, title, body)
}

// AddLabels implements Forge.
func (f *Fake) AddLabels(ctx context.Context, number int, labels []string) ([]string, error) {
	if f.AddLabelsFn == nil {
		return nil, errNotImplemented
	}
	return f.AddLabelsFn(ctx, number, labels)
}

// GetPullRequest implements Forge.
func (f *Fake) GetPullRequest(ctx context.Context, number int) (*PullRequest, error) {
	if f.GetPullRequestFn == nil {
		return nil, errNotImplemented
	}
	return f.GetPullRequestFn(ctx, number)
}

// ListPullRequests implements Forge.
func (f *Fake) ListPullRequests(ctx context.Context, state, headPrefix string) ([]*PullRequest, error) {
	if f.ListPullRequestsFn == nil {
		return nil, errNotImplemented
	}
	return f.ListPullRequestsFn(ctx, state, headPrefix)
}

// ListReviews implements Forge.
func (f *Fake) ListReviews(ctx context.Context, number int) ([]Review, error) {
	if f.ListReviewsFn == nil {
		return nil, errNotImplemented
	}
	return f.ListReviewsFn(ctx, number)
}

// IsTeamMember implements Forge.
func (f *Fake) IsTeamMember(ctx context.Context, org, team, user string) (bool, error) {
	if f.IsTeamMemberFn == nil {
		return false, errNotImplemented
	}
	return f.IsTeamMemberFn(ctx, org, team, user)
}

// ListCommits implements Forge.
func (f *Fake) ListCommits(ctx context.Context, number int) ([]Commit, error) {
	if f.ListCommitsFn == nil {
		return nil, errNotImplemented
	}
	return f.ListCommitsFn(ctx, number)
}

// User implements Forge.
func (f *Fake) User(ctx context.Context, login string) (*User, error) {
	if f.UserFn == nil {
		return nil, errNotImplemented
	}
	return f.UserFn(ctx, login)
}

// GetCommit implements Forge.
func (f *Fake) GetCommit(ctx context.Context, sha string) (*Commit, error) {
	if f.GetCommitFn == nil {
		return nil, errNotImplemented
	}
	return f.GetCommitFn(ctx, sha)
}

// CollaboratorPermission implements Forge.
func (f *Fake) CollaboratorPermission(ctx context.Context, login string) (*Permission, error) {
	if f.CollaboratorPermissionFn == nil {
		return nil, errNotImplemented
	}
	return f.CollaboratorPermissionFn(ctx, login)
}

// BranchProtection implements Forge.
func (f *Fake) BranchProtection(ctx context.Context, branch string) (*BranchProtection, error) {
	if f.BranchProtectionFn == nil {
		return nil, errNotImplemented
	}
	return f.BranchProtectionFn(ctx, branch)
}

// BranchHead implements Forge.
func (f *Fake) BranchHead(ctx context.Context, branch string) (string, error) {
	if f.BranchHeadFn == nil {
		return "", errNotImplemented
	}
	return f.BranchHeadFn(ctx, branch)
}

// SetStatus implements Forge.
func (f *Fake) SetStatus(ctx context.Context, sha string, st Status) error {
	if f.SetStatusFn == nil {
		return errNotImplemented
	}
	return f.SetStatusFn(ctx, sha, st)
}

// UpsertComment implements Forge.
func (f *Fake) UpsertComment(ctx context.Context, number int, marker, body string) (*Comment, error) {
	if f.UpsertCommentFn == nil {
		return nil, errNotImplemented
	}
	return f.UpsertCommentFn(ctx, number, marker, body)
}

// Merge implements Forge.
func (f *Fake) Merge(ctx context.Context, number int, sha, message, method string) (string, error) {
	if f.MergeFn == nil {
		return "", errNotImplemented
	}
	return f.MergeFn(ctx, number, sha, message, method)
}

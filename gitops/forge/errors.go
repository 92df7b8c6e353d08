package forge

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Errors that callers branch on. Every error a Forge returns that matches
// one of them does so through errors.Is.
var (
	// ErrNotFound: the PR, team membership or other resource does not
	// exist (or the token may not see it: GitHub answers 404 for both).
	ErrNotFound = errors.New("not found")
	// ErrHeadMoved: Merge was pinned to a SHA that is no longer the PR's
	// head (GitHub: 409 "Head branch was modified. Review and try the
	// merge again."). Re-check the new head; never merge blind.
	ErrHeadMoved = errors.New("pull request head moved")
	// ErrBaseMoved: the base branch moved while the forge was merging
	// ("Base branch was modified. Review and try the merge again.").
	ErrBaseMoved = errors.New("base branch moved during the merge")
	// ErrNotMergeable: the forge cannot merge the PR as it stands: it
	// conflicts with its base, or it is closed (GitHub: 405 "Pull Request
	// is not mergeable").
	ErrNotMergeable = errors.New("pull request is not mergeable")
	// ErrMergeMethodNotAllowed: the repository or a ruleset does not allow
	// the merge method (GitHub: 405 "Merge commits are not allowed on this
	// repository.").
	ErrMergeMethodNotAllowed = errors.New("merge method is not allowed on this repository")
	// ErrRequiredStatus: a status check branch protection requires is
	// missing or not passing on the head (GitHub: 405 "Required status
	// check "modelgit/promotion" is expected.").
	ErrRequiredStatus = errors.New("a required status check is not passing")
	// ErrReviewRequired: branch protection wants more approving reviews
	// than the PR has (GitHub: 405 "At least 1 approving review is
	// required by reviewers with write access.").
	ErrReviewRequired = errors.New("more approving reviews are required")
	// ErrHeadBehind: branch protection wants the head up to date with its
	// base (GitHub: 405 "Head branch is out of date. Review and try the
	// merge again.").
	ErrHeadBehind = errors.New("pull request head is behind its base")
	// ErrProtectedBranch: another branch protection or ruleset rule
	// refuses the merge (signatures, linear history, push restrictions,
	// rule violations).
	ErrProtectedBranch = errors.New("branch protection refuses the merge")
	// ErrRateLimited: the API rate limit is exhausted; see *RateLimitError
	// for the reset time.
	ErrRateLimited = errors.New("API rate limit exceeded")
	// ErrUnauthorized: the token is missing, wrong or lacks permission.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrTimeout: the forge did not answer in time (after retries for
	// reads).
	ErrTimeout = errors.New("forge did not answer in time")
)

// APIError is an error answer from the forge's API, with any token and
// URL query removed from its message.
type APIError struct {
	// Status is the HTTP status code.
	Status int
	// Message is the forge's message and error details.
	Message string
	kind    error
}

// Error implements error.
func (e *APIError) Error() string {
	return fmt.Sprintf("%d %s", e.Status, e.Message)
}

// Is makes errors.Is(err, ErrNotFound) and friends work.
func (e *APIError) Is(target error) bool { return e.kind != nil && target == e.kind }

// RateLimitError is an exhausted rate limit.
type RateLimitError struct {
	// Reset is when the limit resets (zero when unknown).
	Reset time.Time
	// Message is the forge's message.
	Message string
}

// Error implements error.
func (e *RateLimitError) Error() string {
	if e.Reset.IsZero() {
		return fmt.Sprintf("API rate limit exceeded: %s", e.Message)
	}
	return fmt.Sprintf("API rate limit exceeded until %s: %s", e.Reset.UTC().Format(time.RFC3339), e.Message)
}

// Is makes errors.Is(err, ErrRateLimited) work.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// mergeRefusal names the merge error a forge refusal with HTTP status
// and message stands for, or nil when it is none of them. GitHub answers
// most refusals with 405 and some (rulesets, validation) with 422; the
// message tells them apart.
func mergeRefusal(status int, message string) error {
	m := strings.ToLower(message)
	has := func(parts ...string) bool {
		for _, p := range parts {
			if strings.Contains(m, p) {
				return true
			}
		}
		return false
	}
	if status != 405 && status != 409 && status != 422 {
		return nil
	}
	switch {
	case has("head branch was modified"):
		return ErrHeadMoved
	case has("base branch was modified"):
		return ErrBaseMoved
	case has("not allowed on this repository"):
		return ErrMergeMethodNotAllowed
	case has("required status check"):
		return ErrRequiredStatus
	case has("approving review"):
		return ErrReviewRequired
	case has("out of date", "up to date"):
		return ErrHeadBehind
	case has("protected branch", "rule violation", "verified signature", "not authorized to push", "must not contain merge commits", "changes must be made through"):
		return ErrProtectedBranch
	case status == 409:
		return ErrHeadMoved
	case status == 405:
		return ErrNotMergeable
	}
	return nil
}

// IsAlreadyExists reports whether err is GitHub's 422 for a pull request
// that already exists for the branch.
func IsAlreadyExists(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == 422 && strings.Contains(ae.Message, "already exists")
}

var urlPattern = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"']+`)

// sanitizer removes a secret and URL credentials and queries from text.
type sanitizer struct{ secret string }

func (s sanitizer) clean(text string) string {
	if s.secret != "" {
		text = strings.ReplaceAll(text, s.secret, "***")
	}
	return urlPattern.ReplaceAllStringFunc(text, func(raw string) string {
		u, err := url.Parse(raw)
		if err != nil {
			return "<url>"
		}
		u.User = nil
		u.RawQuery = ""
		u.Fragment = ""
		return u.String()
	})
}

// sanitizedError carries an error whose text was cleaned while keeping
// errors.Is on the typed errors it matched.
type sanitizedError struct {
	msg  string
	kind error
}

func (e *sanitizedError) Error() string { return e.msg }
func (e *sanitizedError) Unwrap() error { return e.kind }

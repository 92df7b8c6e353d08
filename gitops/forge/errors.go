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
	// head. Re-check the new head; never merge blind.
	ErrHeadMoved = errors.New("pull request head moved")
	// ErrNotMergeable: the forge refuses to merge (conflict, closed PR,
	// branch protection).
	ErrNotMergeable = errors.New("pull request is not mergeable")
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

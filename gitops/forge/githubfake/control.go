// The Server's controls for tests: faults and delays, reviews, comments,
// people, and what was asked and stored.

package githubfake

import (
	"path"
	"slices"
	"strings"
	"time"

	"github.com/modelgit/modelgit/gitops/forge"
)

// FailNext makes the next n requests whose method matches (""/"*" for
// any) and whose path (without "/api/v3") matches pattern (path.Match,
// e.g. "/repos/*/*/pulls/*/merge") answer status. 403 and 429 answer as an
// exhausted rate limit (X-RateLimit-Remaining: 0, reset in a minute).
func (s *Server) FailNext(method, pattern string, status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{method: strings.ToUpper(method), pattern: pattern, status: status, left: n})
}

// Delay holds every later request for d before answering (0 stops it);
// the client giving up ends the wait.
func (s *Server) Delay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay, s.delayN = d, -1
}

// DelayNext holds only the next n requests for d.
func (s *Server) DelayNext(n int, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay, s.delayN = d, n
}

// AddReview submits a review on PR number as user, in state APPROVED,
// CHANGES_REQUESTED, COMMENTED or DISMISSED, on commitID ("" for the
// current head). It returns the review ID.
func (s *Server) AddReview(number int, user, state, commitID string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if commitID == "" && number >= 1 && number <= len(s.pulls) {
		commitID = s.liveHead(s.pulls[number-1])
	}
	return s.addReviewLocked(number, user, state, commitID, "")
}

func (s *Server) addReviewLocked(number int, user, state, commitID, body string) int64 {
	s.nextID++
	s.reviews[number] = append(s.reviews[number], &review{
		ID: s.nextID, PR: number, User: user, State: state, CommitID: commitID, Body: body,
		SubmittedAt: time.Now().UTC().Truncate(time.Second),
	})
	return s.nextID
}

// AddComment adds a comment on pull request number as user (anyone, not
// only the token's login), and returns its ID.
func (s *Server) AddComment(number int, user, body string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	now := time.Now().UTC().Truncate(time.Second)
	s.comments = append(s.comments, &comment{ID: s.nextID, PR: number, User: user, Body: body, CreatedAt: now, UpdatedAt: now})
	return s.nextID
}

// AddTeamMember makes user an active member of org/team.
func (s *Server) AddTeamMember(org, team, user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := strings.ToLower(org + "/" + team)
	if s.teams[k] == nil {
		s.teams[k] = map[string]bool{}
	}
	s.teams[k][strings.ToLower(user)] = true
}

// SetUserType sets a user's type: "User" (the default) or "Bot".
func (s *Server) SetUserType(user, typ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userTypes[strings.ToLower(user)] = typ
}

// SetUserEmail links a commit email to a user, as GitHub links verified
// emails; "LOGIN@users.noreply.github.com" is linked without it.
func (s *Server) SetUserEmail(user, email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.emails[strings.ToLower(email)] = user
}

// SetUserProfile sets the public name and email that GET /users/{user}
// answers for user (empty: not public, as GitHub's null) and, when id is
// not 0, the user's numeric ID (otherwise one is given at first sight).
func (s *Server) SetUserProfile(user, name, email string, id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := strings.ToLower(user)
	s.profiles[k] = profile{name: name, email: email}
	if id != 0 {
		s.userIDs[k] = id
	}
}

// UserID returns the numeric ID of user, giving one if it has none yet.
func (s *Server) UserID(user string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.userJSON(user)["id"].(int64)
}

// ClosePullRequest closes PR number without merging it.
func (s *Server) ClosePullRequest(number int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if number >= 1 && number <= len(s.pulls) {
		p := s.pulls[number-1]
		now := time.Now().UTC()
		p.State, p.ClosedAt = "closed", &now
	}
}

// PullRequests returns every PR, oldest first.
func (s *Server) PullRequests() []forge.PullRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]forge.PullRequest, 0, len(s.pulls))
	for _, p := range s.pulls {
		state := p.State
		if p.Merged {
			state = "merged"
		}
		out = append(out, forge.PullRequest{
			Number: p.Number, Title: p.Title, Body: p.Body, Head: p.Head, Base: p.Base,
			HeadSHA: s.liveHead(p), BaseSHA: p.BaseSHA, State: state, Author: p.Author, URL: s.htmlURL(p.Number),
			Merged: p.Merged, MergeCommitSHA: p.MergeCommitSHA, Labels: slices.Clone(s.labels[p.Number]),
		})
	}
	return out
}

// Reviews returns the reviews of PR number, oldest first.
func (s *Server) Reviews(number int) []forge.Review {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []forge.Review
	for _, r := range s.reviews[number] {
		out = append(out, forge.Review{ID: r.ID, User: r.User, State: r.State, CommitID: r.CommitID, SubmittedAt: r.SubmittedAt, UserType: s.userType(r.User)})
	}
	return out
}

// Comments returns the comments of PR number, oldest first.
func (s *Server) Comments(number int) []forge.Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []forge.Comment
	for _, c := range s.comments {
		if c.PR == number {
			out = append(out, forge.Comment{ID: c.ID, User: c.User, Body: c.Body})
		}
	}
	return out
}

// Statuses returns the statuses created on sha, oldest first.
func (s *Server) Statuses(sha string) []forge.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []forge.Status
	for _, st := range s.statuses[sha] {
		out = append(out, forge.Status{State: st.State, Context: st.Context, Description: st.Description, TargetURL: st.TargetURL})
	}
	return out
}

// Requests returns "METHOD /path" of every API request so far (path
// without "/api/v3" and query).
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// CountRequests counts the requests whose method and path match, as in
// FailNext.
func (s *Server) CountRequests(method, pattern string) int {
	n := 0
	for _, r := range s.Requests() {
		m, p, _ := strings.Cut(r, " ")
		if matches(strings.ToUpper(method), pattern, m, p) {
			n++
		}
	}
	return n
}

func matches(method, pattern, m, p string) bool {
	if method != "" && method != "*" && method != m {
		return false
	}
	if pattern == "" || pattern == "*" {
		return true
	}
	ok, _ := path.Match(pattern, p)
	return ok
}

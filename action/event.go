package action

import (
	"encoding/json"
	"fmt"
	"os"
)

// Event kinds ReadEvent recognises.
const (
	EventPullRequest       = "pull_request"
	EventPullRequestReview = "pull_request_review"
	EventSchedule          = "schedule"
)

// Event is the part of a workflow's triggering event that modelgit uses.
// Every string in it comes from the event payload and is untrusted data:
// a title, branch name or review body may hold "${{ }}", backticks,
// "$(...)" or newlines.
type Event struct {
	// Kind is EventPullRequest, EventPullRequestReview or EventSchedule,
	// read from the payload's shape; "" for any other event.
	Kind string
	// Action is the payload's "action" (opened, synchronize, submitted,
	// dismissed, ...).
	Action string
	// Number is the pull request number; 0 without a pull request.
	Number int
	// Title is the pull request title.
	Title string
	// BaseSHA and HeadSHA are the commits the pull request compares.
	BaseSHA, HeadSHA string
	// BaseRef and HeadRef are the branch names.
	BaseRef, HeadRef string
	// Author is the login of the user who opened the pull request.
	Author string
	// ReviewState and Reviewer describe the review of a
	// pull_request_review event ("approved", "changes_requested", ...).
	ReviewState, Reviewer string
	// Schedule is the cron expression of a schedule event.
	Schedule string
}

type eventPayload struct {
	Action      string `json:"action"`
	Number      int    `json:"number"`
	Schedule    string `json:"schedule"`
	PullRequest *struct {
		Number int    `json:"number"`
		Title  string `json:"title"`
		User   struct {
			Login string `json:"login"`
		} `json:"user"`
		Head struct {
			SHA string `json:"sha"`
			Ref string `json:"ref"`
		} `json:"head"`
		Base struct {
			SHA string `json:"sha"`
			Ref string `json:"ref"`
		} `json:"base"`
	} `json:"pull_request"`
	Review *struct {
		State string `json:"state"`
		User  struct {
			Login string `json:"login"`
		} `json:"user"`
	} `json:"review"`
}

// ReadEvent reads the event payload at path (GITHUB_EVENT_PATH).
func ReadEvent(path string) (*Event, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading event %q: %w", path, err)
	}
	ev, err := ParseEvent(b)
	if err != nil {
		return nil, fmt.Errorf("reading event %q: %w", path, err)
	}
	return ev, nil
}

// ParseEvent parses an event payload. A pull request without a number or
// head SHA is an error: modelgit could not bind a verdict to it.
func ParseEvent(b []byte) (*Event, error) {
	var p eventPayload
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("parsing event payload: %w", err)
	}
	ev := &Event{Action: p.Action, Schedule: p.Schedule}
	if pr := p.PullRequest; pr != nil {
		ev.Kind = EventPullRequest
		ev.Number = pr.Number
		if ev.Number == 0 {
			ev.Number = p.Number
		}
		ev.Title = pr.Title
		ev.Author = pr.User.Login
		ev.HeadSHA, ev.HeadRef = pr.Head.SHA, pr.Head.Ref
		ev.BaseSHA, ev.BaseRef = pr.Base.SHA, pr.Base.Ref
		if p.Review != nil {
			ev.Kind = EventPullRequestReview
			ev.ReviewState, ev.Reviewer = p.Review.State, p.Review.User.Login
		}
		if ev.Number <= 0 {
			return nil, fmt.Errorf("parsing event payload: field \"pull_request.number\" is missing; want a positive number")
		}
		if ev.HeadSHA == "" {
			return nil, fmt.Errorf("parsing event payload: field \"pull_request.head.sha\" is missing; want the head commit SHA")
		}
		return ev, nil
	}
	if p.Schedule != "" {
		ev.Kind = EventSchedule
	}
	return ev, nil
}

package forge

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// EnsurePullRequest adopts the open PR for spec.Head→spec.Base (updating
// its title, body and labels) or opens one; created says which. A
// concurrent creation (422, see IsAlreadyExists) is resolved by finding
// and adopting the PR that won, so promotions re-run after a crash or run
// side by side converge on one PR (kargo's git_pr_opener does the same).
func EnsurePullRequest(ctx context.Context, f Forge, spec PullRequestSpec) (pr *PullRequest, created bool, err error) {
	pr, err = f.FindPullRequest(ctx, spec.Head, spec.Base)
	if err != nil {
		return nil, false, err
	}
	if pr == nil {
		pr, err = f.CreatePullRequest(ctx, spec)
		switch {
		case err == nil:
			return pr, true, nil
		case !IsAlreadyExists(err):
			return pr, pr != nil, err
		}
		// Someone opened it between our find and create: adopt theirs.
		if pr, err = f.FindPullRequest(ctx, spec.Head, spec.Base); err != nil {
			return nil, false, err
		}
		if pr == nil {
			return nil, false, fmt.Errorf("adopting pull request for %q into %q: the forge says it exists but lists none open: %w", spec.Head, spec.Base, ErrNotFound)
		}
	}
	if pr.Title != spec.Title || pr.Body != spec.Body {
		if pr, err = f.UpdatePullRequest(ctx, pr.Number, spec.Title, spec.Body); err != nil {
			return nil, false, err
		}
	}
	if missing := missingLabels(pr.Labels, spec.Labels); len(missing) > 0 {
		labels, err := f.AddLabels(ctx, pr.Number, missing)
		if err != nil {
			return pr, false, err
		}
		pr.Labels = labels
	}
	return pr, false, nil
}

// missingLabels returns the labels of want that have does not hold.
func missingLabels(have, want []string) []string {
	var out []string
	for _, l := range want {
		if !slices.Contains(have, l) && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// LatestReviews is LatestPerUser over every review of PR number.
func LatestReviews(ctx context.Context, f Forge, number int) ([]Review, error) {
	rs, err := f.ListReviews(ctx, number)
	if err != nil {
		return nil, err
	}
	return LatestPerUser(rs), nil
}

// LatestPerUser keeps, for each user, the latest review that is not
// COMMENTED (a comment neither approves nor withdraws an approval), in the
// order of those reviews. Latest is by SubmittedAt, then by ID.
func LatestPerUser(reviews []Review) []Review {
	sorted := append([]Review(nil), reviews...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if !a.SubmittedAt.Equal(b.SubmittedAt) {
			return a.SubmittedAt.Before(b.SubmittedAt)
		}
		return a.ID < b.ID
	})
	latest := map[string]int{}
	var out []Review
	for _, r := range sorted {
		if r.State == ReviewCommented || r.User == "" {
			continue
		}
		key := strings.ToLower(r.User)
		if i, ok := latest[key]; ok {
			out[i] = r
			continue
		}
		latest[key] = len(out)
		out = append(out, r)
	}
	return out
}

// Package githubfake is an in-process, stateful GitHub REST API for tests:
// go-github talks to it unchanged over HTTP. Pull requests, reviews,
// comments, statuses, team memberships and user profiles (SetUserProfile)
// live in memory; refs live in a
// real bare git repository served over HTTP by fluxcd's gittestserver, so
// pushing a branch, opening a PR and merging it change real refs and make
// real merge commits that `git log` shows.
//
// It answers like GitHub where modelgit depends on it: 422 for a duplicate
// pull request, 409 when the SHA given to merge is not the head, 405 when
// a PR cannot be merged, 404 for unknown resources (team membership
// included), 401 for a wrong token, rate-limit headers on every answer,
// and injectable failures (FailNext) and delays (Delay, DelayNext).
package githubfake

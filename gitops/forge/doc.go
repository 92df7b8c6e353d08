// Package forge is modelgit's view of the code-hosting service that holds
// promotion pull requests: open or adopt a PR for a branch, read its
// reviews and commits, read a reviewer's public profile and role, the
// accounts linked to a commit, and what the branch's protection enforces,
// report a commit status and one sticky comment, and merge it pinned to
// the head SHA that passed the check, with a typed error for each reason
// the forge refuses.
//
// Forge is the small interface the rest of modelgit uses, with neutral
// types (PullRequest, Review, Commit, Permission, BranchProtection): what
// a forge must do, nothing derived. Behaviour built on it is written once
// here as functions over any Forge (EnsurePullRequest, LatestReviews,
// CommitLogins, Requirements). NewGitHub implements it over go-github;
// Fake is a struct of XxxFn fields for unit tests of callers; the
// githubfake subpackage is an in-process, stateful GitHub API over HTTP
// backed by a real git repository, for integration tests.
package forge

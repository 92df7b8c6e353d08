// Package forge is modelgit's view of the code-hosting service that holds
// promotion pull requests: open or adopt a PR for a branch, read its
// reviews and commits, read a reviewer's public profile, report a commit
// status and one sticky comment, and merge it pinned to the head SHA that
// passed the check.
//
// Forge is the small interface the rest of modelgit uses, with neutral
// types (PullRequest, Review, Comment, Status). NewGitHub implements it
// over go-github; Fake is a struct of XxxFn fields for unit tests of
// callers; the githubfake subpackage is an in-process, stateful GitHub API
// over HTTP backed by a real git repository, for integration tests.
package forge

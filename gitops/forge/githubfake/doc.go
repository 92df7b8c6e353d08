// Package githubfake is an in-process, stateful GitHub REST API for tests:
// go-github talks to it unchanged over HTTP. Pull requests, reviews,
// comments, statuses, team memberships, repository roles
// (SetPermission), user profiles (SetUserProfile), branch protection
// (SetBranchProtection), rulesets (AddRuleset) and the allowed merge
// methods (SetMergeMethods) live in memory; refs live in a real bare git
// repository served over HTTP (git http-backend; in tests fluxcd's
// gittestserver, through githubfaketest), so pushing a
// branch, opening a PR and merging it change real refs and make real
// merge commits that `git log` shows.
//
// It answers like GitHub where modelgit depends on it: 422 for a duplicate
// pull request, 409 "Head branch was modified" when the SHA given to
// merge is not the head, 405 when a PR cannot be merged (a conflict, a
// merge method the repository or a ruleset does not allow, a required
// status check missing or failing, too few approvals from users with
// write access, a head behind a strict base), 404 for unknown resources
// (team membership included), 401 for a wrong token; GET /commits/{sha}
// with the accounts linked to the commit's emails, the 250-commit cap of
// a PR's commit list and the compare API that pages past it, the
// collaborator permission with its role_name, and email null in a
// profile that keeps it private; rate-limit headers on every answer, and
// injectable failures (FailNext) and delays (Delay, DelayNext).
package githubfake

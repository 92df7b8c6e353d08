// Package promote plans and applies a promotion as a pull request: the
// order check, the new release, the rendered files, one signed commit,
// a push that never forces, and the pull request with its body (metrics,
// clusters, rendered diff). Bulk promotes many models in one pull request;
// Rollback returns an environment to the version before.
package promote

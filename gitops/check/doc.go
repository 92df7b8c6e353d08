// Package check judges a promotion pull request (Check: manifests,
// signatures, immutability, artifacts, rendered files, pins, gates, order,
// soak, approvals), merges it pinned to the checked head with the
// approvers in its trailers (Merge), and verifies any range of history
// (Verify).
package check

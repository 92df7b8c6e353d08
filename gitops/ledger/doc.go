// Package ledger is the one answer to "did version V serve in environment
// E, and from when to when?": it scans the first-parent history of the
// branches Flux follows for changes of release files, turns them into
// events (with who asked, approved and merged), keeps them in the audit
// cache, and derives serving intervals from them. Promote, check,
// rollback, history, audit and which all read it.
package ledger

// Package repo is modelgit's thin, crash-safe layer over go-git: it opens
// and initialises repositories, makes (signed) commits of exact file sets
// without touching the user's unrelated index or worktree state, updates
// branch refs with git's lock-file protocol and compare-and-swap, reads
// files and history at any revision, and parses and formats commit message
// trailers the way `git interpret-trailers` does.
package repo

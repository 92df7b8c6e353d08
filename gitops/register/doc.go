// Package register lays out a repository (Init), registers a model
// version — hash, store, signed commit, proposed version and why
// (Register) — pulls its artifacts back (Pull) and copies a store to
// another (CopyStore).
package register

// Package signingtest makes the real signing keys the tests need: ed25519
// ssh keys with ssh-keygen and unprotected OpenPGP keys with gpg. It is
// used by tests only; nothing in modelgit's binary imports it.
package signingtest

// Package signing signs git commits the way `git commit -S` does (SSH
// signatures in the "git" namespace, OpenPGP detached signatures, or gpg
// itself) and verifies them in Go against an ssh allowed_signers file and an
// OpenPGP key ring, so that modelgit and `git verify-commit` agree on which
// commits are trusted.
package signing

// Package audit answers from a clone alone: every promotion, rollback and
// edit of a release (Audit), what served in an environment at a moment
// and its chain back to data, signer and approvers (Which), a model's
// versions and where each ran (History), and the models × environments
// matrix with pending promotions (Status).
package audit

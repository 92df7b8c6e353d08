// Package action is the GitHub Action's runtime: it reads the triggering
// event, writes step outputs and the job summary, and keeps one sticky
// comment on the pull request up to date.
package action

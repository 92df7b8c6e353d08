// Package action is the GitHub Action's runtime: it reads the runner's
// environment and the triggering event, and publishes a check report
// where GitHub shows it: the commit status modelgit/promotion on the head
// SHA, one sticky pull request comment, the job summary, annotations and
// step outputs. Every string from a report or an event is treated as
// untrusted and escaped for Markdown or workflow commands.
package action

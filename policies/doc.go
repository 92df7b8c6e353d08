// Package policies holds the PromotionPolicy types and their evaluation:
// CEL gates over candidate and baseline metrics, approvals and soak time,
// each result with the reason it passed or failed.
package policies

// Package monitor compares the live metrics of the versions running in an
// environment (Prometheus) with their registered metrics under the
// policy's direction-aware gates, and acts on a regression by opening the
// rollback (or canary-abort) pull request.
package monitor

// Package promtest starts a real Prometheus (Debian package prometheus,
// with its promtool) for tests: a TSDB is backfilled from OpenMetrics
// samples with promtool tsdb create-blocks-from openmetrics, then
// Prometheus serves it on a free 127.0.0.1 port. Query it with an explicit
// time so that results do not slide.
package promtest

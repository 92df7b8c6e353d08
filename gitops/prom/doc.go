// Package prom asks a Prometheus server for the numbers modelgit monitor
// judges: instant PromQL queries at an explicit time, each reduced to one
// value, through prometheus/client_golang's HTTP API client. It tells an
// unreachable server (ErrUnreachable) from a query Prometheus refused
// (*QueryError), because neither may be read as healthy or as failing.
package prom

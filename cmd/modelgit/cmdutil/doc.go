// Package cmdutil holds what every modelgit command shares: the IOStreams a
// command prints through, the Factory that builds its dependencies, the
// error types that decide exit codes, output-format flags and printers, and
// Redact, which keeps secrets out of messages.
package cmdutil

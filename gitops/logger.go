package gitops

import (
	"fmt"
	"io"
)

// Logger receives progress messages from long operations, in the manner
// of flux2's pkg/log. Implementations must be safe for concurrent use.
type Logger interface {
	// Actionf reports something modelgit is about to do.
	Actionf(format string, a ...any)
	// Successf reports something done.
	Successf(format string, a ...any)
	// Warningf reports something the user should look at.
	Warningf(format string, a ...any)
}

// NopLogger discards every message.
type NopLogger struct{}

// Actionf implements Logger.
func (NopLogger) Actionf(string, ...any) {}

// Successf implements Logger.
func (NopLogger) Successf(string, ...any) {}

// Warningf implements Logger.
func (NopLogger) Warningf(string, ...any) {}

// WriterLogger writes each message as one line to W, prefixed with a
// symbol: "►" for actions, "✔" for success, "!" for warnings.
type WriterLogger struct{ W io.Writer }

// Actionf implements Logger.
func (l WriterLogger) Actionf(format string, a ...any) { l.line("►", format, a) }

// Successf implements Logger.
func (l WriterLogger) Successf(format string, a ...any) { l.line("✔", format, a) }

// Warningf implements Logger.
func (l WriterLogger) Warningf(format string, a ...any) { l.line("!", format, a) }

func (l WriterLogger) line(sym, format string, a []any) {
	fmt.Fprintf(l.W, "%s %s\n", sym, fmt.Sprintf(format, a...))
}

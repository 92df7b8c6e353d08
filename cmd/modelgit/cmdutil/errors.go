package cmdutil

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// ExitCode is the exit status of the modelgit process. app.Main is the one
// place that turns an error into an ExitCode.
type ExitCode int

// Exit codes.
const (
	// ExitOK means success.
	ExitOK ExitCode = 0
	// ExitError means the command failed.
	ExitError ExitCode = 1
	// ExitFlagError means the command line was wrong (bad flag, argument
	// or command); usage was printed.
	ExitFlagError ExitCode = 2
	// ExitCancel means the user cancelled (Ctrl-C, or declined a prompt):
	// 128+SIGINT, as shells report an interrupted program. cli/cli uses 2,
	// which is ExitFlagError here.
	ExitCancel ExitCode = 130
)

// FlagError is a mistake on the command line. Main prints it followed by
// the command's usage and exits with ExitFlagError.
type FlagError struct{ err error }

// Error returns the message of the wrapped error.
func (e *FlagError) Error() string { return e.err.Error() }

// Unwrap returns the wrapped error.
func (e *FlagError) Unwrap() error { return e.err }

// FlagErrorf returns a FlagError formatted as by fmt.Errorf.
func FlagErrorf(format string, args ...any) error {
	return &FlagError{err: fmt.Errorf(format, args...)}
}

// FlagErrorWrap marks err as a FlagError; nil stays nil.
func FlagErrorWrap(err error) error {
	if err == nil {
		return nil
	}
	return &FlagError{err: err}
}

// SilentError tells Main to exit with ExitError without printing anything:
// the command has already said what went wrong (for example a check that
// printed its failed gates).
var SilentError = errors.New("SilentError") //nolint:revive,staticcheck // named as in cli/cli.

// CancelError tells Main the user cancelled; it exits with ExitCancel and
// prints nothing.
var CancelError = errors.New("CancelError") //nolint:revive,staticcheck // named as in cli/cli.

// IsUserCancellation reports whether err means the user cancelled.
func IsUserCancellation(err error) bool { return errors.Is(err, CancelError) }

// MutuallyExclusive returns a FlagError with message when more than one of
// conditions holds, and nil otherwise.
func MutuallyExclusive(message string, conditions ...bool) error {
	n := 0
	for _, c := range conditions {
		if c {
			n++
		}
	}
	if n > 1 {
		return FlagErrorf("%s", message)
	}
	return nil
}

// NoArgs is cobra.NoArgs returning a FlagError.
func NoArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return FlagErrorf("unknown argument %q for %q", args[0], cmd.CommandPath())
	}
	return nil
}

// ExactArgs accepts exactly n arguments; with fewer the FlagError says msg
// (for example "model name required"), with more it lists the extra ones.
func ExactArgs(n int, msg string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return FlagErrorf("too many arguments for %q: %s", cmd.CommandPath(), strings.Join(quoteEach(args[n:]), " "))
		}
		if len(args) < n {
			return FlagErrorf("%s", msg)
		}
		return nil
	}
}

// MinimumArgs accepts n or more arguments; with fewer the FlagError says msg.
func MinimumArgs(n int, msg string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return FlagErrorf("%s", msg)
		}
		return nil
	}
}

func quoteEach(ss []string) []string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return q
}

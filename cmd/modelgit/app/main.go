package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/modelgit/modelgit/cmd/modelgit/cmdutil"
)

// ExitCode is the process exit status; see cmdutil.ExitCode.
type ExitCode = cmdutil.ExitCode

// Exit codes, re-exported from cmdutil.
const (
	ExitOK        = cmdutil.ExitOK
	ExitError     = cmdutil.ExitError
	ExitFlagError = cmdutil.ExitFlagError
	ExitCancel    = cmdutil.ExitCancel
)

// Main runs modelgit with os.Args and returns the exit code. Ctrl-C or
// SIGTERM cancels the context commands get from cmd.Context(): every long
// step (hashing, copying, uploading, waiting for a lock) checks it and
// stops, removing its temp files and committing nothing. The first signal
// also restores the default handling, so a second Ctrl-C kills the process
// at once should anything not stop.
func Main() ExitCode {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop)
	version, commit := buildVersion()
	f := cmdutil.NewFactory(version)
	f.Commit = commit
	return run(ctx, f, NewRootCmd(f), os.Args[1:])
}

// run executes root with the command line args and maps the outcome to an exit
// code, printing the error (redacted) and, for command-line mistakes, the
// usage. It is the one place errors become messages and exit codes.
func run(ctx context.Context, f *cmdutil.Factory, root *cobra.Command, args []string) ExitCode {
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	if cmd == nil {
		cmd = root
	}
	stderr := f.IOStreams.ErrOut
	switch {
	case errors.Is(err, cmdutil.SilentError):
		return ExitError
	case cmdutil.IsUserCancellation(err):
		return ExitCancel
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		// Interrupted: end the line the terminal echoed ^C on.
		fmt.Fprintln(stderr)
		return ExitCancel
	}
	printError(stderr, err, cmd)
	if isUsageError(err) {
		return ExitFlagError
	}
	return ExitError
}

// isUsageError reports whether err is a command-line mistake: a FlagError,
// or one of cobra's own errors for an unknown command.
func isUsageError(err error) bool {
	var fe *cmdutil.FlagError
	return errors.As(err, &fe) || strings.HasPrefix(err.Error(), "unknown command ")
}

// printError writes "modelgit: <err>" with secrets redacted, then the
// command's usage for command-line mistakes.
func printError(w io.Writer, err error, cmd *cobra.Command) {
	msg := strings.TrimRight(cmdutil.Redact(err.Error()), "\n")
	fmt.Fprintf(w, "%s: %s\n", cmd.Root().Name(), msg)
	if isUsageError(err) {
		fmt.Fprintln(w)
		fmt.Fprint(w, cmd.UsageString())
	}
}

package cmdutil

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/mattn/go-isatty"
)

// IOStreams is where a command reads and writes, and what it knows about
// the terminal behind them. Command code never touches os.Stdout: it
// prints to Out and ErrOut.
type IOStreams struct {
	// In is standard input.
	In io.Reader
	// Out is standard output: results, and nothing else.
	Out io.Writer
	// ErrOut is standard error: progress, warnings and errors.
	ErrOut io.Writer

	stdinTTY  bool
	stdoutTTY bool
	stderrTTY bool
	color     bool
	// width is the terminal width; 0 means "ask the terminal".
	width int
	// outFd is the file descriptor of Out when it is a file, or -1.
	outFd int
}

// System returns IOStreams over the process's standard streams, with TTY
// detection and colour decided from the environment (NO_COLOR,
// CLICOLOR, CLICOLOR_FORCE, TERM).
func System() *IOStreams {
	s := &IOStreams{
		In:        os.Stdin,
		Out:       os.Stdout,
		ErrOut:    os.Stderr,
		stdinTTY:  isTerminal(os.Stdin),
		stdoutTTY: isTerminal(os.Stdout),
		stderrTTY: isTerminal(os.Stderr),
		outFd:     int(os.Stdout.Fd()),
	}
	s.color = colorEnabled(os.Getenv, s.stdoutTTY)
	return s
}

// Test returns IOStreams over in-memory buffers for tests, with every TTY
// flag off; the Set methods turn them on.
func Test() (ios *IOStreams, stdin, stdout, stderr *bytes.Buffer) {
	stdin, stdout, stderr = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	ios = &IOStreams{In: stdin, Out: stdout, ErrOut: stderr, width: 80, outFd: -1}
	return ios, stdin, stdout, stderr
}

func isTerminal(f *os.File) bool {
	fd := f.Fd()
	return isatty.IsTerminal(fd) || isatty.IsCygwinTerminal(fd)
}

// colorEnabled follows cli/cli: CLICOLOR_FORCE (not "0") forces colour;
// otherwise NO_COLOR (any value), CLICOLOR=0 or TERM=dumb disable it, and a
// terminal on stdout enables it.
func colorEnabled(getenv func(string) string, stdoutTTY bool) bool {
	if v := getenv("CLICOLOR_FORCE"); v != "" && v != "0" {
		return true
	}
	if getenv("NO_COLOR") != "" || getenv("CLICOLOR") == "0" || getenv("TERM") == "dumb" {
		return false
	}
	return stdoutTTY
}

// IsStdinTTY reports whether standard input is a terminal.
func (s *IOStreams) IsStdinTTY() bool { return s.stdinTTY }

// IsStdoutTTY reports whether standard output is a terminal: tables are
// aligned and truncated, and headers shown, only when it is.
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }

// IsStderrTTY reports whether standard error is a terminal (progress
// output is worth drawing).
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

// ColorEnabled reports whether output may contain ANSI colour.
func (s *IOStreams) ColorEnabled() bool { return s.color }

// SetStdinTTY overrides terminal detection for standard input (tests).
func (s *IOStreams) SetStdinTTY(v bool) { s.stdinTTY = v }

// SetStdoutTTY overrides terminal detection for standard output (tests).
func (s *IOStreams) SetStdoutTTY(v bool) { s.stdoutTTY = v }

// SetStderrTTY overrides terminal detection for standard error (tests).
func (s *IOStreams) SetStderrTTY(v bool) { s.stderrTTY = v }

// SetColorEnabled overrides colour detection (tests).
func (s *IOStreams) SetColorEnabled(v bool) { s.color = v }

// SetTerminalWidth fixes the terminal width; 0 restores detection.
func (s *IOStreams) SetTerminalWidth(w int) { s.width = w }

// TerminalWidth returns the width tables are truncated to: the width set
// with SetTerminalWidth, else $COLUMNS, else the width of the terminal on
// standard output, else 80.
func (s *IOStreams) TerminalWidth() int {
	if s.width > 0 {
		return s.width
	}
	if n, err := strconv.Atoi(strings.TrimSpace(os.Getenv("COLUMNS"))); err == nil && n > 0 {
		return n
	}
	if s.stdoutTTY && s.outFd >= 0 {
		if w := terminalWidth(s.outFd); w > 0 {
			return w
		}
	}
	return 80
}

// ColorScheme returns the colouring functions for these streams; they are
// the identity when colour is off.
func (s *IOStreams) ColorScheme() *ColorScheme { return &ColorScheme{enabled: s.color} }

// ColorScheme colours text for the terminal, and does nothing when colour
// is disabled.
type ColorScheme struct{ enabled bool }

func (c *ColorScheme) wrap(code, s string) string {
	if !c.enabled || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// Bold returns s in bold.
func (c *ColorScheme) Bold(s string) string { return c.wrap("1", s) }

// Red returns s in red.
func (c *ColorScheme) Red(s string) string { return c.wrap("31", s) }

// Green returns s in green.
func (c *ColorScheme) Green(s string) string { return c.wrap("32", s) }

// Yellow returns s in yellow.
func (c *ColorScheme) Yellow(s string) string { return c.wrap("33", s) }

// Gray returns s in gray.
func (c *ColorScheme) Gray(s string) string { return c.wrap("90", s) }

// SuccessIcon returns a green check mark.
func (c *ColorScheme) SuccessIcon() string { return c.Green("✓") }

// FailureIcon returns a red cross.
func (c *ColorScheme) FailureIcon() string { return c.Red("X") }

// WarningIcon returns a yellow exclamation mark.
func (c *ColorScheme) WarningIcon() string { return c.Yellow("!") }

//go:build !unix

package cmdutil

// terminalWidth is unknown off Unix; TerminalWidth falls back to $COLUMNS
// or 80.
func terminalWidth(int) int { return 0 }

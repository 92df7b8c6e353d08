//go:build unix

package cmdutil

import "golang.org/x/sys/unix"

// terminalWidth asks the terminal on fd for its width; 0 when it cannot.
func terminalWidth(fd int) int {
	ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
	if err != nil {
		return 0
	}
	return int(ws.Col)
}

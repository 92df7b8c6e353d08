package cmdutil

import "testing"

func TestColorEnabled(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		tty  bool
		want bool
	}{
		{name: "terminal", tty: true, want: true},
		{name: "pipe", tty: false, want: false},
		{name: "NO_COLOR", env: map[string]string{"NO_COLOR": "1"}, tty: true, want: false},
		{name: "CLICOLOR=0", env: map[string]string{"CLICOLOR": "0"}, tty: true, want: false},
		{name: "TERM=dumb", env: map[string]string{"TERM": "dumb"}, tty: true, want: false},
		{name: "CLICOLOR_FORCE on a pipe", env: map[string]string{"CLICOLOR_FORCE": "1"}, tty: false, want: true},
		{name: "CLICOLOR_FORCE beats NO_COLOR", env: map[string]string{"CLICOLOR_FORCE": "1", "NO_COLOR": "1"}, want: true},
		{name: "CLICOLOR_FORCE=0 is off", env: map[string]string{"CLICOLOR_FORCE": "0"}, tty: false, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := colorEnabled(func(k string) string { return tt.env[k] }, tt.tty); got != tt.want {
				t.Errorf("colorEnabled = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestColorScheme(t *testing.T) {
	ios, _, _, _ := Test()
	if got := ios.ColorScheme().Green("ok"); got != "ok" {
		t.Errorf("colour off: Green(ok) = %q", got)
	}
	ios.SetColorEnabled(true)
	if got := ios.ColorScheme().Green("ok"); got != "\x1b[32mok\x1b[0m" {
		t.Errorf("colour on: Green(ok) = %q", got)
	}
}

func TestTerminalWidth(t *testing.T) {
	ios, _, _, _ := Test()
	if got := ios.TerminalWidth(); got != 80 {
		t.Errorf("Test() width = %d, want 80", got)
	}
	ios.SetTerminalWidth(0)
	t.Setenv("COLUMNS", "132")
	if got := ios.TerminalWidth(); got != 132 {
		t.Errorf("COLUMNS=132: width = %d", got)
	}
	t.Setenv("COLUMNS", "")
	if got := ios.TerminalWidth(); got != 80 {
		t.Errorf("no terminal: width = %d, want 80", got)
	}
}

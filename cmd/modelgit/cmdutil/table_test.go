package cmdutil

import "testing"

func TestTablePrinter(t *testing.T) {
	type row []string
	tests := []struct {
		name   string
		tty    bool
		color  bool
		width  int
		header []string
		rows   []row
		want   string
	}{
		{
			name:   "pipe: tab-separated, no header",
			header: []string{"MODEL", "VERSION"},
			rows:   []row{{"fraud-detector", "1.4.0"}, {"churn", "0.1.0+data.2"}},
			want:   "fraud-detector\t1.4.0\nchurn\t0.1.0+data.2\n",
		},
		{
			name: "pipe: tabs and newlines in fields become spaces",
			rows: []row{{"a\tb", "c\nd"}},
			want: "a b\tc d\n",
		},
		{
			name:   "terminal: aligned, header",
			tty:    true,
			width:  80,
			header: []string{"MODEL", "VERSION", "ENV"},
			rows:   []row{{"fraud-detector", "1.4.0", "prod"}, {"churn", "0.1.0+data.2", ""}},
			want: "MODEL           VERSION       ENV\n" +
				"fraud-detector  1.4.0         prod\n" +
				"churn           0.1.0+data.2\n",
		},
		{
			name:  "terminal: widest column truncated to fit",
			tty:   true,
			width: 30,
			rows:  []row{{"m", "sha256:0123456789abcdef0123456789abcdef", "ok"}},
			want:  "m  sha256:0123456789abc...  ok\n", // 30 columns,
		},
		{
			name:  "terminal: never below the minimum width",
			tty:   true,
			width: 10,
			rows:  []row{{"abcdefghij", "klmnopqrst"}},
			want:  "ab...  kl...\n",
		},
		{
			name:  "terminal: colour after truncation",
			tty:   true,
			color: true,
			width: 80,
			rows:  []row{{"x", "y"}},
			want:  "\x1b[1mx\x1b[0m  y\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, stdout, _ := Test()
			ios.SetStdoutTTY(tt.tty)
			ios.SetColorEnabled(tt.color)
			ios.SetTerminalWidth(tt.width)
			tp := NewTablePrinter(ios, tt.header...)
			cs := ios.ColorScheme()
			for _, r := range tt.rows {
				for i, f := range r {
					if tt.color && i == 0 {
						tp.AddField(f, WithColor(cs.Bold))
					} else {
						tp.AddField(f)
					}
				}
				tp.EndRow()
			}
			if err := tp.Render(); err != nil {
				t.Fatal(err)
			}
			if got := stdout.String(); got != tt.want {
				t.Errorf("got:\n%q\nwant:\n%q", got, tt.want)
			}
		})
	}
}

func TestTablePrinterNoTruncate(t *testing.T) {
	ios, _, stdout, _ := Test()
	ios.SetStdoutTTY(true)
	ios.SetTerminalWidth(20)
	tp := NewTablePrinter(ios)
	tp.AddField("sha256:0123456789abcdef", NoTruncate())
	tp.AddField("a long description here")
	tp.EndRow()
	if err := tp.Render(); err != nil {
		t.Fatal(err)
	}
	if want := "sha256:0123456789abcdef  a ...\n"; stdout.String() != want {
		t.Errorf("got %q, want %q", stdout.String(), want)
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abcdef", 5, "ab..."},
		{"abcdef", 3, "abc"},
		{"héllo wörld", 8, "héllo..."},
	}
	for _, tt := range tests {
		if got := truncate(tt.in, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

// TestTablePrinterTruncateRightFirst: the audit table at 120 columns had
// every column cut to a few letters, versions included. Right first, the
// left columns stay whole; when narrowing is not enough, the rightmost
// columns are left out, header included. Piped output keeps everything.
func TestTablePrinterTruncateRightFirst(t *testing.T) {
	render := func(tty bool, width int) string {
		ios, _, stdout, _ := Test()
		ios.SetStdoutTTY(tty)
		ios.SetTerminalWidth(width)
		tp := NewTablePrinter(ios, "MODEL", "FROM → TO", "BY", "SIGNATURE")
		tp.TruncateRightFirst()
		tp.AddField("fraud-detector", NoTruncate())
		tp.AddField("0.1.0+data.1 → 0.1.1+data.2", NoTruncate())
		tp.AddRow("Quinn Quickstart", "does not verify")
		if err := tp.Render(); err != nil {
			t.Fatal(err)
		}
		return stdout.String()
	}
	for _, tt := range []struct {
		width int
		want  string
	}{
		{80, "MODEL           FROM → TO                    BY                SIGNATURE\n" +
			"fraud-detector  0.1.0+data.1 → 0.1.1+data.2  Quinn Quickstart  does not verify\n"},
		{70, "MODEL           FROM → TO                    BY                SIGN...\n" +
			"fraud-detector  0.1.0+data.1 → 0.1.1+data.2  Quinn Quickstart  does...\n"},
		{60, "MODEL           FROM → TO                    BY        SI...\n" +
			"fraud-detector  0.1.0+data.1 → 0.1.1+data.2  Quinn...  do...\n"},
		{52, "MODEL           FROM → TO                    BY\n" +
			"fraud-detector  0.1.0+data.1 → 0.1.1+data.2  Quin...\n"},
	} {
		if got := render(true, tt.width); got != tt.want {
			t.Errorf("width %d:\n%s\nwant:\n%s", tt.width, got, tt.want)
		}
	}
	if got, want := render(false, 40), "fraud-detector\t0.1.0+data.1 → 0.1.1+data.2\tQuinn Quickstart\tdoes not verify\n"; got != want {
		t.Errorf("piped: %q, want %q", got, want)
	}
}

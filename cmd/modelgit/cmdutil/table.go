package cmdutil

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// TablePrinter prints rows like cli/cli's tableprinter. On a terminal the
// header is shown, columns are aligned and the widest columns are
// truncated with "..." to fit TerminalWidth. Otherwise each row is one line
// of tab-separated fields, with no header, colour or truncation, for
// scripts (cut -f, awk -F'\t').
//
//	tp := cmdutil.NewTablePrinter(ios, "MODEL", "VERSION")
//	tp.AddField(name)
//	tp.AddField(version, cmdutil.WithColor(cs.Green))
//	tp.EndRow()
//	return tp.Render()
type TablePrinter struct {
	out    io.Writer
	isTTY  bool
	color  bool
	width  int
	header []string
	rows   [][]field
	row    []field
	// rightFirst narrows the rightmost columns first (TruncateRightFirst).
	rightFirst bool
}

type field struct {
	text       string
	color      func(string) string
	noTruncate bool
}

// FieldOption changes how one field is printed.
type FieldOption func(*field)

// WithColor colours the field (after truncation) when the output is a
// terminal with colour enabled.
func WithColor(fn func(string) string) FieldOption {
	return func(f *field) { f.color = fn }
}

// NoTruncate keeps the field's whole column at full width on a terminal.
func NoTruncate() FieldOption {
	return func(f *field) { f.noTruncate = true }
}

// NewTablePrinter returns a TablePrinter writing to ios.Out. The header is
// printed only on a terminal.
func NewTablePrinter(ios *IOStreams, header ...string) *TablePrinter {
	t := &TablePrinter{out: ios.Out, isTTY: ios.IsStdoutTTY()}
	if t.isTTY {
		t.width = ios.TerminalWidth()
		t.header = header
	}
	t.color = ios.ColorEnabled()
	return t
}

// TruncateRightFirst makes a terminal table that is too wide narrow its
// rightmost truncatable column first (down to the minimum width), then the
// one to its left, and so on, keeping the left columns, which say what a
// row is, whole; when even that does not fit, the rightmost columns are
// left out. Without it every truncatable column is narrowed alike.
func (t *TablePrinter) TruncateRightFirst() { t.rightFirst = true }

// AddField appends a field to the current row.
func (t *TablePrinter) AddField(s string, opts ...FieldOption) {
	f := field{text: strings.NewReplacer("\t", " ", "\r\n", " ", "\n", " ", "\r", " ").Replace(s)}
	for _, o := range opts {
		o(&f)
	}
	t.row = append(t.row, f)
}

// AddRow appends a whole row of plain fields.
func (t *TablePrinter) AddRow(fields ...string) {
	for _, s := range fields {
		t.AddField(s)
	}
	t.EndRow()
}

// EndRow finishes the current row.
func (t *TablePrinter) EndRow() {
	t.rows = append(t.rows, t.row)
	t.row = nil
}

// Render writes the table. An unfinished row is ended first.
func (t *TablePrinter) Render() error {
	if len(t.row) > 0 {
		t.EndRow()
	}
	w := bufio.NewWriter(t.out)
	if !t.isTTY {
		for _, row := range t.rows {
			for i, f := range row {
				if i > 0 {
					w.WriteByte('\t')
				}
				w.WriteString(f.text)
			}
			w.WriteByte('\n')
		}
		return flushTable(w)
	}

	rows := t.rows
	if len(t.header) > 0 {
		h := make([]field, len(t.header))
		for i, s := range t.header {
			h[i] = field{text: s}
		}
		rows = append([][]field{h}, rows...)
	}
	var widths []int
	if t.rightFirst {
		widths = fitRightFirst(rows, t.width)
	} else {
		widths = fitColumns(rows, t.width)
	}
	for _, row := range rows {
		var line strings.Builder
		if len(row) > len(widths) {
			row = row[:len(widths)] // left out: the table is too wide
		}
		for i, f := range row {
			text := truncate(f.text, widths[i])
			pad := widths[i] - utf8.RuneCountInString(text)
			if f.color != nil && t.color {
				text = f.color(text)
			}
			line.WriteString(text)
			if i < len(row)-1 {
				line.WriteString(strings.Repeat(" ", pad+columnGap))
			}
		}
		w.WriteString(strings.TrimRight(line.String(), " "))
		w.WriteByte('\n')
	}
	return flushTable(w)
}

func flushTable(w *bufio.Writer) error {
	if err := w.Flush(); err != nil {
		return fmt.Errorf("writing table: %w", err)
	}
	return nil
}

// columnGap is the number of spaces between columns on a terminal.
const columnGap = 2

// minColumnWidth is the narrowest a truncated column gets.
const minColumnWidth = 5

// fitColumns returns each column's width: its widest field, with the widest
// truncatable columns narrowed (never below minColumnWidth) until the row
// fits in total. Widths count runes; colours are applied after, so ANSI
// escapes never disturb alignment (which is why this does not use
// text/tabwriter).
func fitColumns(rows [][]field, total int) []int {
	widths, fixed := naturalWidths(rows)
	if len(widths) == 0 || total <= 0 {
		return widths
	}
	avail := total - columnGap*(len(widths)-1)
	need := 0
	for i, w := range widths {
		if fixed[i] {
			avail -= w
		} else {
			need += w
		}
	}
	if need <= avail {
		return widths
	}
	// Find the largest cap c with sum(min(w, max(c, min))) <= avail.
	sumAt := func(c int) int {
		s := 0
		for i, w := range widths {
			if !fixed[i] {
				s += min(w, max(c, minColumnWidth))
			}
		}
		return s
	}
	lo, hi := 0, 0
	for i, w := range widths {
		if !fixed[i] {
			hi = max(hi, w)
		}
	}
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if sumAt(mid) <= avail {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	for i, w := range widths {
		if !fixed[i] {
			widths[i] = min(w, max(lo, minColumnWidth))
		}
	}
	return widths
}

// fitRightFirst is fitColumns for TruncateRightFirst: it returns fewer
// widths than there are columns when the rightmost are left out.
func fitRightFirst(rows [][]field, total int) []int {
	nat, fixed := naturalWidths(rows)
	if total <= 0 {
		return nat
	}
	widths := slices.Clone(nat)
	for len(widths) > 0 {
		over := columnGap*(len(widths)-1) - total
		for _, w := range widths {
			over += w
		}
		for i := len(widths) - 1; i >= 0 && over > 0; i-- {
			if fixed[i] || widths[i] <= minColumnWidth {
				continue
			}
			cut := min(over, widths[i]-minColumnWidth)
			widths[i] -= cut
			over -= cut
		}
		if over <= 0 || len(widths) == 1 {
			return widths
		}
		// Too wide even with every column narrowed: leave out the
		// rightmost and start again from the natural widths.
		widths, fixed = slices.Clone(nat[:len(widths)-1]), fixed[:len(widths)-1]
	}
	return widths
}

// naturalWidths are each column's widest field, and whether a field of it
// asked not to be truncated.
func naturalWidths(rows [][]field) (widths []int, fixed []bool) {
	for _, row := range rows {
		for i, f := range row {
			if i >= len(widths) {
				widths = append(widths, 0)
				fixed = append(fixed, false)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(f.text))
			fixed[i] = fixed[i] || f.noTruncate
		}
	}
	return widths, fixed
}

// truncate shortens s to n runes, ending in "..." when it cut something.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	if n <= 3 {
		return string(r[:n])
	}
	return string(r[:n-3]) + "..."
}

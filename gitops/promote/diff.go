package promote

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// unifiedDiff returns the hunks of a line diff of old and new in unified
// format: "@@ -l,n +l,n @@" headers, then " ", "-" and "+" lines, with up
// to context unchanged lines around the changes (changes at most twice
// that many unchanged lines apart share a hunk), as `git diff` shows them.
func unifiedDiff(old, new string, context int) string {
	dmp := diffmatchpatch.New()
	a, b, lines := dmp.DiffLinesToChars(old, new)
	diffs := dmp.DiffCharsToLines(dmp.DiffMain(a, b, false), lines)
	type line struct {
		op   byte
		text string
	}
	var ls []line
	for _, d := range diffs {
		op := byte(' ')
		switch d.Type {
		case diffmatchpatch.DiffInsert:
			op = '+'
		case diffmatchpatch.DiffDelete:
			op = '-'
		}
		for _, l := range strings.SplitAfter(d.Text, "\n") {
			if l != "" {
				ls = append(ls, line{op, strings.TrimSuffix(l, "\n")})
			}
		}
	}
	// oldAt[i] and newAt[i] count the old and new lines before ls[i].
	oldAt, newAt := make([]int, len(ls)+1), make([]int, len(ls)+1)
	for i, l := range ls {
		oldAt[i+1], newAt[i+1] = oldAt[i], newAt[i]
		if l.op != '+' {
			oldAt[i+1]++
		}
		if l.op != '-' {
			newAt[i+1]++
		}
	}
	span := func(at []int, from, to int) string {
		n := at[to] - at[from]
		start := at[from] + 1
		if n == 0 {
			start--
		}
		if n == 1 {
			return strconv.Itoa(start)
		}
		return fmt.Sprintf("%d,%d", start, n)
	}
	var out strings.Builder
	for i := 0; i < len(ls); {
		if ls[i].op == ' ' {
			i++
			continue
		}
		last := i // the last changed line of the hunk
		// A change at most 2×context unchanged lines after the last one
		// joins the hunk (their contexts touch or overlap), as in git.
		for j := i + 1; j < len(ls) && j-last-1 <= 2*context; j++ {
			if ls[j].op != ' ' {
				last = j
			}
		}
		from, to := max(0, i-context), min(len(ls), last+context+1)
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", span(oldAt, from, to), span(newAt, from, to))
		for _, l := range ls[from:to] {
			out.WriteByte(l.op)
			out.WriteString(l.text)
			out.WriteByte('\n')
		}
		i = to
	}
	return out.String()
}

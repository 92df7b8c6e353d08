package repo

import "strings"

// Trailer is one "Key: value" line of a commit message's trailer block.
type Trailer struct {
	Key, Value string
}

// gitGeneratedPrefixes are the lines git itself writes that make a
// paragraph a trailer block even among other lines (trailer.c).
var gitGeneratedPrefixes = []string{"Signed-off-by: ", "(cherry picked from commit "}

const commentChar = '#'

// ParseTrailers returns the trailers of message exactly as
// `git interpret-trailers --parse` prints them: the trailer block is the
// last paragraph (never the subject) when it consists only of "Key: value"
// lines (with indented continuation lines), or contains a git-generated
// trailer and at least 25% trailers; a "---" line and anything after it,
// and trailing comment lines, are ignored; values are unfolded and trimmed.
func ParseTrailers(message string) []Trailer {
	end := endOfLogMessage(message)
	buf := message[:end]
	start := trailerBlockStart(buf)
	var items []string
	last := -1
	for _, line := range splitKeep(buf[start:]) {
		if last >= 0 && isSpace(line[0]) {
			items[last] += line
			continue
		}
		items = append(items, line)
		last = -1
		if findSeparator(line) >= 1 {
			last = len(items) - 1
		}
	}
	var out []Trailer
	for _, it := range items {
		if it[0] == commentChar {
			continue
		}
		sep := findSeparator(it)
		if sep < 1 {
			continue
		}
		out = append(out, Trailer{Key: trimSpace(it[:sep]), Value: unfold(trimSpace(it[sep+1:]))})
	}
	return out
}

// FormatMessage builds a commit message: the subject line, a blank line and
// the body when there is one, and a blank line and the trailers, one
// "Key: value" per line (a multi-line value continues on indented lines;
// its blank lines are dropped). Keys must be tokens (letters, digits and
// '-'). ParseTrailers reads the trailers back whatever the subject, body
// and values hold: the subject is one line, and a body line that would
// end the message for git (a "---" divider, a "#" line such as the
// scissors) is indented by one space, so that text cannot hide the
// trailers or add some of its own.
func FormatMessage(subject, body string, trailers []Trailer) string {
	var b strings.Builder
	b.WriteString(strings.Join(strings.Fields(subject), " "))
	b.WriteByte('\n')
	if body = strings.TrimSpace(body); body != "" {
		b.WriteString("\n")
		for l := range strings.SplitSeq(body, "\n") {
			if strings.HasPrefix(l, "---") || strings.HasPrefix(l, string(commentChar)) {
				b.WriteByte(' ')
			}
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	if len(trailers) > 0 {
		b.WriteByte('\n')
		for _, t := range trailers {
			b.WriteString(strings.TrimSpace(t.Key))
			b.WriteString(":")
			sep := " "
			for l := range strings.SplitSeq(t.Value, "\n") {
				if l = strings.TrimSpace(l); l != "" {
					b.WriteString(sep)
					b.WriteString(l)
					sep = "\n "
				}
			}
			if sep == " " {
				b.WriteString(" ")
			}
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func trimSpace(s string) string {
	i, j := 0, len(s)
	for i < j && isSpace(s[i]) {
		i++
	}
	for j > i && isSpace(s[j-1]) {
		j--
	}
	return s[i:j]
}

// splitKeep splits s into lines that keep their "\n".
func splitKeep(s string) []string {
	var out []string
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

func nextLine(s string, i int) int {
	j := strings.IndexByte(s[i:], '\n')
	if j < 0 {
		return len(s)
	}
	return i + j + 1
}

// lastLine returns the start of the last line of s[:n], or -1 when n is 0.
func lastLine(s string, n int) int {
	if n == 0 {
		return -1
	}
	if n == 1 {
		return 0
	}
	for i := n - 2; i >= 0; i-- {
		if s[i] == '\n' {
			return i + 1
		}
	}
	return 0
}

func isBlankLine(s string) bool {
	for i := 0; i < len(s) && s[i] != '\n'; i++ {
		if !isSpace(s[i]) {
			return false
		}
	}
	return true
}

// findSeparator mirrors trailer.c: "<token><optional space>:" gives the
// position of ':', anything else -1.
func findSeparator(line string) int {
	ws := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c == ':' {
			return i
		}
		if !ws && (isAlnum(c) || c == '-') {
			continue
		}
		if i != 0 && (c == ' ' || c == '\t') {
			ws = true
			continue
		}
		break
	}
	return -1
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func unfold(v string) string {
	if strings.IndexByte(v, '\n') < 0 {
		return trimSpace(v) // one line, the most common: nothing to copy
	}
	var b strings.Builder
	for i := 0; i < len(v); {
		c := v[i]
		i++
		if c == '\n' {
			for i < len(v) && isSpace(v[i]) {
				i++
			}
			b.WriteByte(' ')
			continue
		}
		b.WriteByte(c)
	}
	return trimSpace(b.String())
}

// endOfLogMessage mirrors find_end_of_log_message: cut at a "---" divider,
// then drop trailing comments, blank lines and anything below the scissors.
func endOfLogMessage(s string) int {
	end := len(s)
	for i := 0; i < len(s); i = nextLine(s, i) {
		if strings.HasPrefix(s[i:], "---") && i+3 < len(s) && isSpace(s[i+3]) {
			end = i
			break
		}
	}
	return end - ignoredLogMessageBytes(s, end)
}

const cutLine = "# ------------------------ >8 ------------------------\n"

func ignoredLogMessageBytes(s string, n int) int {
	buf := s[:n]
	cutoff := n
	if strings.HasPrefix(buf, cutLine) {
		cutoff = 0
	} else if i := strings.Index(buf, "\n"+cutLine); i >= 0 {
		cutoff = i + 1
	}
	boc := 0
	inConflicts := false
	for bol := 0; bol < cutoff; {
		next := strings.IndexByte(buf[bol:cutoff], '\n')
		if next < 0 {
			next = cutoff
		} else {
			next = bol + next + 1
		}
		switch {
		case buf[bol] == commentChar || buf[bol] == '\n':
			if boc == 0 {
				boc = bol
			}
		case strings.HasPrefix(buf[bol:], "Conflicts:\n"):
			inConflicts = true
			if boc == 0 {
				boc = bol
			}
		case inConflicts && buf[bol] == '\t':
		case boc != 0:
			boc = 0
			inConflicts = false
		}
		bol = next
	}
	if boc != 0 {
		return n - boc
	}
	return n - cutoff
}

// trailerBlockStart mirrors find_trailer_block_start.
func trailerBlockStart(buf string) int {
	n := len(buf)
	s := 0
	for ; s < n; s = nextLine(buf, s) {
		if buf[s] == commentChar {
			continue
		}
		if isBlankLine(buf[s:]) {
			break
		}
	}
	endOfTitle := s
	onlySpaces := true
	recognized := false
	trailerLines, nonTrailerLines, possibleContinuation := 0, 0, 0
	for l := lastLine(buf, n); l >= endOfTitle && l >= 0; l = lastLine(buf, l) {
		bol := buf[l:]
		if bol[0] == commentChar {
			nonTrailerLines += possibleContinuation
			possibleContinuation = 0
			continue
		}
		if isBlankLine(bol) {
			if onlySpaces {
				continue
			}
			nonTrailerLines += possibleContinuation
			if (recognized && trailerLines*3 >= nonTrailerLines) || (trailerLines > 0 && nonTrailerLines == 0) {
				return nextLine(buf, l)
			}
			return n
		}
		onlySpaces = false
		generated := false
		for _, p := range gitGeneratedPrefixes {
			if strings.HasPrefix(bol, p) {
				generated = true
				break
			}
		}
		if generated {
			trailerLines++
			possibleContinuation = 0
			recognized = true
			continue
		}
		if sep := findSeparator(bol); sep >= 1 && !isSpace(bol[0]) {
			trailerLines++
			possibleContinuation = 0
		} else if isSpace(bol[0]) {
			possibleContinuation++
		} else {
			nonTrailerLines++
			nonTrailerLines += possibleContinuation
			possibleContinuation = 0
		}
	}
	return n
}

package action

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/modelgit/modelgit/gitops/check"
)

// EscapeData escapes the message of a workflow command as the Actions
// toolkit's escapeData does: "%", "\r" and "\n", so a message can neither
// end the command early nor start a new one on the next line.
func EscapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// EscapeProperty escapes a workflow command property value (file=, title=)
// as the toolkit's escapeProperty does: EscapeData plus ":" and ",".
func EscapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// Annotations prints one workflow command per annotation of r
// ("::error file=F,line=L,col=C,title=T::message"), then one per failed
// check without a file, so each failure shows on the run page and, where
// it has a file, on the pull request's diff. Every value is escaped.
func Annotations(w io.Writer, r *check.CheckReport) {
	if r == nil {
		return
	}
	for _, a := range r.Annotations {
		props := []string{"file=" + EscapeProperty(a.File)}
		if a.Line > 0 {
			props = append(props, fmt.Sprintf("line=%d", a.Line))
			if a.Column > 0 {
				props = append(props, fmt.Sprintf("col=%d", a.Column))
			}
		}
		props = append(props, "title="+EscapeProperty("modelgit"))
		fmt.Fprintf(w, "::%s %s::%s\n", level(a.Level), strings.Join(props, ","), EscapeData(a.Message))
	}
	for _, it := range r.Failed() {
		fmt.Fprintf(w, "::error title=%s::%s\n", EscapeProperty("modelgit "+it.Name), EscapeData(it.Summary))
	}
}

// level maps an annotation level to a workflow command; anything unknown
// is an error, so a typo never hides a finding.
func level(l string) string {
	switch l {
	case "warning", "notice":
		return l
	default:
		return "error"
	}
}

// StopCommands prints "::stop-commands::TOKEN" with a random token, so
// that whatever is printed next (a report quoting PR titles, branch names
// or manifest fields) cannot be taken for a workflow command. The returned
// function prints "::TOKEN::" to resume command processing.
func StopCommands(w io.Writer) (resume func()) {
	tok := randomToken()
	fmt.Fprintf(w, "::stop-commands::%s\n", tok)
	return func() { fmt.Fprintf(w, "::%s::\n", tok) }
}

// randomToken returns 16 random bytes in hex.
func randomToken() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand.Read never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// InertJSON makes JSON output safe to print in a GitHub Actions log. The
// runner takes a line for a workflow command when it starts with "::"
// (after spaces) or, in the legacy syntax, holds "##[" anywhere, and
// report values (a pull request title, a branch name) are untrusted.
// Indented JSON never starts a line with "::", and "#" can only occur
// inside a JSON string, so writing each "#" as the escape \u0023 leaves
// the same JSON value with no "##[" left in it.
func InertJSON(b []byte) []byte {
	return bytes.ReplaceAll(b, []byte("#"), []byte(`\u0023`))
}

package manifests

import (
	"cmp"
	"errors"
	"slices"
	"strconv"
	"strings"
)

// FileError is a problem in a manifest file, located by line, column and
// the dotted path of the field, e.g. "artifacts.weights.digest".
type FileError struct {
	File   string
	Line   int // 1-based; 0 when unknown
	Column int // 1-based; 0 when unknown
	// Field is the dotted path of the field, with [i] for list items; empty
	// when the problem is not about one field (a YAML syntax error).
	Field string
	// Msg says what is wrong and what would be valid.
	Msg string
}

// Error returns "file:line:col: field "path": msg".
func (e *FileError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
		if e.Column > 0 {
			b.WriteString(":" + strconv.Itoa(e.Column))
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString("field " + strconv.Quote(e.Field) + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// FileErrors are all the problems found in one file, earliest line first.
// errors.As finds each *FileError in it.
type FileErrors []*FileError

// Error returns one problem per line.
func (es FileErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the errors, for errors.Is and errors.As.
func (es FileErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// sortFileErrors orders by line, column, then field, keeping the order of
// equal positions.
func sortFileErrors(es []*FileError) {
	slices.SortStableFunc(es, func(a, b *FileError) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column), cmp.Compare(a.Field, b.Field))
	})
}

// AsFileErrors returns the FileErrors held in err, or nil.
func AsFileErrors(err error) FileErrors {
	var fes FileErrors
	if errors.As(err, &fes) {
		return fes
	}
	var fe *FileError
	if errors.As(err, &fe) {
		return FileErrors{fe}
	}
	return nil
}

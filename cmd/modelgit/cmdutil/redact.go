package cmdutil

import (
	"regexp"
	"strings"
	"unicode"
)

var (
	// urlPattern matches a URL with a scheme, up to whitespace or a quote.
	urlPattern = regexp.MustCompile("[A-Za-z][A-Za-z0-9+.-]*://[^\\s\"'<>`]+")
	// ghTokenPattern matches GitHub tokens: personal (ghp_), OAuth (gho_),
	// user-to-server (ghu_), server-to-server such as GITHUB_TOKEN (ghs_),
	// refresh (ghr_), and fine-grained personal tokens (github_pat_).
	ghTokenPattern = regexp.MustCompile(`\b(gh[pousr]_|github_pat_)[A-Za-z0-9_]+`)
	// authPattern matches HTTP authorization credentials.
	authPattern = regexp.MustCompile(`(?i)\b(bearer|basic|authorization:\s*token)\s+[A-Za-z0-9._~+/=-]+`)
)

// Redact removes secrets from s before it is printed: URLs lose their
// user info (https://user:token@host → https://host), query string and
// fragment; GitHub tokens keep only their prefix (ghp_***); Bearer and
// Basic credentials become *** (not the words of "basic auth", "bearer
// token"). app.Main applies it to every error it
// prints; apply it to anything else that may echo a URL or a header.
func Redact(s string) string {
	s = urlPattern.ReplaceAllStringFunc(s, redactURL)
	s = ghTokenPattern.ReplaceAllString(s, "${1}***")
	s = authPattern.ReplaceAllStringFunc(s, redactAuth)
	return s
}

// authWords follow "basic" or "bearer" in prose ("basic auth", "bearer
// token"); they are not credentials.
var authWords = map[string]bool{
	"auth": true, "authentication": true, "authorization": true, "challenge": true,
	"credential": true, "credentials": true, "realm": true, "scheme": true, "token": true,
}

// redactAuth replaces the credential of one authPattern match with ***,
// unless it is a word of the sentence around it.
func redactAuth(m string) string {
	i := strings.LastIndexFunc(m, unicode.IsSpace)
	scheme, cred := m[:i+1], m[i+1:]
	if authWords[strings.ToLower(cred)] {
		return m
	}
	return strings.TrimRightFunc(scheme, unicode.IsSpace) + " ***"
}

// redactURL strips user info, query and fragment from one URL, keeping
// trailing punctuation that belongs to the sentence around it.
func redactURL(u string) string {
	trail := ""
	if i := strings.TrimRight(u, ".,;:!)]}"); len(i) < len(u) {
		u, trail = i, u[len(i):]
	}
	scheme, rest, _ := strings.Cut(u, "://")
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	if at := strings.LastIndex(rest[:end], "@"); at >= 0 {
		rest = rest[at+1:]
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	return scheme + "://" + rest + trail
}

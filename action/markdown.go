package action

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/modelgit/modelgit/gitops/check"
	"github.com/modelgit/modelgit/gitops/promote"
)

// Limits that keep the comment under GitHub's 65,536-character maximum
// and readable; what is left out is in the job log (modelgit check's own
// output).
const (
	maxBody    = 60000
	maxField   = 300
	maxDetails = 50
	maxRows    = 100
)

// Markdown renders r as the body of the sticky pull request comment and
// the job summary: the verdict, each check with its details (the gate
// numbers among them), the policies applied, the findings, the approvals
// (who counted and why not), and who may still approve.
//
// Every string taken from r is untrusted (PR titles, logins, manifest
// fields reach it) and is escaped: HTML is inert, Markdown syntax is
// literal, "@mentions" and links do not resolve, newlines cannot start a
// new block, and nothing can fake the hidden sticky-comment marker.
func Markdown(r *check.CheckReport) string {
	if r == nil {
		return "## modelgit: no check report\n"
	}
	var b strings.Builder
	mdHeader(&b, r)
	mdPromotions(&b, r)
	mdChecks(&b, r)
	mdFindings(&b, r)
	mdPolicies(&b, r)
	mdApprovals(&b, r)
	fmt.Fprintf(&b, "\n<sub>modelgit check: the verdict is bound to head %s; this comment is updated in place on every run.</sub>\n", sha(r.Head))
	return limit(b.String(), maxBody)
}

// mdHeader writes the verdict, the pull request and the commits judged.
func mdHeader(b *strings.Builder, r *check.CheckReport) {
	if r.Passed {
		b.WriteString("## ✅ modelgit: promotion check passed\n\n")
	} else {
		b.WriteString("## ❌ modelgit: promotion check failed\n\n")
	}
	if pr := r.PullRequest; pr != nil {
		fmt.Fprintf(b, "**Pull request** #%d: %s", pr.Number, text(pr.Title))
		if pr.Author != "" {
			fmt.Fprintf(b, " (by %s)", text(pr.Author))
		}
		b.WriteString("  \n")
	}
	fmt.Fprintf(b, "**Head** %s · **Base** %s\n\n", sha(r.Head), sha(r.Base))
}

// mdPromotions writes the table of promotions the pull request makes.
func mdPromotions(b *strings.Builder, r *check.CheckReport) {
	if len(r.Promotions) == 0 {
		return
	}
	b.WriteString("| Model | Environment | From | To | Strategy | Requested by |\n| --- | --- | --- | --- | --- | --- |\n")
	for i, p := range r.Promotions {
		if i == maxRows {
			fmt.Fprintf(b, "| … %d more | | | | | |\n", len(r.Promotions)-i)
			break
		}
		from := code(p.From)
		if p.From == "" {
			from = "(none)"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n",
			text(p.Model), text(p.Environment), from, code(p.To), text(p.Strategy), orDash(text(p.RequestedBy)))
	}
	b.WriteString("\n")
}

// mdChecks writes each check item with its details.
func mdChecks(b *strings.Builder, r *check.CheckReport) {
	b.WriteString("### Checks\n\n")
	if len(r.Items) == 0 {
		b.WriteString("_No checks ran._\n")
	}
	for _, it := range r.Items {
		fmt.Fprintf(b, "- %s **%s**: %s\n", icon(it.Status), text(it.Name), orDash(text(it.Summary)))
		for i, d := range it.Details {
			if i == maxDetails {
				fmt.Fprintf(b, "  - … %d more (see the job log)\n", len(it.Details)-i)
				break
			}
			fmt.Fprintf(b, "  - %s\n", text(d))
		}
	}
	b.WriteString("\n")
}

// mdFindings writes the annotations, each with its file and line.
func mdFindings(b *strings.Builder, r *check.CheckReport) {
	if len(r.Annotations) == 0 {
		return
	}
	b.WriteString("### Findings\n\n")
	for i, a := range r.Annotations {
		if i == maxRows {
			fmt.Fprintf(b, "- … %d more (see the job log)\n", len(r.Annotations)-i)
			break
		}
		loc := a.File
		if a.Line > 0 {
			loc += fmt.Sprintf(":%d", a.Line)
		}
		fmt.Fprintf(b, "- %s %s\n", code(loc), text(a.Message))
	}
	b.WriteString("\n")
}

// mdPolicies writes the digest of each environment's policy, as read
// from the base branch.
func mdPolicies(b *strings.Builder, r *check.CheckReport) {
	if len(r.Policies) == 0 {
		return
	}
	b.WriteString("### Policies (read from the base branch)\n\n| Environment | Policy digest |\n| --- | --- |\n")
	envs := make([]string, 0, len(r.Policies))
	for e := range r.Policies {
		envs = append(envs, e)
	}
	sort.Strings(envs)
	for _, e := range envs {
		fmt.Fprintf(b, "| %s | %s |\n", text(e), code(r.Policies[e]))
	}
	b.WriteString("\n")
}

// mdApprovals writes the count against the requirement and every review
// with whether it counts and why not.
func mdApprovals(b *strings.Builder, r *check.CheckReport) {
	counted := 0
	for _, a := range r.Approvals {
		if a.Counted {
			counted++
		}
	}
	fmt.Fprintf(b, "### Approvals: %d of %d required", counted, r.Required)
	if r.Missing > 0 {
		fmt.Fprintf(b, " (%d more needed)", r.Missing)
	}
	b.WriteString("\n\n")
	if len(r.Approvals) == 0 {
		b.WriteString("_No reviews yet._\n")
	} else {
		b.WriteString("| Reviewer | Review | On commit | Counts | Why not |\n| --- | --- | --- | --- | --- |\n")
		for i, a := range r.Approvals {
			if i == maxRows {
				fmt.Fprintf(b, "| … %d more | | | | |\n", len(r.Approvals)-i)
				break
			}
			counts := "❌ no"
			if a.Counted {
				counts = "✅ yes"
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", text(a.User), text(a.State), sha(a.CommitID), counts, orDash(text(a.Reason)))
		}
	}
	if r.Eligible != "" {
		fmt.Fprintf(b, "\n**Who may still approve:** %s\n", text(r.Eligible))
	}
}

// icon shows a check status.
func icon(s check.CheckStatus) string {
	switch s {
	case check.CheckPass:
		return "✅"
	case check.CheckSkip:
		return "⏭️"
	default:
		return "❌"
	}
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

var (
	hexSHA   = regexp.MustCompile(`^[0-9a-f]{7,64}$`)
	safeCode = regexp.MustCompile(`^[A-Za-z0-9._:+/=-]+$`)
)

// sha shows a commit SHA shortened to 12 characters in a code span; a
// value that is not hex is shown as escaped text.
func sha(s string) string {
	if s == "" {
		return "—"
	}
	if !hexSHA.MatchString(s) {
		return text(s)
	}
	if len(s) > 12 {
		s = s[:12]
	}
	return "`" + s + "`"
}

// code puts s in a code span when it holds only characters that are
// inert there (versions, digests, paths); anything else is escaped text.
// Untrusted text never goes into a code span: backticks, "|" and the
// sticky marker would survive in the raw comment.
func code(s string) string {
	if s == "" {
		return ""
	}
	if !safeCode.MatchString(s) || len(s) > maxField {
		return text(s)
	}
	return "`" + s + "`"
}

// mdEscaped are the ASCII punctuation characters that Markdown (or GitHub's
// extensions: tables, strikethrough, math) may read as syntax; each gets a
// backslash, which CommonMark defines to make it literal.
const mdEscaped = "\\`*_{}[]()#+-.!|~$="

// text escapes untrusted s for inline Markdown: newlines and tabs become
// spaces, control and bidirectional-override characters go, "&", "<" and
// ">" become entities (no HTML, no HTML comment, so no fake sticky
// marker), Markdown punctuation is backslash-escaped (no links, images,
// emphasis, tables broken by "|"), "@" is followed by a zero-width space
// (no mention or team ping), and "://" and "www." are broken the same way
// (no autolink). Long values are cut at maxField runes.
func text(s string) string {
	s = clip(s, maxField)
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			// control characters: dropped
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f:
			// bidirectional overrides: dropped (they can make text read
			// differently from what it is)
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '@':
			b.WriteString("@&#8203;")
		case r == ':' && i+2 < len(rs) && rs[i+1] == '/' && rs[i+2] == '/':
			b.WriteString(":&#8203;")
		case r == '.' && i >= 3 && strings.EqualFold(string(rs[i-3:i]), "www"):
			b.WriteString("&#8203;\\.")
		case r < utf8.RuneSelf && strings.ContainsRune(mdEscaped, r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// clip cuts s to at most n runes, marking the cut with "…".
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// limit cuts a Markdown document longer than n bytes at a line boundary
// and says so.
func limit(s string, n int) string {
	return promote.CutMarkdown(s, n, "_… cut here: the full report is in the job log._")
}

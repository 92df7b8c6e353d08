package policies

import (
	"bytes"
	"math"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/modelgit/modelgit/manifests"
)

// Parse parses and validates a policies/<env>.yaml file and compiles its
// gates. Every problem is a *manifests.FileError naming file, line, column
// and field; several come back together as manifests.FileErrors, earliest
// line first. A gate that does not compile is reported at its place in
// the file, with the CEL column.
//
// An environment left out of the file is taken from the file's base name;
// one written in the file must match it. Left-out defaults are filled in:
// the default gate at DefaultTolerance and DefaultApprovals approvals.
func Parse(file string, data []byte) (*PromotionPolicy, error) {
	return manifests.Decode(file, data, Kind, decodeOptions, func(c *manifests.Checker, p *PromotionPolicy) {
		validate(c, data, p)
	})
}

// decodeOptions make the strict reader refuse aliases (expanding them
// multiplies work and errors; a policy is short enough to write out) and
// count a field written as null as written (tolerance: ~ is 0, not the
// default).
var decodeOptions = manifests.DecodeOptions{
	NoAliases: true,
	Noun:      "policy",
	KeepNulls: true,
	Describe: map[reflect.Type]string{
		reflect.TypeFor[Duration](): `a duration such as "24h", "90m" or "7d"`,
	},
}

// fileEnv returns the environment a file name implies: "prod" for
// policies/prod.yaml, or "" when the name says nothing.
func fileEnv(file string) string {
	base := path.Base(strings.ReplaceAll(file, `\`, "/"))
	for _, ext := range []string{".yaml", ".yml"} {
		if name, ok := strings.CutSuffix(base, ext); ok && manifests.ValidName(name) == nil {
			return name
		}
	}
	return ""
}

var teamRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$`)

var queryVarRE = regexp.MustCompile(`\$[A-Za-z_][A-Za-z0-9_]*`)

func validate(c *manifests.Checker, data []byte, p *PromotionPolicy) {
	fromFile := fileEnv(c.File())
	switch {
	case p.Environment == "" && fromFile == "":
		c.Fail("environment", "required field is missing (the file name %q does not name an environment); want the environment this policy guards", path.Base(c.File()))
	case p.Environment == "":
		p.Environment = fromFile
	default:
		if err := manifests.ValidName(p.Environment); err != nil {
			c.Fail("environment", "environment %v", err)
		} else if fromFile != "" && fromFile != p.Environment {
			c.Fail("environment", "environment %q does not match the file name; move the policy to policies/%s.yaml or write environment: %s", p.Environment, p.Environment, fromFile)
		}
	}
	if p.From != "" {
		if err := manifests.ValidName(p.From); err != nil {
			c.Fail("from", "environment %v", err)
		} else if p.From == p.Environment {
			c.Fail("from", "a version cannot come from %q into %q itself; name the environment before it, or leave from out", p.From, p.Environment)
		}
	}

	validateGates(c, data, p)
	if p.DefaultGate == nil {
		p.DefaultGate = &DefaultGate{Tolerance: DefaultTolerance}
	} else if !c.Has("defaultGate.tolerance") {
		p.DefaultGate.Tolerance = DefaultTolerance
	}
	checkTolerance(c, "defaultGate.tolerance", p.DefaultGate.Tolerance)

	validateMetrics(c, p)
	validateApprovals(c, p)
}

// validateGates checks gate names and compiles each gate's CEL.
func validateGates(c *manifests.Checker, data []byte, p *PromotionPolicy) {
	names := map[string]int{}
	for i := range p.Gates {
		g := &p.Gates[i]
		at := "gates[" + strconv.Itoa(i) + "]"
		if g.Name == DefaultGateName {
			c.Fail(at+".name", "gate name %q is reserved for the default gate; pick another name", g.Name)
		} else if j, dup := names[g.Name]; dup {
			c.Fail(at+".name", "gate %q is declared twice (also gates[%d])", g.Name, j)
		} else {
			names[g.Name] = i
		}
		cg, issues := compileGate(g.Expression)
		if issues != nil {
			celErrors(c, data, at+".expression", g.Expression, issues)
			continue
		}
		g.compiled = cg
	}
}

// validateMetrics checks each live metric's direction, tolerance,
// samples, threshold and query placeholders.
func validateMetrics(c *manifests.Checker, p *PromotionPolicy) {
	for _, name := range slicesSorted(p.Metrics) {
		m := p.Metrics[name]
		at := "metrics." + name
		switch m.Direction {
		case "", manifests.DirectionHigher, manifests.DirectionLower:
		default:
			c.Fail(at+".direction", "direction %q is not valid; want %q or %q", m.Direction, manifests.DirectionHigher, manifests.DirectionLower)
		}
		checkTolerance(c, at+".tolerance", m.Tolerance)
		if m.MinSamples < 0 {
			c.Fail(at+".minSamples", "minSamples %d is negative; want 0 or more", m.MinSamples)
		}
		if m.MinSamples > 0 && m.Query != "" {
			if _, _, ok := SamplesQuery(m.Query); !ok {
				c.Fail(at+".minSamples", "minSamples %d needs a range selector in the query to count samples over, and %q has none; select a window, e.g. max_over_time(x{…}[1h]) rather than x{…}, or remove minSamples", m.MinSamples, m.Query)
			}
		}
		if m.Threshold != nil && (math.IsNaN(*m.Threshold) || math.IsInf(*m.Threshold, 0)) {
			c.Fail(at+".threshold", "threshold must be a finite number")
		}
		for _, v := range queryVarRE.FindAllString(m.Query, -1) {
			if !slices.Contains(queryVars, v) {
				c.Fail(at+".query", "placeholder %s is not known; want %s", v, strings.Join(queryVars, ", "))
			}
		}
	}
}

// validateApprovals checks the count, the role and the teams.
func validateApprovals(c *manifests.Checker, p *PromotionPolicy) {
	if p.Approvals.Count < 0 {
		c.Fail("approvals.count", "approvals count %d is negative; want 0 or more", p.Approvals.Count)
	}
	if !c.Has("approvals.count") {
		p.Approvals.Count = DefaultApprovals
	}
	switch p.Approvals.Role {
	case "", RoleMaintain, RoleAdmin:
	case RoleWrite:
		p.Approvals.Role = "" // the default, written out
	default:
		c.Fail("approvals.role", "role %q is not valid; want %q (the default: what GitHub's required reviews ask), %q or %q", p.Approvals.Role, RoleWrite, RoleMaintain, RoleAdmin)
	}
	for i, t := range p.Approvals.Teams {
		at := "approvals.teams[" + strconv.Itoa(i) + "]"
		if !teamRE.MatchString(t) {
			c.Fail(at, "team %q is not valid; want ORG/TEAM, e.g. acme/ml-leads", t)
		} else if j := slices.Index(p.Approvals.Teams, t); j < i {
			c.Fail(at, "team %q is listed twice (also approvals.teams[%d])", t, j)
		}
	}
}

func checkTolerance(c *manifests.Checker, field string, v float64) {
	if math.IsNaN(v) || v < 0 || v > 1 {
		c.Fail(field, "tolerance %v is not valid; want a fraction from 0 to 1, e.g. 0.05 for 5%%", v)
	}
}

func slicesSorted[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// celErrors reports CEL compile problems at their place in the file (whose
// text is data) when the expression's text can be found there, and
// otherwise at the start of the expression's value.
func celErrors(c *manifests.Checker, data []byte, field, expr string, issues []celIssue) {
	n := c.At(field)
	multiline := strings.Contains(strings.TrimRight(expr, "\n"), "\n")
	for _, ci := range issues {
		e := &manifests.FileError{File: c.File(), Field: field, Msg: describeIssue(ci, multiline)}
		if n != nil {
			e.Line, e.Column = n.Line, n.Column
		}
		if ci.line > 0 && n != nil {
			if line, col, ok := locate(data, n, expr, ci.line, ci.column); ok {
				e.Line, e.Column = line, col
			}
		}
		c.Add(e)
	}
}

// locate maps line and column of the expression held by n to a line and
// column of the file (whose text is data), when the expression's text
// stands there verbatim: plain or quoted on one line, or a literal block
// (|).
func locate(data []byte, n *yaml.Node, expr string, line, col int) (int, int, bool) {
	exprLines := strings.Split(expr, "\n")
	if line > len(exprLines) {
		return 0, 0, false
	}
	text := exprLines[line-1]
	if text == "" && line > 1 && n.Style == yaml.LiteralStyle {
		// The end of the expression (a trailing newline): point just
		// after the last line.
		line--
		text = exprLines[line-1]
		col = utf8.RuneCountInString(text) + 1
	}
	var fileLine int
	var fromCol int // 1-based column where to look for text
	switch n.Style {
	case 0, yaml.SingleQuotedStyle, yaml.DoubleQuotedStyle:
		if line != 1 || len(exprLines) != 1 {
			return 0, 0, false
		}
		fileLine, fromCol = n.Line, n.Column
		if n.Style != 0 {
			fromCol++ // the opening quote
		}
	case yaml.LiteralStyle:
		fileLine, fromCol = n.Line+line, 1
	default:
		return 0, 0, false
	}
	src := sourceLine(data, fileLine)
	if src == nil {
		return 0, 0, false
	}
	// Columns are counted in code points, as both yaml.v3 and CEL do.
	runes := []rune(string(src))
	if fromCol-1 > len(runes) {
		return 0, 0, false
	}
	rest := string(runes[fromCol-1:])
	i := strings.Index(rest, text)
	if i < 0 || (n.Style != yaml.LiteralStyle && i != 0) {
		return 0, 0, false
	}
	return fileLine, fromCol + utf8.RuneCountInString(rest[:i]) + col - 1, true
}

// sourceLine returns line n (1-based) of data, without its newline.
func sourceLine(data []byte, n int) []byte {
	for i := 1; i < n; i++ {
		j := bytes.IndexByte(data, '\n')
		if j < 0 {
			return nil
		}
		data = data[j+1:]
	}
	if j := bytes.IndexByte(data, '\n'); j >= 0 {
		data = data[:j]
	}
	return bytes.TrimSuffix(data, []byte("\r"))
}

package policies

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/ext"
)

// Limits that keep a hostile policy from hanging or exhausting the check.
const (
	// MaxExpressionLength is the longest gate expression, in code points.
	MaxExpressionLength = 4096
	// CostLimit bounds the work of one gate evaluation, in CEL cost units
	// (roughly one per operation or list element visited).
	CostLimit    = 1_000_000
	maxRecursion = 64
)

// Variables the gates see.
const (
	varCandidate = "candidate"
	varBaseline  = "baseline"
)

// celEnv is the one CEL environment: candidate and baseline as maps of
// string to dyn, the standard library with its macros (has, all, exists,
// map, filter) and the math extension (math.abs, math.least, …).
var celEnv = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable(varCandidate, cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable(varBaseline, cel.MapType(cel.StringType, cel.DynType)),
		ext.Math(),
		cel.ParserExpressionSizeLimit(MaxExpressionLength),
		cel.ParserRecursionLimit(maxRecursion),
	)
})

// compiledGate is a gate ready to evaluate.
type compiledGate struct {
	prg cel.Program
	// usesBaseline is true when the expression mentions baseline: such a
	// gate is skipped when there is no baseline.
	usesBaseline bool
	// refs are the metrics the expression reads, for the failure message.
	refs []metricRef
	// comparisons are the top-level comparisons (under && and ||), whose
	// operands a failure message shows.
	comparisons []comparison
}

// comparison is one relational call and the IDs of its operands.
type comparison struct {
	id, left, right int64
	op              string
}

var relational = map[string]string{
	operators.Less: "<", operators.LessEquals: "<=", operators.Greater: ">",
	operators.GreaterEquals: ">=", operators.Equals: "==", operators.NotEquals: "!=",
}

// comparisonsOf collects the comparisons reachable from e through &&, ||
// and !.
func comparisonsOf(e ast.Expr, out []comparison) []comparison {
	if e.Kind() != ast.CallKind {
		return out
	}
	call := e.AsCall()
	switch fn := call.FunctionName(); fn {
	case operators.LogicalAnd, operators.LogicalOr, operators.LogicalNot:
		for _, a := range call.Args() {
			out = comparisonsOf(a, out)
		}
	default:
		if op, ok := relational[fn]; ok && len(call.Args()) == 2 {
			out = append(out, comparison{id: e.ID(), left: call.Args()[0].ID(), right: call.Args()[1].ID(), op: op})
		}
	}
	return out
}

// metricRef is candidate.metrics.NAME or baseline.metrics["NAME"].
type metricRef struct {
	subject, metric string
}

func (r metricRef) String() string { return r.subject + ".metrics." + r.metric }

// of returns the subject r reads: candidate or baseline (nil when there
// is no baseline).
func (r metricRef) of(candidate, baseline *Subject) *Subject {
	if r.subject == varBaseline {
		return baseline
	}
	return candidate
}

// celIssue is one compile problem with its place in the expression.
type celIssue struct {
	line, column int // 1-based, in the expression text
	msg          string
}

// compileGate compiles expr. On failure it returns the problems, located
// in the expression.
func compileGate(expr string) (*compiledGate, []celIssue) {
	env, err := celEnv()
	if err != nil {
		return nil, []celIssue{{msg: fmt.Sprintf("creating the CEL environment: %v", err)}}
	}
	a, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		var out []celIssue
		for _, e := range iss.Errors() {
			ci := celIssue{msg: e.Message}
			if e.Location != nil && e.Location.Line() > 0 {
				ci.line, ci.column = e.Location.Line(), e.Location.Column()+1
			}
			out = append(out, ci)
		}
		if len(out) == 0 {
			out = append(out, celIssue{msg: iss.Err().Error()})
		}
		return nil, out
	}
	if t := a.OutputType(); !t.IsExactType(cel.BoolType) && !t.IsExactType(cel.DynType) {
		return nil, []celIssue{{line: 1, column: 1, msg: fmt.Sprintf("a gate must be a boolean expression, this one gives %s (compare it, e.g. with >=)", t)}}
	}
	prg, err := env.Program(a, cel.CostLimit(CostLimit), cel.EvalOptions(cel.OptTrackState))
	if err != nil {
		return nil, []celIssue{{msg: fmt.Sprintf("preparing the expression: %v", err)}}
	}
	g := &compiledGate{prg: prg}
	g.usesBaseline, g.refs = references(a.NativeRep())
	g.comparisons = comparisonsOf(a.NativeRep().Expr(), nil)
	return g, nil
}

// references reports whether the expression mentions baseline, and which
// metrics it reads as subject.metrics.NAME or subject.metrics["NAME"].
func references(a *ast.AST) (usesBaseline bool, refs []metricRef) {
	root := ast.NavigateAST(a)
	for _, id := range ast.MatchDescendants(root, ast.KindMatcher(ast.IdentKind)) {
		if id.AsIdent() == varBaseline {
			usesBaseline = true
		}
	}
	add := func(operand ast.Expr, metric string) {
		// operand must be <ident>.metrics
		if operand.Kind() != ast.SelectKind || operand.AsSelect().FieldName() != "metrics" {
			return
		}
		base := operand.AsSelect().Operand()
		if base.Kind() != ast.IdentKind {
			return
		}
		s := base.AsIdent()
		if s != varCandidate && s != varBaseline {
			return
		}
		r := metricRef{subject: s, metric: metric}
		if !slices.Contains(refs, r) {
			refs = append(refs, r)
		}
	}
	for _, e := range ast.MatchDescendants(root, ast.AllMatcher()) {
		switch e.Kind() {
		case ast.SelectKind:
			sel := e.AsSelect()
			add(sel.Operand(), sel.FieldName())
		case ast.CallKind:
			call := e.AsCall()
			if call.FunctionName() != operators.Index || len(call.Args()) != 2 {
				continue
			}
			if k := call.Args()[1]; k.Kind() == ast.LiteralKind {
				if s, ok := k.AsLiteral().Value().(string); ok {
					add(call.Args()[0], s)
				}
			}
		}
	}
	return usesBaseline, refs
}

// describeIssue formats a compile problem for a FileError message.
func describeIssue(ci celIssue, multiline bool) string {
	msg := strings.TrimSpace(ci.msg)
	switch {
	case ci.line == 0:
		return "CEL expression does not compile: " + msg
	case multiline:
		return fmt.Sprintf("CEL expression does not compile: line %d, column %d of the expression: %s", ci.line, ci.column, msg)
	}
	return fmt.Sprintf("CEL expression does not compile: column %d: %s", ci.column, msg)
}

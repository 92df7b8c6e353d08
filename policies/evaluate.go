package policies

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"

	"github.com/modelgit/modelgit/manifests"
)

// Subject is what a gate sees of a version: the candidate being promoted,
// or the baseline now running in the target environment. In CEL it is a
// map with the keys model, version, metrics, params and labels.
type Subject struct {
	Model   string
	Version string
	Metrics map[string]float64
	Params  map[string]any
	// Labels are the model's labels.
	Labels map[string]string
	// Directions are the metrics' better directions ("higher" or "lower")
	// as the model declares them or their names imply; the policy's own
	// declaration wins over these.
	Directions map[string]string
}

// FromVersion returns the Subject for a registered version. model may be
// nil (no labels, directions from the metric names).
func FromVersion(mv *manifests.ModelVersion, model *manifests.Model) Subject {
	s := Subject{
		Model:      mv.Model,
		Version:    mv.Version.String(),
		Metrics:    maps.Clone(mv.Metrics),
		Params:     maps.Clone(mv.Params),
		Directions: make(map[string]string, len(mv.Metrics)),
	}
	if model != nil {
		s.Labels = maps.Clone(model.Labels)
	}
	for name := range mv.Metrics {
		s.Directions[name] = manifests.MetricDirection(model, name)
	}
	return s
}

// celValue is the subject as CEL sees it; nil maps become empty ones so
// that has() and in work.
func (s *Subject) celValue() map[string]any {
	if s == nil {
		return map[string]any{"model": "", "version": "", "metrics": map[string]float64{}, "params": map[string]any{}, "labels": map[string]string{}}
	}
	m := map[string]any{"model": s.Model, "version": s.Version, "metrics": s.Metrics, "params": s.Params, "labels": s.Labels}
	if s.Metrics == nil {
		m["metrics"] = map[string]float64{}
	}
	if s.Params == nil {
		m["params"] = map[string]any{}
	}
	if s.Labels == nil {
		m["labels"] = map[string]string{}
	}
	return m
}

// GateResult is the outcome of one gate, with the reason.
type GateResult struct {
	Name       string
	Expression string
	// Passed is true when the gate held. A skipped gate has Passed false
	// and Skipped true; it does not block (see AllPassed).
	Passed bool
	// Message says why, with the numbers.
	Message string
	// Skipped is true when the gate could not apply: it needs a baseline
	// and there is none (a first release), or it is disabled.
	Skipped bool
}

// AllPassed reports whether no gate failed: every result passed or was
// skipped.
func AllPassed(results []GateResult) bool {
	for _, r := range results {
		if !r.Passed && !r.Skipped {
			return false
		}
	}
	return true
}

// Evaluate runs the policy's gates, then the default gate, on candidate
// against baseline (nil for a first release into the environment: gates
// that read baseline are skipped, saying so). It never panics: a gate that
// cannot be evaluated (a missing metric, a type error, too much work)
// fails with a message naming the cause.
func (p *PromotionPolicy) Evaluate(candidate Subject, baseline *Subject) []GateResult {
	vars := map[string]any{varCandidate: candidate.celValue(), varBaseline: baseline.celValue()}
	var out []GateResult
	for _, g := range p.Gates {
		out = append(out, g.evaluate(vars, &candidate, baseline, p.Environment))
	}
	return append(out, p.defaultGate(&candidate, baseline))
}

func (g Gate) evaluate(vars map[string]any, candidate, baseline *Subject, env string) GateResult {
	r := GateResult{Name: g.Name, Expression: g.Expression}
	cg := g.compiled
	if cg == nil {
		var issues []celIssue
		if cg, issues = compileGate(g.Expression); issues != nil {
			r.Message = describeIssue(issues[0], strings.Contains(g.Expression, "\n"))
			return r
		}
	}
	if baseline == nil && cg.usesBaseline {
		r.Skipped = true
		r.Message = fmt.Sprintf("skipped: the gate reads baseline and no version runs in %s yet (first release)", orUnnamed(env))
		return r
	}
	val, det, err := cg.prg.Eval(vars)
	var state interpreter.EvalState
	if det != nil {
		state = det.State()
	}
	if err != nil {
		r.Message = g.prefix() + evalError(err, cg, candidate, baseline)
		return r
	}
	b, ok := val.Value().(bool)
	if !ok {
		r.Message = g.prefix() + fmt.Sprintf("the expression gave %s %s, not true or false", val.Type().TypeName(), formatVal(val))
		return r
	}
	r.Passed = b
	var parts []string
	if !b {
		parts = append(parts, failedComparisons(cg, state)...)
	}
	if nums := cg.numbers(candidate, baseline); nums != "" {
		parts = append(parts, nums)
	}
	if b {
		r.Message = "passed"
		if len(parts) > 0 {
			r.Message += ": " + strings.Join(parts, "; ")
		}
		return r
	}
	if len(parts) == 0 {
		parts = []string{"the expression is false"}
	}
	r.Message = g.prefix() + strings.Join(parts, "; ")
	return r
}

func (g Gate) prefix() string {
	if g.Message == "" {
		return ""
	}
	return g.Message + ": "
}

func orUnnamed(env string) string {
	if env == "" {
		return "the target environment"
	}
	return env
}

// evalError explains an evaluation error, naming the missing metric when
// that is the cause.
func evalError(err error, cg *compiledGate, candidate, baseline *Subject) string {
	var ce interpreter.EvalCancelledError
	if errors.As(err, &ce) || strings.Contains(err.Error(), "cost limit exceeded") {
		return fmt.Sprintf("the expression needs more than the cost limit of %d; simplify it", CostLimit)
	}
	for _, ref := range cg.refs {
		s := ref.of(candidate, baseline)
		if s == nil {
			continue
		}
		if _, ok := s.Metrics[ref.metric]; !ok {
			return fmt.Sprintf("%s has no metric %q (%s has %s); guard it with has(%s)",
				ref.subject, ref.metric, ref.subject, listOrNone(slices.Sorted(maps.Keys(s.Metrics))), ref)
		}
	}
	msg := "evaluating the expression: " + err.Error()
	if strings.Contains(err.Error(), "no such overload") {
		msg += " (metrics are doubles: write numbers with a decimal point, e.g. 1.0, or convert with double())"
	}
	return msg
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// numbers lists the metric values the expression reads.
func (cg *compiledGate) numbers(candidate, baseline *Subject) string {
	var parts []string
	for _, ref := range cg.refs {
		s := ref.of(candidate, baseline)
		if s == nil {
			continue
		}
		if v, ok := s.Metrics[ref.metric]; ok {
			parts = append(parts, ref.String()+" = "+formatNum(v))
		}
	}
	return strings.Join(parts, ", ")
}

// failedComparisons returns "0.89 >= 0.9025 is false" for each top-level
// comparison (under && and ||) that evaluated to false.
func failedComparisons(cg *compiledGate, state interpreter.EvalState) []string {
	if state == nil {
		return nil
	}
	var out []string
	for _, cmp := range cg.comparisons {
		res, ok := state.Value(cmp.id)
		if !ok || res != types.False {
			continue
		}
		l, lok := state.Value(cmp.left)
		r, rok := state.Value(cmp.right)
		if !lok || !rok {
			continue
		}
		out = append(out, fmt.Sprintf("%s %s %s is false", formatVal(l), cmp.op, formatVal(r)))
	}
	return out
}

func formatVal(v ref.Val) string {
	switch x := v.Value().(type) {
	case float64:
		return formatNum(x)
	case string:
		return strconv.Quote(x)
	}
	return fmt.Sprint(v.Value())
}

// formatNum shows v with up to 10 significant digits, so that float
// noise (110.00000000000001) does not hide the number.
func formatNum(v float64) string {
	return strconv.FormatFloat(v, 'g', 10, 64)
}

// Rule is how one metric is judged, resolved from the policy, the model
// and the metric's name.
type Rule struct {
	Metric string
	// Direction is manifests.DirectionHigher or DirectionLower.
	Direction string
	// Tolerance is relative to the reference value.
	Tolerance float64
	// Threshold is the absolute bound, when the policy sets one.
	Threshold *float64
	// MinSamples is the sample count below which nothing is decided.
	MinSamples int
}

// Rule resolves metric's direction and tolerance: the policy's
// declaration, then directions (a Subject's, from the model), then the
// metric's name; the metric's tolerance, then the default gate's.
func (p *PromotionPolicy) Rule(metric string, directions map[string]string) Rule {
	r := Rule{Metric: metric, Tolerance: DefaultTolerance}
	if p.DefaultGate != nil {
		r.Tolerance = p.DefaultGate.Tolerance
	}
	mp, declared := p.Metrics[metric]
	switch {
	case declared && mp.Direction != "":
		r.Direction = mp.Direction
	case directions[metric] == manifests.DirectionHigher || directions[metric] == manifests.DirectionLower:
		r.Direction = directions[metric]
	default:
		r.Direction = manifests.MetricDirection(nil, metric)
	}
	if declared {
		if mp.Tolerance > 0 {
			r.Tolerance = mp.Tolerance
		}
		r.Threshold, r.MinSamples = mp.Threshold, mp.MinSamples
	}
	return r
}

// Bound returns the worst value allowed against reference: reference
// minus (higher is better) or plus (lower is better) Tolerance times its
// magnitude.
func (r Rule) Bound(reference float64) float64 {
	d := math.Abs(reference) * r.Tolerance
	if r.Direction == manifests.DirectionLower {
		return reference + d
	}
	return reference - d
}

// Within reports whether value is no worse than Bound(reference). NaN is
// never within.
func (r Rule) Within(value, reference float64) bool {
	b := r.Bound(reference)
	if r.Direction == manifests.DirectionLower {
		return value <= b
	}
	return value >= b
}

// WithinThreshold reports whether value is no worse than Threshold in the
// metric's direction (true when there is no threshold).
func (r Rule) WithinThreshold(value float64) bool {
	if r.Threshold == nil {
		return true
	}
	if r.Direction == manifests.DirectionLower {
		return value <= *r.Threshold
	}
	return value >= *r.Threshold
}

func (r Rule) op() string {
	if r.Direction == manifests.DirectionLower {
		return "<="
	}
	return ">="
}

// defaultGate is the seed's regression test: every metric both versions
// have stays within tolerance of the baseline in its better direction.
func (p *PromotionPolicy) defaultGate(candidate, baseline *Subject) GateResult {
	tol := DefaultTolerance
	if p.DefaultGate != nil {
		tol = p.DefaultGate.Tolerance
	}
	r := GateResult{
		Name:       DefaultGateName,
		Expression: fmt.Sprintf("every metric shared with the baseline within %s of it, in its better direction", formatPct(tol)),
	}
	switch {
	case p.DefaultGate != nil && p.DefaultGate.Disabled:
		r.Skipped = true
		r.Message = "skipped: disabled by the policy"
		return r
	case baseline == nil:
		r.Skipped = true
		r.Message = fmt.Sprintf("skipped: no version runs in %s yet (first release), so there is no baseline to compare with", orUnnamed(p.Environment))
		return r
	}
	var shared []string
	for name := range candidate.Metrics {
		if _, ok := baseline.Metrics[name]; ok {
			shared = append(shared, name)
		}
	}
	slices.Sort(shared)
	if len(shared) == 0 {
		r.Passed = true
		r.Message = fmt.Sprintf("passed: no metric is shared with baseline %s (candidate has %s; baseline has %s)",
			baseline.Version, listOrNone(slices.Sorted(maps.Keys(candidate.Metrics))), listOrNone(slices.Sorted(maps.Keys(baseline.Metrics))))
		return r
	}
	dirs := maps.Clone(baseline.Directions)
	if dirs == nil {
		dirs = map[string]string{}
	}
	maps.Copy(dirs, candidate.Directions)
	var lines, failed []string
	for _, name := range shared {
		rule := p.Rule(name, dirs)
		c, b := candidate.Metrics[name], baseline.Metrics[name]
		verdict := "ok"
		if !rule.Within(c, b) {
			verdict = "FAIL"
			failed = append(failed, name)
		}
		lines = append(lines, fmt.Sprintf("%s (%s is better, %s): candidate %s, baseline %s, want %s %s: %s",
			name, rule.Direction, formatPct(rule.Tolerance), formatNum(c), formatNum(b), rule.op(), formatNum(rule.Bound(b)), verdict))
	}
	if len(failed) == 0 {
		r.Passed = true
		r.Message = fmt.Sprintf("passed: %d shared metrics within tolerance of baseline %s\n", len(shared), baseline.Version) + strings.Join(lines, "\n")
	} else {
		r.Message = fmt.Sprintf("%d of %d shared metrics regressed against baseline %s: %s\n", len(failed), len(shared), baseline.Version, strings.Join(failed, ", ")) + strings.Join(lines, "\n")
	}
	return r
}

// formatPct returns "5%" for 0.05.
func formatPct(f float64) string {
	return strconv.FormatFloat(f*100, 'g', 4, 64) + "%"
}

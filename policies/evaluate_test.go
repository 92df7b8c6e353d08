package policies

import (
	"strings"
	"testing"

	"github.com/modelgit/modelgit/manifests"
)

// policyWith parses a prod policy with the given gates (YAML list items).
func policyWith(t *testing.T, body string) *PromotionPolicy {
	t.Helper()
	p, err := Parse("policies/prod.yaml", []byte(head+body))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

func subject(version string, metrics map[string]float64) Subject {
	return Subject{Model: "fraud", Version: version, Metrics: metrics}
}

func find(t *testing.T, rs []GateResult, name string) GateResult {
	t.Helper()
	for _, r := range rs {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no result for gate %q in %+v", name, rs)
	return GateResult{}
}

const exampleGates = `gates:
  - name: accuracy
    expression: candidate.metrics.accuracy >= baseline.metrics.accuracy * 0.95
  - name: latency
    expression: candidate.metrics.latency_p95 <= baseline.metrics.latency_p95 * 1.10
`

func TestEvaluateGates(t *testing.T) {
	baseline := subject("1.0.0", map[string]float64{"accuracy": 0.95, "latency_p95": 100})
	tests := []struct {
		name      string
		body      string
		candidate Subject
		baseline  *Subject
		gate      string
		passed    bool
		skipped   bool
		msg       []string // substrings of the message
	}{
		{
			name:      "accuracy within 5% passes",
			body:      exampleGates,
			candidate: subject("1.1.0", map[string]float64{"accuracy": 0.91, "latency_p95": 100}),
			baseline:  &baseline,
			gate:      "accuracy", passed: true,
			msg: []string{"passed", "candidate.metrics.accuracy = 0.91", "baseline.metrics.accuracy = 0.95"},
		},
		{
			name:      "accuracy below 95% of baseline fails with the numbers",
			body:      exampleGates,
			candidate: subject("1.1.0", map[string]float64{"accuracy": 0.89, "latency_p95": 100}),
			baseline:  &baseline,
			gate:      "accuracy",
			msg:       []string{"0.89 >= 0.9025 is false", "candidate.metrics.accuracy = 0.89", "baseline.metrics.accuracy = 0.95"},
		},
		{
			name:      "latency 10% over baseline passes",
			body:      exampleGates,
			candidate: subject("1.1.0", map[string]float64{"accuracy": 0.95, "latency_p95": 109}),
			baseline:  &baseline,
			gate:      "latency", passed: true,
		},
		{
			name:      "latency over 110% of baseline fails",
			body:      exampleGates,
			candidate: subject("1.1.0", map[string]float64{"accuracy": 0.95, "latency_p95": 130}),
			baseline:  &baseline,
			gate:      "latency",
			msg:       []string{"130 <= 110 is false", "candidate.metrics.latency_p95 = 130", "baseline.metrics.latency_p95 = 100"},
		},
		{
			name:      "gate message leads",
			body:      "gates:\n  - name: acc\n    expression: candidate.metrics.accuracy >= 0.9\n    message: accuracy must reach 90%\n",
			candidate: subject("1.1.0", map[string]float64{"accuracy": 0.8}),
			gate:      "acc",
			msg:       []string{"accuracy must reach 90%: 0.8 >= 0.9 is false"},
		},
		{
			name:      "missing candidate metric names it",
			body:      exampleGates,
			candidate: subject("1.1.0", map[string]float64{"latency_p95": 100, "f1": 0.9}),
			baseline:  &baseline,
			gate:      "accuracy",
			msg:       []string{`candidate has no metric "accuracy" (candidate has f1, latency_p95); guard it with has(candidate.metrics.accuracy)`},
		},
		{
			name:      "missing baseline metric by index",
			body:      "gates:\n  - name: f1\n    expression: candidate.metrics['f1'] >= baseline.metrics['f1']\n",
			candidate: subject("1.1.0", map[string]float64{"f1": 0.9}),
			baseline:  &baseline,
			gate:      "f1",
			msg:       []string{`baseline has no metric "f1" (baseline has accuracy, latency_p95)`},
		},
		{
			name:      "has() guards a missing metric",
			body:      "gates:\n  - name: f1\n    expression: '!has(candidate.metrics.f1) || candidate.metrics.f1 > 0.5'\n",
			candidate: subject("1.1.0", map[string]float64{"accuracy": 0.9}),
			gate:      "f1", passed: true,
		},
		{
			name:      "no baseline skips gates that read it",
			body:      exampleGates,
			candidate: subject("1.0.0", map[string]float64{"accuracy": 0.9, "latency_p95": 100}),
			gate:      "accuracy", skipped: true,
			msg: []string{"skipped: the gate reads baseline and no version runs in prod yet (first release)"},
		},
		{
			name:      "no baseline still runs candidate-only gates",
			body:      "gates:\n  - name: floor\n    expression: candidate.metrics.accuracy >= 0.9\n",
			candidate: subject("1.0.0", map[string]float64{"accuracy": 0.85}),
			gate:      "floor",
			msg:       []string{"0.85 >= 0.9 is false"},
		},
		{
			name:      "int literal compares with a double metric",
			body:      "gates:\n  - name: n\n    expression: candidate.metrics.samples >= 1000\n",
			candidate: subject("1.0.0", map[string]float64{"samples": 1500}),
			gate:      "n", passed: true,
		},
		{
			name:      "mixing int arithmetic explains doubles",
			body:      "gates:\n  - name: n\n    expression: candidate.metrics.latency_p95 <= baseline.metrics.latency_p95 * 2\n",
			candidate: subject("1.1.0", map[string]float64{"latency_p95": 100}),
			baseline:  &baseline,
			gate:      "n",
			msg:       []string{"no such overload", "write numbers with a decimal point"},
		},
		{
			name:      "dyn result that is not a bool fails",
			body:      "gates:\n  - name: v\n    expression: candidate.params.enabled\n",
			candidate: Subject{Version: "1.0.0", Params: map[string]any{"enabled": "yes"}},
			gate:      "v",
			msg:       []string{`the expression gave string "yes", not true or false`},
		},
		{
			name:      "params and labels",
			body:      "gates:\n  - name: p\n    expression: candidate.params.lr < 0.1 && candidate.labels.team == 'risk' && candidate.version != baseline.version\n",
			candidate: Subject{Version: "1.1.0", Params: map[string]any{"lr": 0.01}, Labels: map[string]string{"team": "risk"}},
			baseline:  &baseline,
			gate:      "p", passed: true,
		},
		{
			name:      "math extension",
			body:      "gates:\n  - name: close\n    expression: math.abs(candidate.metrics.accuracy - baseline.metrics.accuracy) < 0.01\n",
			candidate: subject("1.1.0", map[string]float64{"accuracy": 0.951}),
			baseline:  &baseline,
			gate:      "close", passed: true,
		},
		{
			name:      "hostile expression hits the cost limit",
			body:      "gates:\n  - name: slow\n    expression: \"[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, [1,2,3,4,5,6,7,8,9,10].all(d, [1,2,3,4,5,6,7,8,9,10].all(e, [1,2,3,4,5,6,7,8,9,10].all(f, a+b+c+d+e+f > 0))))))\"\n",
			candidate: subject("1.0.0", nil),
			gate:      "slow",
			msg:       []string{"cost limit"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := policyWith(t, tt.body)
			r := find(t, p.Evaluate(tt.candidate, tt.baseline), tt.gate)
			if r.Passed != tt.passed || r.Skipped != tt.skipped {
				t.Errorf("passed=%v skipped=%v, want passed=%v skipped=%v; message: %s", r.Passed, r.Skipped, tt.passed, tt.skipped, r.Message)
			}
			for _, m := range tt.msg {
				if !strings.Contains(r.Message, m) {
					t.Errorf("message lacks %q: %s", m, r.Message)
				}
			}
		})
	}
}

func TestDefaultGate(t *testing.T) {
	model := &manifests.Model{Name: "fraud", Metrics: map[string]string{"throughput": "higher", "calibration": "lower"}}
	tests := []struct {
		name      string
		body      string
		candidate map[string]float64
		baseline  map[string]float64 // nil: no baseline
		passed    bool
		skipped   bool
		msg       []string
	}{
		{
			name:      "every shared metric within 5%",
			candidate: map[string]float64{"accuracy": 0.94, "latency_p95": 104, "new_metric": 1},
			baseline:  map[string]float64{"accuracy": 0.95, "latency_p95": 100, "old_metric": 1},
			passed:    true,
			msg: []string{
				"passed: 2 shared metrics within tolerance of baseline 1.0.0",
				"accuracy (higher is better, 5%): candidate 0.94, baseline 0.95, want >= 0.9025: ok",
				"latency_p95 (lower is better, 5%): candidate 104, baseline 100, want <= 105: ok",
			},
		},
		{
			name:      "lower-is-better metric regresses upward",
			candidate: map[string]float64{"accuracy": 0.99, "latency_p95": 106},
			baseline:  map[string]float64{"accuracy": 0.95, "latency_p95": 100},
			msg: []string{
				"1 of 2 shared metrics regressed against baseline 1.0.0: latency_p95",
				"latency_p95 (lower is better, 5%): candidate 106, baseline 100, want <= 105: FAIL",
			},
		},
		{
			name:      "lower-is-better metric may drop freely",
			candidate: map[string]float64{"val_loss": 0.1, "error_rate": 0.001},
			baseline:  map[string]float64{"val_loss": 0.5, "error_rate": 0.01},
			passed:    true,
		},
		{
			name:      "model declaration sets the direction",
			candidate: map[string]float64{"calibration": 0.2, "throughput": 90},
			baseline:  map[string]float64{"calibration": 0.1, "throughput": 100},
			msg: []string{
				"calibration (lower is better, 5%): candidate 0.2, baseline 0.1, want <= 0.105: FAIL",
				"throughput (higher is better, 5%): candidate 90, baseline 100, want >= 95: FAIL",
			},
		},
		{
			name:      "policy direction and tolerance win",
			body:      "metrics:\n  latency_p95:\n    tolerance: 0.10\n  calibration:\n    direction: higher\n",
			candidate: map[string]float64{"latency_p95": 109, "calibration": 0.2},
			baseline:  map[string]float64{"latency_p95": 100, "calibration": 0.1},
			passed:    true,
			msg:       []string{"latency_p95 (lower is better, 10%): candidate 109, baseline 100, want <= 110: ok", "calibration (higher is better, 5%)"},
		},
		{
			name:      "tolerance from the policy's default gate",
			body:      "defaultGate:\n  tolerance: 0.01\n",
			candidate: map[string]float64{"accuracy": 0.94},
			baseline:  map[string]float64{"accuracy": 0.95},
			msg:       []string{"accuracy (higher is better, 1%): candidate 0.94, baseline 0.95, want >= 0.9405: FAIL"},
		},
		{
			name:      "negative baseline",
			candidate: map[string]float64{"score": -1.06},
			baseline:  map[string]float64{"score": -1.0},
			msg:       []string{"want >= -1.05: FAIL"},
		},
		{
			name:      "no baseline",
			candidate: map[string]float64{"accuracy": 0.5},
			skipped:   true,
			msg:       []string{"skipped: no version runs in prod yet (first release)"},
		},
		{
			name:      "disabled",
			body:      "defaultGate:\n  disabled: true\n",
			candidate: map[string]float64{"accuracy": 0.5},
			baseline:  map[string]float64{"accuracy": 0.95},
			skipped:   true,
			msg:       []string{"disabled by the policy"},
		},
		{
			name:      "nothing shared",
			candidate: map[string]float64{"f1": 0.5},
			baseline:  map[string]float64{"accuracy": 0.95},
			passed:    true,
			msg:       []string{"no metric is shared with baseline 1.0.0 (candidate has f1; baseline has accuracy)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := policyWith(t, tt.body)
			cand := FromVersion(&manifests.ModelVersion{Model: "fraud", Version: manifests.MustParseVersion("1.1.0"), Metrics: tt.candidate}, model)
			var base *Subject
			if tt.baseline != nil {
				b := FromVersion(&manifests.ModelVersion{Model: "fraud", Version: manifests.MustParseVersion("1.0.0"), Metrics: tt.baseline}, model)
				base = &b
			}
			rs := p.Evaluate(cand, base)
			r := find(t, rs, DefaultGateName)
			if r.Passed != tt.passed || r.Skipped != tt.skipped {
				t.Errorf("passed=%v skipped=%v, want passed=%v skipped=%v; message:\n%s", r.Passed, r.Skipped, tt.passed, tt.skipped, r.Message)
			}
			for _, m := range tt.msg {
				if !strings.Contains(r.Message, m) {
					t.Errorf("message lacks %q:\n%s", m, r.Message)
				}
			}
			if AllPassed(rs) != (tt.passed || tt.skipped) {
				t.Errorf("AllPassed = %v", AllPassed(rs))
			}
		})
	}
}

func TestFromVersion(t *testing.T) {
	mv := &manifests.ModelVersion{
		Model:   "fraud",
		Version: manifests.MustParseVersion("1.2.0"),
		Metrics: map[string]float64{"accuracy": 0.9, "latency_p95": 12},
		Params:  map[string]any{"lr": 0.01},
	}
	model := &manifests.Model{Name: "fraud", Labels: map[string]string{"team": "risk"}}
	s := FromVersion(mv, model)
	if s.Version != "1.2.0" || s.Model != "fraud" || s.Labels["team"] != "risk" || s.Params["lr"] != 0.01 {
		t.Errorf("FromVersion = %+v", s)
	}
	if s.Directions["accuracy"] != manifests.DirectionHigher || s.Directions["latency_p95"] != manifests.DirectionLower {
		t.Errorf("directions %v", s.Directions)
	}
	s.Metrics["accuracy"] = 0
	if mv.Metrics["accuracy"] != 0.9 {
		t.Error("FromVersion shares the version's metrics map")
	}
	if s := FromVersion(mv, nil); s.Labels != nil {
		t.Errorf("labels without a model: %v", s.Labels)
	}
}

func TestEvaluateHandBuilt(t *testing.T) {
	p := Default("prod")
	p.Gates = []Gate{
		{Name: "ok", Expression: "candidate.metrics.accuracy > 0.5"},
		{Name: "broken", Expression: "candidate.metrics.accuracy >"},
	}
	rs := p.Evaluate(subject("1.0.0", map[string]float64{"accuracy": 0.9}), nil)
	if r := find(t, rs, "ok"); !r.Passed {
		t.Errorf("ok: %+v", r)
	}
	if r := find(t, rs, "broken"); r.Passed || r.Skipped || !strings.Contains(r.Message, "does not compile: column") {
		t.Errorf("broken: %+v", r)
	}
	if AllPassed(rs) {
		t.Error("AllPassed with a broken gate")
	}
}

func TestRule(t *testing.T) {
	p := policyWith(t, "metrics:\n  psi_age:\n    direction: lower\n    threshold: 0.2\n    minSamples: 1000\n  accuracy:\n    tolerance: 0.02\n")
	r := p.Rule("psi_age", nil)
	if r.Direction != manifests.DirectionLower || r.MinSamples != 1000 || !r.WithinThreshold(0.19) || r.WithinThreshold(0.21) {
		t.Errorf("psi_age rule %+v", r)
	}
	a := p.Rule("accuracy", map[string]string{"accuracy": manifests.DirectionHigher})
	if a.Tolerance != 0.02 || !a.Within(0.98, 1.0) || a.Within(0.97, 1.0) || !a.WithinThreshold(0) {
		t.Errorf("accuracy rule %+v", a)
	}
}

func TestEvaluateConcurrent(t *testing.T) {
	p := policyWith(t, exampleGates)
	base := subject("1.0.0", map[string]float64{"accuracy": 0.95, "latency_p95": 100})
	done := make(chan bool)
	for i := range 8 {
		go func() {
			c := subject("1.1.0", map[string]float64{"accuracy": 0.9 + float64(i)/100, "latency_p95": 100})
			done <- AllPassed(p.Evaluate(c, &base))
		}()
	}
	for range 8 {
		<-done
	}
}

func BenchmarkEvaluate(b *testing.B) {
	p, err := Parse("policies/prod.yaml", []byte(head+exampleGates))
	if err != nil {
		b.Fatal(err)
	}
	c := subject("1.1.0", map[string]float64{"accuracy": 0.89, "latency_p95": 101, "f1": 0.8})
	base := subject("1.0.0", map[string]float64{"accuracy": 0.95, "latency_p95": 100, "f1": 0.8})
	for b.Loop() {
		p.Evaluate(c, &base)
	}
}

func BenchmarkParse(b *testing.B) {
	data := []byte(head + exampleGates)
	for b.Loop() {
		if _, err := Parse("policies/prod.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

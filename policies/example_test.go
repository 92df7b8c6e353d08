package policies_test

import (
	"fmt"

	"github.com/modelgit/modelgit/policies"
)

func ExamplePromotionPolicy_Evaluate() {
	p, err := policies.Parse("policies/prod.yaml", []byte(`apiVersion: modelgit.dev/v1alpha1
kind: PromotionPolicy
from: staging
soak: 24h
gates:
  - name: accuracy
    expression: candidate.metrics.accuracy >= baseline.metrics.accuracy * 0.95
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	candidate := policies.Subject{Version: "1.1.0", Metrics: map[string]float64{"accuracy": 0.89, "latency_p95": 101}}
	baseline := &policies.Subject{Version: "1.0.0", Metrics: map[string]float64{"accuracy": 0.95, "latency_p95": 100}}
	for _, r := range p.Evaluate(candidate, baseline) {
		fmt.Printf("%s passed=%v\n%s\n", r.Name, r.Passed, r.Message)
	}
	// Output:
	// accuracy passed=false
	// 0.89 >= 0.9025 is false; candidate.metrics.accuracy = 0.89, baseline.metrics.accuracy = 0.95
	// default passed=false
	// 1 of 2 shared metrics regressed against baseline 1.0.0: accuracy
	// accuracy (higher is better, 5%): candidate 0.89, baseline 0.95, want >= 0.9025: FAIL
	// latency_p95 (lower is better, 5%): candidate 101, baseline 100, want <= 105: ok
}

func ExampleParse_error() {
	_, err := policies.Parse("policies/prod.yaml", []byte(`apiVersion: modelgit.dev/v1alpha1
kind: PromotionPolicy
gates:
  - name: accuracy
    expression: candidate.metrics.accuracy >= baseline.metrics.accuracy *
`))
	fmt.Println(err)
	// Output:
	// policies/prod.yaml:5:74: field "gates[0].expression": CEL expression does not compile: column 58: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}
}

package policies

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/modelgit/modelgit/manifests"
)

const head = "apiVersion: modelgit.dev/v1alpha1\nkind: PromotionPolicy\n"

func TestParseExample(t *testing.T) {
	data, err := os.ReadFile("testdata/prod.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse("policies/prod.yaml", data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if p.Environment != "prod" || p.From != "staging" || time.Duration(p.Soak) != 24*time.Hour {
		t.Errorf("got environment %q from %q soak %v", p.Environment, p.From, p.Soak)
	}
	if len(p.Gates) != 2 || p.Gates[0].compiled == nil || p.Gates[1].compiled == nil {
		t.Fatalf("gates not compiled: %+v", p.Gates)
	}
	if p.Approvals.Count != 2 || strings.Join(p.Approvals.Teams, ",") != "acme/ml-leads,acme/sre" || !p.TrustForgeMerges {
		t.Errorf("approvals %+v trust %v", p.Approvals, p.TrustForgeMerges)
	}
	psi := p.Metrics["psi_age"]
	if psi.Threshold == nil || *psi.Threshold != 0.2 || psi.MinSamples != 1000 || psi.Direction != manifests.DirectionLower {
		t.Errorf("psi_age = %+v", psi)
	}
	got := p.Metrics["accuracy"].Expand("fraud", "1.2.0", "prod")
	if want := `avg_over_time(model_accuracy{model="fraud",version="1.2.0"}[1h])`; got != want {
		t.Errorf("Expand = %s, want %s", got, want)
	}
}

func TestParseDefaults(t *testing.T) {
	p, err := Parse("policies/staging.yaml", []byte(head))
	if err != nil {
		t.Fatal(err)
	}
	if p.Environment != "staging" {
		t.Errorf("environment %q, want it from the file name", p.Environment)
	}
	if p.DefaultGate == nil || p.DefaultGate.Tolerance != DefaultTolerance || p.DefaultGate.Disabled {
		t.Errorf("default gate %+v", p.DefaultGate)
	}
	if p.Approvals.Count != DefaultApprovals {
		t.Errorf("approvals %d, want %d", p.Approvals.Count, DefaultApprovals)
	}
	if got, want := p.Digest(), Default("staging").Digest(); got != want {
		t.Errorf("a minimal file's digest %s differs from Default's %s", got, want)
	}

	p, err = Parse("policies/dev.yaml", []byte(head+"approvals:\n  count: 0\ndefaultGate:\n  disabled: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Approvals.Count != 0 {
		t.Errorf("explicit count 0 became %d", p.Approvals.Count)
	}
	if !p.DefaultGate.Disabled || p.DefaultGate.Tolerance != DefaultTolerance {
		t.Errorf("default gate %+v", p.DefaultGate)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		file string // default policies/prod.yaml
		src  string
		want []string // each must be one line of the error
	}{
		{
			name: "unknown field",
			src:  head + "gatez: []\n",
			want: []string{`policies/prod.yaml:3:1: field "gatez": unknown field (did you mean "gates"?); valid fields are apiVersion, kind, environment, from, soak, gates, defaultGate, metrics, approvals, trustForgeMerges`},
		},
		{
			name: "unknown nested field",
			src:  head + "approvals:\n  count: 1\n  team: [a/b]\n",
			want: []string{`policies/prod.yaml:5:3: field "approvals.team": unknown field (did you mean "teams"?); valid fields are count, teams, role`},
		},
		{
			name: "wrong type",
			src:  head + "approvals:\n  count: two\ntrustForgeMerges: yes please\n",
			want: []string{
				`policies/prod.yaml:4:10: field "approvals.count": want an integer, got "two"`,
				`policies/prod.yaml:5:19: field "trustForgeMerges": want true or false, got "yes please"`,
			},
		},
		{
			name: "gates not a list",
			src:  head + "gates:\n  name: x\n",
			want: []string{`policies/prod.yaml:4:3: field "gates": want a list of mappings, got a mapping`},
		},
		{
			name: "missing required",
			src:  head + "gates:\n  - name: accuracy\n",
			want: []string{`policies/prod.yaml:4:5: field "gates[0].expression": required field is missing; want a string`},
		},
		{
			name: "bad duration",
			src:  head + "soak: 1 day\n",
			want: []string{`policies/prod.yaml:3:7: field "soak": duration "1 day" is not valid; want e.g. "24h", "90m", "1h30m" or "7d"`},
		},
		{
			name: "negative duration",
			src:  head + "soak: -1h\n",
			want: []string{`policies/prod.yaml:3:7: field "soak": duration "-1h" is not valid (negative); want e.g. "24h", "90m", "1h30m" or "7d"`},
		},
		{
			name: "CEL syntax error, plain",
			src:  head + "gates:\n  - name: x\n    expression: candidate.metrics.accuracy >=> 1\n",
			want: []string{`policies/prod.yaml:5:46: field "gates[0].expression": CEL expression does not compile: column 30: Syntax error: extraneous input '>'`},
		},
		{
			name: "CEL syntax error, quoted",
			src:  head + "gates:\n  - name: x\n    expression: \"candidate.metrics.accuracy >= (1\"\n",
			want: []string{`policies/prod.yaml:5:50: field "gates[0].expression": CEL expression does not compile: column 33: Syntax error: missing ')'`},
		},
		{
			name: "CEL syntax error, literal block",
			src:  head + "gates:\n  - name: x\n    expression: |\n      candidate.metrics.accuracy > 0.9 &&\n        candidate.metrics.f1 >> 0.8\n",
			want: []string{`policies/prod.yaml:7:31: field "gates[0].expression": CEL expression does not compile: line 2, column 25 of the expression: Syntax error: extraneous input '>'`},
		},
		{
			name: "CEL undeclared variable",
			src:  head + "gates:\n  - name: x\n    expression: canddate.metrics.accuracy > 0.9\n",
			want: []string{`policies/prod.yaml:5:17: field "gates[0].expression": CEL expression does not compile: column 1: undeclared reference to 'canddate'`},
		},
		{
			name: "non-bool expression",
			src:  head + "gates:\n  - name: x\n    expression: baseline.metrics.accuracy * 0.95 + 1.0\n",
			want: []string{`policies/prod.yaml:5:17: field "gates[0].expression": CEL expression does not compile: column 1: a gate must be a boolean expression, this one gives double (compare it, e.g. with >=)`},
		},
		{
			name: "string expression",
			src:  head + "gates:\n  - name: x\n    expression: '\"yes\"'\n",
			want: []string{`a gate must be a boolean expression, this one gives string`},
		},
		{
			name: "duplicate and reserved gate names",
			src:  head + "gates:\n  - name: a\n    expression: 'true'\n  - name: a\n    expression: 'true'\n  - name: default\n    expression: 'true'\n",
			want: []string{
				`policies/prod.yaml:6:11: field "gates[1].name": gate "a" is declared twice (also gates[0])`,
				`policies/prod.yaml:8:11: field "gates[2].name": gate name "default" is reserved for the default gate; pick another name`,
			},
		},
		{
			name: "environment does not match file",
			src:  head + "environment: staging\n",
			want: []string{`policies/prod.yaml:3:14: field "environment": environment "staging" does not match the file name; move the policy to policies/staging.yaml or write environment: prod`},
		},
		{
			name: "environment needed",
			file: "policy.txt",
			src:  head,
			want: []string{`policy.txt:1:1: field "environment": required field is missing`},
		},
		{
			name: "from itself",
			src:  head + "from: prod\n",
			want: []string{`policies/prod.yaml:3:7: field "from": a version cannot come from "prod" into "prod" itself`},
		},
		{
			name: "metric policy values",
			src:  head + "metrics:\n  accuracy:\n    direction: up\n    tolerance: 1.5\n    minSamples: -1\n    query: m{model=\"$model\",v=\"$ver\"}\n",
			want: []string{
				`policies/prod.yaml:5:16: field "metrics.accuracy.direction": direction "up" is not valid; want "higher" or "lower"`,
				`policies/prod.yaml:6:16: field "metrics.accuracy.tolerance": tolerance 1.5 is not valid; want a fraction from 0 to 1, e.g. 0.05 for 5%`,
				`policies/prod.yaml:7:17: field "metrics.accuracy.minSamples": minSamples -1 is negative; want 0 or more`,
				`policies/prod.yaml:8:12: field "metrics.accuracy.query": placeholder $ver is not known; want $model, $version, $environment`,
			},
		},
		{
			name: "minSamples without a range selector",
			src:  head + "metrics:\n  psi_age:\n    threshold: 0.2\n    query: model_feature_psi{feature=\"age\"}\n    minSamples: 1000\n  accuracy:\n    query: avg_over_time(model_accuracy[1h])\n    minSamples: 30\n  auc:\n    query: model_auc\n",
			want: []string{
				`policies/prod.yaml:7:17: field "metrics.psi_age.minSamples": minSamples 1000 needs a range selector in the query to count samples over, and "model_feature_psi{feature=\"age\"}" has none; select a window, e.g. max_over_time(x{…}[1h]) rather than x{…}, or remove minSamples`,
			},
		},
		{
			name: "teams",
			src:  head + "approvals:\n  teams: [ml-leads, acme/sre, acme/sre]\n",
			want: []string{
				`field "approvals.teams[0]": team "ml-leads" is not valid; want ORG/TEAM, e.g. acme/ml-leads`,
				`field "approvals.teams[2]": team "acme/sre" is listed twice (also approvals.teams[1])`,
			},
		},
		{
			name: "role",
			src:  head + "approvals:\n  role: owner\n",
			want: []string{
				`policies/prod.yaml:4:9: field "approvals.role": role "owner" is not valid; want "write" (the default: what GitHub's required reviews ask), "maintain" or "admin"`,
			},
		},
		{
			name: "alias",
			src:  head + "approvals:\n  teams: &t [a/b]\nx: *t\n",
			want: []string{
				`policies/prod.yaml:5:1: field "x": unknown field`,
			},
		},
		{
			name: "alias value",
			src:  head + "from: &f staging\nenvironment: *f\n",
			want: []string{`policies/prod.yaml:4:14: field "environment": aliases (*f) are not supported in a policy; write the value out`},
		},
		{
			name: "wrong kind",
			src:  "apiVersion: modelgit.dev/v1alpha1\nkind: Release\n",
			want: []string{`policies/prod.yaml:2:7: field "kind": got "Release", want "PromotionPolicy"`},
		},
		{
			name: "empty file",
			src:  "",
			want: []string{`policies/prod.yaml: file is empty; want a PromotionPolicy manifest`},
		},
		{
			name: "YAML syntax",
			src:  head + "gates: [\n",
			want: []string{`policies/prod.yaml:4: invalid YAML:`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := tt.file
			if file == "" {
				file = "policies/prod.yaml"
			}
			p, err := Parse(file, []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", p)
			}
			var fe *manifests.FileError
			if !errors.As(err, &fe) {
				t.Errorf("error %T is not a *manifests.FileError", err)
			}
			lines := strings.Split(err.Error(), "\n")
			for _, w := range tt.want {
				found := false
				for _, l := range lines {
					if strings.HasPrefix(l, w) || (!strings.HasPrefix(w, file) && strings.Contains(l, w)) {
						found = true
					}
				}
				if !found {
					t.Errorf("error lacks %q; got:\n%v", w, err)
				}
			}
			if len(lines) != len(tt.want) {
				t.Errorf("got %d problems, want %d:\n%v", len(lines), len(tt.want), err)
			}
		})
	}
}

// TestParseRole: approvals.role asks more than write access of an
// approver; write, the default, written out or not, is one policy.
func TestParseRole(t *testing.T) {
	head := "apiVersion: modelgit.dev/v1alpha1\nkind: PromotionPolicy\n"
	p, err := Parse("policies/prod.yaml", []byte(head+"approvals:\n  role: maintain\n"))
	if err != nil || p.Approvals.MinRole() != RoleMaintain || !strings.Contains(p.Explain(), "approvers:  with maintain access or more") {
		t.Fatalf("role maintain: %+v, %v", p, err)
	}
	implicit, err := Parse("policies/prod.yaml", []byte(head))
	if err != nil {
		t.Fatal(err)
	}
	explicit, err := Parse("policies/prod.yaml", []byte(head+"approvals:\n  count: 1\n  role: write\n"))
	if err != nil {
		t.Fatal(err)
	}
	if explicit.Approvals.MinRole() != RoleWrite || explicit.Digest() != implicit.Digest() {
		t.Errorf("role write written out: %q, digest %s, want write and %s", explicit.Approvals.MinRole(), explicit.Digest(), implicit.Digest())
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		text string
	}{
		{"24h", 24 * time.Hour, "24h"},
		{"7d", 7 * 24 * time.Hour, "168h"},
		{"1h30m", 90 * time.Minute, "1h30m"},
		{"90s", 90 * time.Second, "1m30s"},
		{"0", 0, "0s"},
	}
	for _, tt := range tests {
		d, err := ParseDuration(tt.in)
		if err != nil {
			t.Errorf("ParseDuration(%q): %v", tt.in, err)
			continue
		}
		if time.Duration(d) != tt.want || d.String() != tt.text {
			t.Errorf("ParseDuration(%q) = %v (%s), want %v (%s)", tt.in, time.Duration(d), d, tt.want, tt.text)
		}
	}
	for _, bad := range []string{"", "d", "-2d", "1 day", "-1h", "3x"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", bad)
		}
	}
}

func TestDigest(t *testing.T) {
	data, err := os.ReadFile("testdata/prod.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p1, err := Parse("policies/prod.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	// The same policy, reordered, reformatted, commented, defaults written
	// out differently.
	same := head + `# production
trustForgeMerges: true
approvals: {teams: [acme/ml-leads, acme/sre], count: 2}
environment: prod
soak: 1d
from: staging
metrics:
  psi_age: {direction: lower, threshold: 0.20, minSamples: 1000, query: 'max_over_time(model_feature_psi{model="$model",version="$version",feature="age"}[1h])'}
  latency_p95:
    minSamples: 50
    tolerance: 0.1
    direction: lower
    query: histogram_quantile(0.95, sum by (le) (rate(request_duration_seconds_bucket{model="$model",version="$version"}[5m])))
  accuracy:
    query: avg_over_time(model_accuracy{model="$model",version="$version"}[1h])
    direction: higher
    minSamples: 100
gates:
  - name: accuracy
    message: accuracy must stay within 5% of production
    expression: "candidate.metrics.accuracy >= baseline.metrics.accuracy * 0.95"
  - expression: candidate.metrics.latency_p95 <= baseline.metrics.latency_p95 * 1.10
    name: latency
`
	p2, err := Parse("policies/prod.yaml", []byte(same))
	if err != nil {
		t.Fatal(err)
	}
	d1, d2 := p1.Digest(), p2.Digest()
	if d1 != d2 {
		t.Errorf("equivalent policies have digests %s and %s", d1, d2)
	}
	// The digest of this file is pinned: a change means every Policy:
	// trailer written before it no longer matches its file.
	const pinned = "sha256:07428aac5cad35077c06eddcab588d1ff28a272a85fff18698af723bb6f56c96"
	if d1.String() != pinned {
		t.Errorf("digest of testdata/prod.yaml = %s, want %s (did the canonical form change?)", d1, pinned)
	}
	canon, err := manifests.Marshal(p1)
	if err != nil {
		t.Fatal(err)
	}
	p3, err := Parse("policies/prod.yaml", canon)
	if err != nil {
		t.Fatalf("the canonical form does not parse: %v\n%s", err, canon)
	}
	if p3.Digest() != d1 {
		t.Errorf("the canonical form reads back with digest %s, want %s", p3.Digest(), d1)
	}
	p2.Approvals.Count = 3
	if p2.Digest() == d1 {
		t.Error("changing approvals did not change the digest")
	}
	if Default("prod").Digest() == Default("staging").Digest() {
		t.Error("defaults for two environments share a digest")
	}
}

func TestExplain(t *testing.T) {
	data, err := os.ReadFile("testdata/prod.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse("policies/prod.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	got := p.Explain()
	for _, want := range []string{
		"Promotion policy for prod\n",
		"from:       staging, after running there for 24h\n",
		"accuracy: candidate.metrics.accuracy >= baseline.metrics.accuracy * 0.95\n",
		"on failure: accuracy must stay within 5% of production\n",
		"default: every metric shared with the baseline within 5% of it, in its better direction\n",
		"approvals:  2 approving reviews\n",
		"teams:      an approver from each of acme/ml-leads, acme/sre\n",
		"merges signed by the forge's key are trusted\n",
		"latency_p95: lower is better, tolerance 10%, at least 50 samples\n",
		"psi_age: lower is better, tolerance 5%, threshold 0.2, at least 1000 samples\n",
		`monitored by: avg_over_time(model_accuracy{model="$model",version="$version"}[1h])`,
		"digest:     " + p.Digest().String(),
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Explain lacks %q:\n%s", want, got)
		}
	}
	d := Default("dev").Explain()
	for _, want := range []string{"from:       the previous environment in modelgit.yaml order (no soak time)", "approvals:  1 approving review\n", "are not trusted"} {
		if !strings.Contains(d, want) {
			t.Errorf("Default Explain lacks %q:\n%s", want, d)
		}
	}
}

package policies

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/modelgit/modelgit/manifests"
)

// Kind is the kind of a policies/<env>.yaml manifest.
const Kind = "PromotionPolicy"

// DefaultTolerance is the relative tolerance of the default gate: a shared
// metric may be at most 5% worse than the baseline, in its better
// direction.
const DefaultTolerance = 0.05

// DefaultApprovals is the number of approvals required when a policy does
// not say (and when there is no policy file).
const DefaultApprovals = 1

// DefaultGateName is the Name of the default gate's GateResult.
const DefaultGateName = "default"

// PromotionPolicy is policies/<env>.yaml: what a version must satisfy to
// be promoted into Environment. After Parse, DefaultGate is never nil and
// Approvals.Count holds the default when the file left it out, so that
// the canonical form (and Digest) does not depend on how much was
// written out.
type PromotionPolicy struct {
	APIVersion string `yaml:"apiVersion" json:"apiVersion"`
	Kind       string `yaml:"kind" json:"kind"`
	// Environment is the environment this policy guards. Empty in the file
	// means the file's base name (policies/prod.yaml guards prod).
	Environment string `yaml:"environment,omitempty" json:"environment,omitempty"`
	// From is the environment a version must come from; empty means the
	// previous one in modelgit.yaml order.
	From string `yaml:"from,omitempty" json:"from,omitempty"`
	// Soak is how long the version must have run in From.
	Soak Duration `yaml:"soak,omitempty" json:"soak,omitempty"`
	// Gates are CEL expressions over candidate and baseline; each must be
	// true.
	Gates []Gate `yaml:"gates,omitempty" json:"gates,omitempty"`
	// DefaultGate is the regression test every promotion runs unless
	// disabled: every metric shared by candidate and baseline within
	// Tolerance of the baseline, in the metric's better direction.
	DefaultGate *DefaultGate `yaml:"defaultGate,omitempty" json:"defaultGate,omitempty"`
	// Metrics declares per metric its direction and tolerance (used by the
	// default gate) and how it is monitored once deployed.
	Metrics map[string]MetricPolicy `yaml:"metrics,omitempty" json:"metrics,omitempty"`
	// Approvals are the pull-request reviews a promotion needs.
	Approvals Approvals `yaml:"approvals,omitempty" json:"approvals,omitempty"`
	// TrustForgeMerges says whether merge commits signed by the forge's key
	// (GitHub's web-flow key) count as signed.
	TrustForgeMerges bool `yaml:"trustForgeMerges,omitempty" json:"trustForgeMerges,omitempty"`
}

// Gate is one CEL expression that must be true for a promotion.
type Gate struct {
	Name string `yaml:"name" json:"name" validate:"required"`
	// Expression is CEL over candidate and baseline, each a map with
	// version, model, metrics, params and labels, e.g.
	// candidate.metrics.accuracy >= baseline.metrics.accuracy * 0.95.
	Expression string `yaml:"expression" json:"expression" validate:"required"`
	// Message is shown when the gate fails, before the numbers.
	Message string `yaml:"message,omitempty" json:"message,omitempty"`

	compiled *compiledGate // set by Parse; nil for hand-built policies
}

// DefaultGate configures the built-in regression test.
type DefaultGate struct {
	// Tolerance is relative: 0.05 lets a metric be 5% worse than the
	// baseline. A metric's own MetricPolicy.Tolerance wins.
	Tolerance float64 `yaml:"tolerance" json:"tolerance"`
	// Disabled turns the default gate off.
	Disabled bool `yaml:"disabled,omitempty" json:"disabled,omitempty"`
}

// MetricPolicy is how one metric is judged: against the baseline by the
// default gate, and against live data once deployed. Data drift uses the
// same type: a drift metric (e.g. a PSI per feature) sets Threshold.
type MetricPolicy struct {
	// Direction is "higher" or "lower" (manifests.DirectionHigher,
	// DirectionLower); empty means the model's declaration, then the
	// metric's name (manifests.MetricDirection).
	Direction string `yaml:"direction,omitempty" json:"direction,omitempty"`
	// Tolerance is relative to the registered (or baseline) value; 0 means
	// the default gate's tolerance.
	Tolerance float64 `yaml:"tolerance,omitempty" json:"tolerance,omitempty"`
	// Query is a PromQL template; $model, $version and $environment are
	// replaced (see Expand), e.g.
	// avg_over_time(model_accuracy{model="$model",version="$version"}[1h]).
	Query string `yaml:"query,omitempty" json:"query,omitempty"`
	// MinSamples is the sample count below which monitoring decides
	// nothing.
	MinSamples int `yaml:"minSamples,omitempty" json:"minSamples,omitempty"`
	// Threshold is an absolute bound (for drift metrics): the value must
	// not be beyond it in the metric's worse direction.
	Threshold *float64 `yaml:"threshold,omitempty" json:"threshold,omitempty"`
}

// Query placeholders replaced by Expand.
var queryVars = []string{"$model", "$version", "$environment"}

// Expand returns the metric's Query with $model, $version and
// $environment replaced. Values are escaped for a PromQL double-quoted
// string.
func (m MetricPolicy) Expand(model, version, environment string) string {
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return strings.NewReplacer(
		"$model", esc.Replace(model),
		"$version", esc.Replace(version),
		"$environment", esc.Replace(environment),
	).Replace(m.Query)
}

// Approvals are the reviews a promotion pull request needs.
type Approvals struct {
	// Count is how many distinct approving reviews are needed.
	Count int `yaml:"count" json:"count"`
	// Teams are "org/team" slugs; at least one approver must belong to
	// each.
	Teams []string `yaml:"teams,omitempty" json:"teams,omitempty"`
	// Role is the least repository role an approver needs: RoleMaintain
	// or RoleAdmin. Empty (what Parse makes of RoleWrite too, so that the
	// digest does not depend on writing the default out) is write access,
	// what GitHub's required reviews ask of an approver.
	Role string `yaml:"role,omitempty" json:"role,omitempty"`
}

// Repository roles an approver may be required to have, as GitHub's
// role_name names them.
const (
	RoleWrite    = "write"
	RoleMaintain = "maintain"
	RoleAdmin    = "admin"
)

// MinRole is the least role an approver needs under a: RoleWrite unless
// the policy asks more.
func (a Approvals) MinRole() string {
	if a.Role == "" {
		return RoleWrite
	}
	return a.Role
}

// Default returns the policy that applies to env when policies/<env>.yaml
// is absent: the default gate at 5% and one approval.
func Default(env string) *PromotionPolicy {
	return &PromotionPolicy{
		APIVersion:  manifests.APIVersion,
		Kind:        Kind,
		Environment: env,
		DefaultGate: &DefaultGate{Tolerance: DefaultTolerance},
		Approvals:   Approvals{Count: DefaultApprovals},
	}
}

// Digest returns the sha256 of the policy's canonical form
// (manifests.Marshal), for the Policy: trailer of a promotion merge.
// Policies that differ only in layout, comments or defaults written out
// have the same digest.
func (p *PromotionPolicy) Digest() manifests.Digest {
	b, err := manifests.Marshal(p)
	if err != nil {
		// Every field of a policy encodes; this would be a programming
		// error, and a digest of the error text would hide it.
		panic(fmt.Sprintf("marshalling policy for %q: %v", p.Environment, err))
	}
	return manifests.FromBytes(b)
}

// Duration is a time.Duration written in YAML as text: Go's form ("24h",
// "1h30m") or whole days ("7d").
type Duration time.Duration

// ParseDuration reads "24h", "90m", "1h30m" or "7d". Negative durations
// are refused.
func ParseDuration(s string) (Duration, error) {
	bad := func(why string) (Duration, error) {
		return 0, fmt.Errorf("duration %q is not valid%s; want e.g. \"24h\", \"90m\", \"1h30m\" or \"7d\"", s, why)
	}
	s2 := strings.TrimSpace(s)
	if s2 == "" {
		return bad("")
	}
	if days, ok := strings.CutSuffix(s2, "d"); ok {
		n, err := strconv.ParseUint(days, 10, 16)
		if err != nil {
			return bad("")
		}
		return Duration(time.Duration(n) * 24 * time.Hour), nil
	}
	d, err := time.ParseDuration(s2)
	if err != nil {
		return bad("")
	}
	if d < 0 {
		return bad(" (negative)")
	}
	return Duration(d), nil
}

// String returns the shortest Go form: "24h", "1h30m", "90s"; "0s" for 0.
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseDuration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

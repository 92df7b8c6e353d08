package monitor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strconv"
	"time"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/prom"
	"github.com/modelgit/modelgit/manifests"
	"github.com/modelgit/modelgit/policies"
)

// MetricSource answers instant PromQL queries at an explicit time;
// *prom.Client is the real one. Errors wrapping prom.ErrUnreachable mean
// nothing more can be asked.
type MetricSource interface {
	Query(ctx context.Context, query string, at time.Time) (prom.Result, error)
}

// Check statuses: a check passed, failed, or could not be decided.
const (
	MonitorCheckOK      = "ok"
	MonitorCheckFail    = "fail"
	MonitorCheckUnknown = "unknown"
)

// Verdicts of a model in an environment.
const (
	// MonitorHealthy: every check passed.
	MonitorHealthy = "healthy"
	// MonitorFailing: at least one check failed.
	MonitorFailing = "failing"
	// MonitorUndecided: nothing failed, but at least one check could not be
	// decided (Prometheus down, a query error, too few samples, no data).
	MonitorUndecided = "unknown"
	// MonitorUnmonitored: the policy declares no metric with a query.
	MonitorUnmonitored = "unmonitored"
)

// Check kinds: what a live value is compared with.
const (
	// MonitorKindRegistered compares with the version's registered metric.
	MonitorKindRegistered = "registered"
	// MonitorKindPrimary compares a canary with the primary's live value over
	// the same window.
	MonitorKindPrimary = "primary"
	// MonitorKindThreshold compares with the policy's absolute threshold (drift).
	MonitorKindThreshold = "threshold"
)

// MonitorCheck is one metric of one running version, judged.
type MonitorCheck struct {
	Version string `json:"version"`
	// Role is the version's role in the release ("stable", "canary", …);
	// empty for a replace release.
	Role   string `json:"role,omitempty"`
	Metric string `json:"metric"`
	Kind   string `json:"kind"`
	// Query is the PromQL evaluated; SamplesQuery counts the samples
	// behind it (empty when the policy sets no minSamples).
	Query        string `json:"query"`
	SamplesQuery string `json:"samplesQuery,omitempty"`
	// Window is the range of the query's first range selector ("1h").
	Window    string  `json:"window,omitempty"`
	Direction string  `json:"direction"`
	Tolerance float64 `json:"tolerance,omitempty"`
	// Value is the live value, Reference what it is compared with (the
	// registered value or the primary's live value), Bound the worst
	// value allowed; nil when unknown or not applicable.
	Value      *float64 `json:"value,omitempty"`
	Reference  *float64 `json:"reference,omitempty"`
	Bound      *float64 `json:"bound,omitempty"`
	Samples    *int     `json:"samples,omitempty"`
	MinSamples int      `json:"minSamples,omitempty"`
	Status     string   `json:"status"`
	// Reason says why, in one line.
	Reason string `json:"reason"`
}

// MonitorAction is what Act did (or declined to do) for a failing model.
type MonitorAction struct {
	// Kind is "rollback" or "canary-abort".
	Kind string `json:"kind"`
	// To is the version the pull request returns the environment to.
	To string `json:"to,omitempty"`
	// Skipped says why nothing was done; empty when a PR was opened or
	// updated.
	Skipped string `json:"skipped,omitempty"`
	Branch  string `json:"branch,omitempty"`
	Commit  string `json:"commit,omitempty"`
	PR      int    `json:"pr,omitempty"`
	URL     string `json:"url,omitempty"`
	Created bool   `json:"created,omitempty"`
}

// ModelHealth is one model in the monitored environment.
type ModelHealth struct {
	Model    string         `json:"model"`
	Strategy string         `json:"strategy"`
	Versions []string       `json:"versions"`
	Verdict  string         `json:"verdict"`
	Checks   []MonitorCheck `json:"checks"`
	Action   *MonitorAction `json:"action,omitempty"`
}

// MonitorReport is the health of every model running in an environment.
type MonitorReport struct {
	Env string    `json:"environment"`
	At  time.Time `json:"at"`
	// Source is where the numbers came from (the Prometheus address).
	Source string        `json:"source,omitempty"`
	Models []ModelHealth `json:"models"`
}

// Failing reports whether any model's verdict is failing.
func (r *MonitorReport) Failing() bool {
	return slices.ContainsFunc(r.Models, func(m ModelHealth) bool { return m.Verdict == MonitorFailing })
}

// Undecided reports whether any model's verdict is undecided (unknown).
func (r *MonitorReport) Undecided() bool {
	return slices.ContainsFunc(r.Models, func(m ModelHealth) bool { return m.Verdict == MonitorUndecided })
}

// MonitorOptions describe one monitoring pass.
type MonitorOptions struct {
	Env    string
	Source MetricSource
	// SourceName names Source in the report and the evidence.
	SourceName string
	// At is the evaluation time of every query; zero means now.
	At time.Time
	// Model limits the pass to one model; empty means all.
	Model string
}

// Monitor reads the live metrics of every version running in opts.Env
// and judges them with the environment's policy (policies/<env>.yaml at
// HEAD): each metric with a query is compared, in its better direction,
// with the version's registered value (within tolerance), with the
// primary's live value for a canary, or with its absolute threshold for a
// drift metric. A check whose samples are fewer than minSamples, whose
// query fails, or whose Prometheus is unreachable is unknown: never
// healthy, never failing.
func (r *repository) Monitor(ctx context.Context, opts MonitorOptions) (*MonitorReport, error) {
	if err := r.CheckEnv(opts.Env); err != nil {
		return nil, fmt.Errorf("monitoring: %w", err)
	}
	if opts.Source == nil {
		return nil, fmt.Errorf("monitoring %q: no metric source", opts.Env)
	}
	at := opts.At
	if at.IsZero() {
		at = r.Now()
	}
	at = at.UTC().Truncate(time.Second)
	pol, err := r.monitorPolicy(opts.Env)
	if err != nil {
		return nil, err
	}
	models, err := r.Models()
	if err != nil {
		return nil, err
	}
	rep := &MonitorReport{Env: opts.Env, At: at, Source: opts.SourceName, Models: []ModelHealth{}}
	if opts.Model != "" {
		if !slices.Contains(models, opts.Model) {
			return nil, fmt.Errorf("monitoring %q: model %q is not registered", opts.Env, opts.Model)
		}
		models = []string{opts.Model}
	}
	m := &monitorPass{ctx: ctx, src: opts.Source, at: at, env: opts.Env, pol: pol}
	for _, model := range models {
		rel, err := r.Release(opts.Env, model)
		if err != nil {
			return nil, err
		}
		if rel == nil || len(gitops.Serving(rel)) == 0 {
			continue
		}
		h, err := r.monitorModel(m, rel)
		if err != nil {
			return nil, err
		}
		rep.Models = append(rep.Models, *h)
	}
	return rep, nil
}

// MonitoredEnvironments splits the environments of modelgit.yaml, in its
// order, into those whose policy (policies/<env>.yaml at HEAD) declares a
// metric with a query, and the others: what `modelgit monitor` without
// --env looks at, and what it skips.
func (r *repository) MonitoredEnvironments() (monitored, unmonitored []string, err error) {
	for _, e := range r.Config().Environments {
		pol, err := r.monitorPolicy(e.Name)
		if err != nil {
			return nil, nil, err
		}
		if slices.ContainsFunc(slices.Collect(maps.Values(pol.Metrics)), func(mp policies.MetricPolicy) bool { return mp.Query != "" }) {
			monitored = append(monitored, e.Name)
		} else {
			unmonitored = append(unmonitored, e.Name)
		}
	}
	return monitored, unmonitored, nil
}

// monitorPolicy reads policies/<env>.yaml at HEAD; the default policy
// (which declares no monitored metric) when there is none.
func (r *repository) monitorPolicy(env string) (*policies.PromotionPolicy, error) {
	head, err := r.Head()
	if err != nil {
		return nil, err
	}
	p := path.Join(manifests.PoliciesDir, env+".yaml")
	if head.IsZero() {
		return policies.Default(env), nil
	}
	raw, err := r.Repo().ReadFile(head, p)
	if errors.Is(err, fs.ErrNotExist) {
		return policies.Default(env), nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading policy %q: %w", p, err)
	}
	return policies.Parse(p, raw)
}

// monitorPass is the state of one Monitor call.
type monitorPass struct {
	ctx  context.Context
	src  MetricSource
	at   time.Time
	env  string
	pol  *policies.PromotionPolicy
	down error // set once Prometheus is unreachable: nothing more is asked
}

func (r *repository) monitorModel(m *monitorPass, rel *manifests.Release) (*ModelHealth, error) {
	h := &ModelHealth{Model: rel.Model, Strategy: rel.Strategy, Checks: []MonitorCheck{}}
	var model *manifests.Model
	if head, err := r.Head(); err == nil {
		if raw, err := r.Repo().ReadFile(head, manifests.ModelFile(rel.Model)); err == nil {
			model, _ = manifests.ParseModel(manifests.ModelFile(rel.Model), raw)
		}
	}
	type running struct {
		rv manifests.ReleasedVersion
		mv *manifests.ModelVersion
	}
	var versions []running
	for _, rv := range rel.Versions {
		if rv.Weight != nil && *rv.Weight == 0 {
			continue // a blue-green standby serves nothing
		}
		ref, err := r.Resolve(rel.Model + "@" + rv.Version.String())
		if err != nil {
			return nil, fmt.Errorf("monitoring %s in %q: %w", rel.Model, m.env, err)
		}
		versions = append(versions, running{rv, ref.Manifest})
		h.Versions = append(h.Versions, rv.Version.String())
	}
	metrics := slices.Sorted(maps.Keys(m.pol.Metrics))
	canary := rel.Strategy == manifests.StrategyCanary && len(versions) == 2
	for _, name := range metrics {
		mp := m.pol.Metrics[name]
		if mp.Query == "" {
			continue
		}
		var primary *float64
		for i, v := range versions {
			dirs := policies.FromVersion(v.mv, model).Directions
			rule := m.pol.Rule(name, dirs)
			// What the value is compared with is known before it is
			// measured: an unknown check still says it.
			kind := MonitorKindRegistered
			switch {
			case rule.Threshold != nil:
				kind = MonitorKindThreshold
			case canary && i == 1:
				kind = MonitorKindPrimary
			}
			c := m.measure(rel.Model, v.rv, mp, rule)
			c.Kind = kind
			switch {
			case c.Status == MonitorCheckUnknown:
			case kind == MonitorKindThreshold:
				c.Reference, c.Bound = nil, monitorPtr(*rule.Threshold)
				monitorJudge(&c, rule.WithinThreshold(*c.Value), fmt.Sprintf("threshold %s %s", monitorOp(rule.Direction), monitorNum(*rule.Threshold)))
			case kind == MonitorKindPrimary:
				if primary == nil {
					c.Status, c.Reason = MonitorCheckUnknown, "the primary has no live value to compare with"
					break
				}
				c.Reference, c.Bound = monitorPtr(*primary), monitorPtr(rule.Bound(*primary))
				monitorJudge(&c, rule.Within(*c.Value, *primary), fmt.Sprintf("primary %s live: want %s %s", monitorNum(*primary), monitorOp(rule.Direction), monitorNum(*c.Bound)))
			default:
				reg, ok := v.mv.Metrics[name]
				if !ok {
					c.Status, c.Reason = MonitorCheckUnknown, fmt.Sprintf("%s has no registered %s to compare with", v.rv.Version, name)
					break
				}
				c.Reference, c.Bound = monitorPtr(reg), monitorPtr(rule.Bound(reg))
				monitorJudge(&c, rule.Within(*c.Value, reg), fmt.Sprintf("registered %s: want %s %s", monitorNum(reg), monitorOp(rule.Direction), monitorNum(*c.Bound)))
			}
			if i == 0 && c.Value != nil {
				primary = monitorPtr(*c.Value)
			}
			h.Checks = append(h.Checks, c)
		}
	}
	h.Verdict = monitorVerdict(h.Checks)
	return h, nil
}

// measure asks for the sample count (when the rule has a minimum) and the
// value of one metric of one version; Status is MonitorCheckUnknown when either
// cannot be had, and "" otherwise (the caller judges).
func (m *monitorPass) measure(model string, rv manifests.ReleasedVersion, mp policies.MetricPolicy, rule policies.Rule) MonitorCheck {
	c := MonitorCheck{
		Version:    rv.Version.String(),
		Role:       rv.Role,
		Metric:     rule.Metric,
		Query:      mp.Expand(model, rv.Version.String(), m.env),
		Direction:  rule.Direction,
		MinSamples: rule.MinSamples,
	}
	if rule.Threshold == nil {
		c.Tolerance = rule.Tolerance
	}
	sq, window, ok := MonitorSamplesQuery(c.Query)
	c.Window = window
	if m.down != nil {
		c.Status, c.Reason = MonitorCheckUnknown, m.down.Error()
		return c
	}
	if rule.MinSamples > 0 {
		if !ok {
			c.Status, c.Reason = MonitorCheckUnknown, "minSamples is set but the query has no range selector (like [1h]) to count samples over"
			return c
		}
		c.SamplesQuery = sq
		res, err := m.query(sq)
		if err != nil {
			c.Status, c.Reason = MonitorCheckUnknown, err.Error()
			return c
		}
		n := 0
		if !res.Empty {
			n = int(res.Value)
		}
		c.Samples = &n
		if n < rule.MinSamples {
			c.Status, c.Reason = MonitorCheckUnknown, fmt.Sprintf("too few samples: %d in %s, policy wants at least %d", n, window, rule.MinSamples)
			return c
		}
	}
	res, err := m.query(c.Query)
	switch {
	case err != nil:
		c.Status, c.Reason = MonitorCheckUnknown, err.Error()
	case res.Empty:
		c.Status, c.Reason = MonitorCheckUnknown, "no data: the query matched no series"
	default:
		c.Value = monitorPtr(res.Value)
	}
	return c
}

func (m *monitorPass) query(q string) (prom.Result, error) {
	res, err := m.src.Query(m.ctx, q, m.at)
	if err != nil && errors.Is(err, prom.ErrUnreachable) {
		m.down = err
	}
	return res, err
}

func monitorJudge(c *MonitorCheck, ok bool, why string) {
	if ok {
		c.Status, c.Reason = MonitorCheckOK, "live "+monitorNum(*c.Value)+", "+why
		return
	}
	c.Status, c.Reason = MonitorCheckFail, "live "+monitorNum(*c.Value)+", "+why
}

func monitorVerdict(checks []MonitorCheck) string {
	switch {
	case len(checks) == 0:
		return MonitorUnmonitored
	case slices.ContainsFunc(checks, func(c MonitorCheck) bool { return c.Status == MonitorCheckFail }):
		return MonitorFailing
	case slices.ContainsFunc(checks, func(c MonitorCheck) bool { return c.Status == MonitorCheckUnknown }):
		return MonitorUndecided
	}
	return MonitorHealthy
}

// MonitorSamplesQuery returns the query that counts the samples behind
// query: sum(count_over_time(S)) for the first range selector S in it (the
// raw samples of every series it selects over its window), and the window.
// ok is false when query has no range selector (policies.Parse refuses such
// a query with minSamples).
func MonitorSamplesQuery(query string) (samples, window string, ok bool) {
	return policies.SamplesQuery(query)
}

func monitorPtr[T any](v T) *T { return &v }

func monitorOp(direction string) string {
	if direction == manifests.DirectionLower {
		return "<="
	}
	return ">="
}

// num shows a number with up to 6 significant digits.
func monitorNum(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

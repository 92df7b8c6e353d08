package manifests

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Change kinds.
const (
	ChangeAdded   = "added"
	ChangeRemoved = "removed"
	ChangeChanged = "changed"
)

// Change is one difference between two versions of a model.
type Change struct {
	// Field is the dotted path, e.g. "artifacts.weights.digest" or
	// "metrics.accuracy".
	Field string
	// Old and New are the values as text; Old is empty for "added", New
	// for "removed". For metrics New carries the signed delta and
	// percentage, e.g. "0.970 (+0.010, +1.0%)".
	Old, New string
	// Kind is ChangeAdded, ChangeRemoved or ChangeChanged.
	Kind string
}

// Diff lists what differs from a to b — version, artifacts (path, digest,
// size, media type), data digest, features, interface, params, metrics,
// framework, libraries and targets — sorted by Field. Registration
// metadata (who, when, reason) is not compared. A nil side counts as empty.
func Diff(a, b *ModelVersion) []Change {
	if a == nil {
		a = &ModelVersion{}
	}
	if b == nil {
		b = &ModelVersion{}
	}
	var d differ
	d.str("version", versionText(a.Version), versionText(b.Version))
	var arts [2]map[string]*Artifact
	for i, mv := range []*ModelVersion{a, b} {
		arts[i] = map[string]*Artifact{}
		mv.Artifacts.Each(func(kind string, art *Artifact) { arts[i][kind] = art })
	}
	for _, kind := range []string{ArtifactWeights, ArtifactPipeline, ArtifactSchema, ArtifactConfig} {
		o, n := arts[0][kind], arts[1][kind]
		p := "artifacts." + kind
		switch {
		case o == nil && n == nil:
		case o == nil:
			d.add(p, "", n.Digest.String(), ChangeAdded)
		case n == nil:
			d.add(p, o.Digest.String(), "", ChangeRemoved)
		default:
			d.str(p+".path", o.Path, n.Path)
			d.str(p+".digest", o.Digest.String(), n.Digest.String())
			d.str(p+".size", strconv.FormatInt(o.Size, 10), strconv.FormatInt(n.Size, 10))
			d.str(p+".mediaType", o.MediaType, n.MediaType)
		}
	}
	var ad, bd string
	if a.Data != nil {
		ad = a.Data.Digest.String()
	}
	if b.Data != nil {
		bd = b.Data.Digest.String()
	}
	d.str("data.digest", ad, bd)
	d.strMap("features", a.Features, b.Features)
	var ai, bi Interface
	if a.Interface != nil {
		ai = *a.Interface
	}
	if b.Interface != nil {
		bi = *b.Interface
	}
	d.strMap("interface.inputs", ai.Inputs, bi.Inputs)
	d.strMap("interface.outputs", ai.Outputs, bi.Outputs)
	d.strMap("params", formatMap(a.Params), formatMap(b.Params))
	for _, k := range union(a.Metrics, b.Metrics) {
		o, oOK := a.Metrics[k]
		n, nOK := b.Metrics[k]
		switch {
		case !oOK:
			d.add("metrics."+k, "", formatMetric(n), ChangeAdded)
		case !nOK:
			d.add("metrics."+k, formatMetric(o), "", ChangeRemoved)
		case o != n && !(math.IsNaN(o) && math.IsNaN(n)):
			d.add("metrics."+k, formatMetric(o), formatMetricDelta(o, n), ChangeChanged)
		}
	}
	d.str("framework.name", frameworkField(a.Framework, true), frameworkField(b.Framework, true))
	d.str("framework.version", frameworkField(a.Framework, false), frameworkField(b.Framework, false))
	d.strMap("libraries", a.Libraries, b.Libraries)
	d.str("targets", strings.Join(a.Targets, ", "), strings.Join(b.Targets, ", "))
	slices.SortStableFunc(d.changes, func(x, y Change) int { return cmp.Compare(x.Field, y.Field) })
	return d.changes
}

type differ struct{ changes []Change }

func (d *differ) add(field, old, cur, kind string) {
	d.changes = append(d.changes, Change{Field: field, Old: old, New: cur, Kind: kind})
}

// str records a change of a text value; "" means absent.
func (d *differ) str(field, old, cur string) {
	switch {
	case old == cur:
	case old == "":
		d.add(field, "", cur, ChangeAdded)
	case cur == "":
		d.add(field, old, "", ChangeRemoved)
	default:
		d.add(field, old, cur, ChangeChanged)
	}
}

func (d *differ) strMap(prefix string, old, cur map[string]string) {
	for _, k := range union(old, cur) {
		o, oOK := old[k]
		n, nOK := cur[k]
		switch {
		case !oOK:
			d.add(prefix+"."+k, "", n, ChangeAdded)
		case !nOK:
			d.add(prefix+"."+k, o, "", ChangeRemoved)
		case o != n:
			d.add(prefix+"."+k, o, n, ChangeChanged)
		}
	}
}

func union[V any](a, b map[string]V) []string {
	keys := sortedKeys(a)
	for _, k := range sortedKeys(b) {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func formatMap(m map[string]any) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = formatValue(v)
	}
	return out
}

func versionText(v Version) string {
	if v.IsZero() {
		return ""
	}
	return v.String()
}

func frameworkField(f *Framework, name bool) string {
	switch {
	case f == nil:
		return ""
	case name:
		return f.Name
	}
	return f.Version
}

func formatMetric(v float64) string {
	return strconv.FormatFloat(v, 'f', 3, 64)
}

// formatMetricDelta returns "0.970 (+0.010, +1.0%)"; the percentage is left
// out when the old value is 0.
func formatMetricDelta(old, cur float64) string {
	s := fmt.Sprintf("%s (%+.3f", formatMetric(cur), cur-old)
	if old != 0 {
		s += fmt.Sprintf(", %+.1f%%", (cur-old)/math.Abs(old)*100)
	}
	return s + ")"
}

// MetricDirection returns "higher" or "lower": which way metric improves.
// The Model's declaration wins; otherwise names containing loss, error,
// latency, mse, mae, rmse or perplexity, or ending in _ms or _seconds, are
// lower-is-better and every other metric higher-is-better. m may be nil.
func MetricDirection(m *Model, metric string) string {
	if m != nil {
		switch d := strings.ToLower(m.Metrics[metric]); d {
		case DirectionHigher, DirectionLower:
			return d
		}
	}
	name := strings.ToLower(metric)
	for _, w := range []string{"loss", "error", "latency", "mse", "mae", "rmse", "perplexity"} {
		if strings.Contains(name, w) {
			return DirectionLower
		}
	}
	if strings.HasSuffix(name, "_ms") || strings.HasSuffix(name, "_seconds") {
		return DirectionLower
	}
	return DirectionHigher
}

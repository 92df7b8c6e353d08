package manifests

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
)

// BumpKind is which part of the version a change moves.
type BumpKind string

// Bump kinds, from no change to a breaking one.
const (
	BumpNone  BumpKind = "none"
	BumpData  BumpKind = "data"
	BumpPatch BumpKind = "patch"
	BumpMinor BumpKind = "minor"
	BumpMajor BumpKind = "major"
)

var bumpRank = map[BumpKind]int{BumpNone: 0, BumpData: 1, BumpPatch: 2, BumpMinor: 3, BumpMajor: 4}

// Proposal is the version modelgit proposes for a candidate and why.
type Proposal struct {
	Version Version
	Bump    BumpKind
	// Reasons are short sentences naming what changed, most severe first.
	Reasons []string
}

// Propose compares the candidate next (its Version is ignored) with latest,
// the latest registered version, and proposes the next version number:
//
//   - a breaking feature-schema or inference-API change (a feature, input
//     or output removed, its type or its shape changed), or an artifact
//     removed → major;
//   - a feature, input, output or artifact kind added → minor;
//   - hyperparameters, pipeline, schema or config artifact, framework or
//     libraries changed, or the weights changed while the data did not → patch;
//   - only the training data changed (the weights may change with it) → data.
//
// The data version increments whenever the data digest changed, also
// together with a major, minor or patch bump. With latest nil the first
// version is 0.1.0+data.1 (0.1.0 when next records no data).
func Propose(latest, next *ModelVersion) Proposal {
	if latest == nil {
		v := Version{Minor: 1}
		if next != nil && next.Data != nil {
			v.Data = 1
		}
		return Proposal{Version: v, Bump: BumpMinor, Reasons: []string{"first version"}}
	}
	if next == nil {
		next = &ModelVersion{}
	}
	p := proposer{bump: BumpNone}
	p.schema("feature", "schema", latest.Features, next.Features)
	var li, ni Interface
	if latest.Interface != nil {
		li = *latest.Interface
	}
	if next.Interface != nil {
		ni = *next.Interface
	}
	p.schema("input", "API", li.Inputs, ni.Inputs)
	p.schema("output", "API", li.Outputs, ni.Outputs)
	p.artifacts(latest.Artifacts, next.Artifacts)
	p.params(latest.Params, next.Params)
	p.framework(latest, next)

	dataChanged := false
	switch ld, nd := latest.Data, next.Data; {
	case ld == nil && nd != nil:
		dataChanged = true
		p.add(BumpData, fmt.Sprintf("training data recorded (%s)", nd.Digest.Short()))
	case ld != nil && nd == nil:
		p.add(BumpPatch, "training data no longer recorded")
	case ld != nil && nd != nil && ld.Digest != nd.Digest:
		dataChanged = true
		p.add(BumpData, fmt.Sprintf("training data changed %s → %s", ld.Digest.Short(), nd.Digest.Short()))
	}
	if lw, nw := latest.Artifacts.Weights, next.Artifacts.Weights; !dataChanged && artifactDigest(lw) != artifactDigest(nw) && lw != nil && nw != nil {
		p.add(BumpPatch, fmt.Sprintf("weights changed %s → %s while training data did not", lw.Digest.Short(), nw.Digest.Short()))
	}

	// Metrics alone: the same model re-validated. A new version keeps
	// the new numbers rather than dropping them silently; only when
	// nothing else changed, so the reason list stays about the model.
	if p.bump == BumpNone {
		for _, k := range sortedKeys(unionKeys(latest.Metrics, next.Metrics)) {
			lv, lok := latest.Metrics[k]
			nv, nok := next.Metrics[k]
			switch {
			case lok && !nok:
				p.add(BumpPatch, fmt.Sprintf("metric %q no longer reported (was %v): re-validated", k, lv))
			case !lok && nok:
				p.add(BumpPatch, fmt.Sprintf("metric %q added (%v): re-validated", k, nv))
			case lv != nv:
				p.add(BumpPatch, fmt.Sprintf("metric %q changed %v → %v: re-validated", k, lv, nv))
			}
		}
	}

	v := latest.Version
	switch p.bump {
	case BumpNone:
		return Proposal{Version: v, Bump: BumpNone, Reasons: []string{"nothing changed since " + v.String()}}
	case BumpMajor:
		v = v.NextMajor()
	case BumpMinor:
		v = v.NextMinor()
	case BumpPatch:
		v = v.NextPatch()
	}
	if dataChanged {
		v = v.NextData()
	}
	if next.Data == nil {
		v.Data = 0
	}
	return Proposal{Version: v, Bump: p.bump, Reasons: p.ordered()}
}

type proposer struct {
	bump    BumpKind
	reasons []struct {
		kind BumpKind
		text string
	}
}

func (p *proposer) add(k BumpKind, reason string) {
	if bumpRank[k] > bumpRank[p.bump] {
		p.bump = k
	}
	p.reasons = append(p.reasons, struct {
		kind BumpKind
		text string
	}{k, reason})
}

func (p *proposer) ordered() []string {
	var out []string
	for _, k := range []BumpKind{BumpMajor, BumpMinor, BumpPatch, BumpData} {
		for _, r := range p.reasons {
			if r.kind == k {
				out = append(out, r.text)
			}
		}
	}
	return out
}

// schema compares name → type maps: features (what) or inputs/outputs.
func (p *proposer) schema(what, area string, old, cur map[string]string) {
	for _, k := range sortedKeys(old) {
		nt, ok := cur[k]
		switch {
		case !ok:
			p.add(BumpMajor, fmt.Sprintf("%s %q removed (%s → gone): breaking %s change", what, k, old[k], area))
		case nt != old[k]:
			ot, os := SplitShape(old[k])
			if t, s := SplitShape(nt); t == ot && s != os {
				p.add(BumpMajor, fmt.Sprintf("%s %q shape changed %s → %s: breaking %s change", what, k, orNone(os), orNone(s), area))
				continue
			}
			p.add(BumpMajor, fmt.Sprintf("%s %q type changed %s → %s: breaking %s change", what, k, old[k], nt, area))
		}
	}
	for _, k := range sortedKeys(cur) {
		if _, ok := old[k]; !ok {
			p.add(BumpMinor, fmt.Sprintf("%s %q added (%s): additive %s change", what, k, cur[k], area))
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func artifactDigest(a *Artifact) Digest {
	if a == nil {
		return Digest{}
	}
	return a.Digest
}

func (p *proposer) artifacts(old, cur Artifacts) {
	all := map[string][2]*Artifact{}
	old.Each(func(kind string, a *Artifact) { x := all[kind]; x[0] = a; all[kind] = x })
	cur.Each(func(kind string, a *Artifact) { x := all[kind]; x[1] = a; all[kind] = x })
	for _, kind := range []string{ArtifactWeights, ArtifactPipeline, ArtifactSchema, ArtifactConfig} {
		o, n := all[kind][0], all[kind][1]
		switch {
		case o == nil && n == nil:
		case o == nil:
			p.add(BumpMinor, fmt.Sprintf("new %s artifact (%s)", kind, n.Digest.Short()))
		case n == nil:
			p.add(BumpMajor, fmt.Sprintf("%s artifact removed: breaking change", kind))
		case kind != ArtifactWeights && o.Digest != n.Digest:
			p.add(BumpPatch, fmt.Sprintf("%s changed %s → %s", kind, o.Digest.Short(), n.Digest.Short()))
		}
	}
}

func (p *proposer) params(old, cur map[string]any) {
	for _, k := range sortedKeys(old) {
		nv, ok := cur[k]
		switch {
		case !ok:
			p.add(BumpPatch, fmt.Sprintf("hyperparameter %q removed (was %s)", k, formatValue(old[k])))
		case !reflect.DeepEqual(old[k], nv):
			p.add(BumpPatch, fmt.Sprintf("hyperparameter %q changed %s → %s", k, formatValue(old[k]), formatValue(nv)))
		}
	}
	for _, k := range sortedKeys(cur) {
		if _, ok := old[k]; !ok {
			p.add(BumpPatch, fmt.Sprintf("hyperparameter %q added (%s)", k, formatValue(cur[k])))
		}
	}
}

func (p *proposer) framework(old, cur *ModelVersion) {
	if o, n := frameworkString(old.Framework), frameworkString(cur.Framework); o != n {
		p.add(BumpPatch, fmt.Sprintf("framework changed %s → %s", o, n))
	}
	for _, k := range sortedKeys(old.Libraries) {
		nv, ok := cur.Libraries[k]
		switch {
		case !ok:
			p.add(BumpPatch, fmt.Sprintf("library %q removed (was %s)", k, old.Libraries[k]))
		case nv != old.Libraries[k]:
			p.add(BumpPatch, fmt.Sprintf("library %q changed %s → %s", k, old.Libraries[k], nv))
		}
	}
	for _, k := range sortedKeys(cur.Libraries) {
		if _, ok := old.Libraries[k]; !ok {
			p.add(BumpPatch, fmt.Sprintf("library %q added (%s)", k, cur.Libraries[k]))
		}
	}
}

func frameworkString(f *Framework) string {
	switch {
	case f == nil:
		return "none"
	case f.Version == "":
		return f.Name
	}
	return f.Name + " " + f.Version
}

// formatValue renders a hyperparameter for a sentence: numbers in their
// shortest form, lists and mappings as compact JSON.
func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case map[string]any, []any:
		if b, err := json.Marshal(x); err == nil {
			return string(b)
		}
	}
	return fmt.Sprint(v)
}

// Errors wrapped by ValidateExplicit.
var (
	ErrVersionExists     = errors.New("version already exists")
	ErrVersionNotGreater = errors.New("version is not greater than the latest")
)

// ValidateExplicit checks a version given explicitly (--version): it must
// not exist already and must be greater than latest (and than every
// existing version).
func ValidateExplicit(latest *ModelVersion, v Version, existing []Version) error {
	for _, e := range existing {
		if e == v {
			return fmt.Errorf("checking version %s: %w; choose a version greater than the latest", v, ErrVersionExists)
		}
	}
	max := Version{}
	found := false
	if latest != nil {
		max, found = latest.Version, true
	}
	for _, e := range existing {
		if !found || e.Compare(max) > 0 {
			max, found = e, true
		}
	}
	if found && v.Compare(max) <= 0 {
		return fmt.Errorf("checking version %s: %w %s; choose a greater version", v, ErrVersionNotGreater, max)
	}
	if v.IsZero() {
		return fmt.Errorf("checking version %s: %w 0.0.0; the first version is at least 0.0.1", v, ErrVersionNotGreater)
	}
	return nil
}

func unionKeys(a, b map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(a)+len(b))
	for k := range a {
		out[k] = 0
	}
	for k := range b {
		out[k] = 0
	}
	return out
}

package manifests

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func digestOf(s string) Digest { return FromBytes([]byte(s)) }

// baseVersion is a registered version the proposal tests change.
func baseVersion() *ModelVersion {
	return &ModelVersion{
		APIVersion: APIVersion, Kind: KindModelVersion, Model: "fraud", Version: MustParseVersion("1.4.2+data.7"),
		Artifacts: Artifacts{
			Weights:  &Artifact{Path: "model.pt", Digest: digestOf("w1"), Size: 2, MediaType: "application/octet-stream"},
			Pipeline: &Artifact{Path: "pipe.pkl", Digest: digestOf("p1"), Size: 2, MediaType: "application/octet-stream"},
		},
		Data:      &Data{Digest: digestOf("d1")},
		Features:  map[string]string{"amount": "float", "merchant": "string"},
		Interface: &Interface{Inputs: map[string]string{"amount": "float"}, Outputs: map[string]string{"score": "float"}},
		Params:    map[string]any{"lr": 0.01, "epochs": 10},
		Metrics:   map[string]float64{"accuracy": 0.96},
	}
}

func TestPropose(t *testing.T) {
	tests := []struct {
		name        string
		change      func(mv *ModelVersion)
		wantVersion string
		wantBump    BumpKind
		wantReasons []string
	}{
		{
			name:        "nothing",
			change:      func(mv *ModelVersion) { mv.RegisteredBy = "someone else" },
			wantVersion: "1.4.2+data.7", wantBump: BumpNone,
			wantReasons: []string{"nothing changed since 1.4.2+data.7"},
		},
		{
			name:        "feature removed",
			change:      func(mv *ModelVersion) { delete(mv.Features, "amount") },
			wantVersion: "2.0.0+data.7", wantBump: BumpMajor,
			wantReasons: []string{`feature "amount" removed (float → gone): breaking schema change`},
		},
		{
			name:        "feature type changed",
			change:      func(mv *ModelVersion) { mv.Features["amount"] = "int" },
			wantVersion: "2.0.0+data.7", wantBump: BumpMajor,
			wantReasons: []string{`feature "amount" type changed float → int: breaking schema change`},
		},
		{
			name:        "output removed",
			change:      func(mv *ModelVersion) { mv.Interface.Outputs = nil },
			wantVersion: "2.0.0+data.7", wantBump: BumpMajor,
			wantReasons: []string{`output "score" removed (float → gone): breaking API change`},
		},
		{
			name:        "input type changed",
			change:      func(mv *ModelVersion) { mv.Interface.Inputs["amount"] = "double" },
			wantVersion: "2.0.0+data.7", wantBump: BumpMajor,
			wantReasons: []string{`input "amount" type changed float → double: breaking API change`},
		},
		{
			name:        "feature added",
			change:      func(mv *ModelVersion) { mv.Features["country"] = "string" },
			wantVersion: "1.5.0+data.7", wantBump: BumpMinor,
			wantReasons: []string{`feature "country" added (string): additive schema change`},
		},
		{
			name:        "input added",
			change:      func(mv *ModelVersion) { mv.Interface.Inputs["country"] = "string" },
			wantVersion: "1.5.0+data.7", wantBump: BumpMinor,
			wantReasons: []string{`input "country" added (string): additive API change`},
		},
		{
			name: "new artifact kind",
			change: func(mv *ModelVersion) {
				mv.Artifacts.Config = &Artifact{Path: "c.json", Digest: digestOf("c1"), MediaType: "application/json"}
			},
			wantVersion: "1.5.0+data.7", wantBump: BumpMinor,
			wantReasons: []string{"new config artifact (" + digestOf("c1").Short() + ")"},
		},
		{
			name:        "artifact removed",
			change:      func(mv *ModelVersion) { mv.Artifacts.Pipeline = nil },
			wantVersion: "2.0.0+data.7", wantBump: BumpMajor,
			wantReasons: []string{"pipeline artifact removed: breaking change"},
		},
		{
			name:        "hyperparameter changed",
			change:      func(mv *ModelVersion) { mv.Params["lr"] = 0.02 },
			wantVersion: "1.4.3+data.7", wantBump: BumpPatch,
			wantReasons: []string{`hyperparameter "lr" changed 0.01 → 0.02`},
		},
		{
			name:        "hyperparameter added and removed",
			change:      func(mv *ModelVersion) { delete(mv.Params, "epochs"); mv.Params["opt"] = "adam" },
			wantVersion: "1.4.3+data.7", wantBump: BumpPatch,
			wantReasons: []string{`hyperparameter "epochs" removed (was 10)`, `hyperparameter "opt" added ("adam")`},
		},
		{
			name:        "pipeline changed",
			change:      func(mv *ModelVersion) { mv.Artifacts.Pipeline.Digest = digestOf("p2") },
			wantVersion: "1.4.3+data.7", wantBump: BumpPatch,
			wantReasons: []string{"pipeline changed " + digestOf("p1").Short() + " → " + digestOf("p2").Short()},
		},
		{
			name:        "weights changed without data",
			change:      func(mv *ModelVersion) { mv.Artifacts.Weights.Digest = digestOf("w2") },
			wantVersion: "1.4.3+data.7", wantBump: BumpPatch,
			wantReasons: []string{"weights changed " + digestOf("w1").Short() + " → " + digestOf("w2").Short() + " while training data did not"},
		},
		{
			name:        "library changed",
			change:      func(mv *ModelVersion) { mv.Libraries = map[string]string{"torch": "2.3"} },
			wantVersion: "1.4.3+data.7", wantBump: BumpPatch,
			wantReasons: []string{`library "torch" added (2.3)`},
		},
		{
			name: "only data and weights",
			change: func(mv *ModelVersion) {
				mv.Data.Digest = digestOf("d2")
				mv.Artifacts.Weights.Digest = digestOf("w2")
			},
			wantVersion: "1.4.2+data.8", wantBump: BumpData,
			wantReasons: []string{"training data changed " + digestOf("d1").Short() + " → " + digestOf("d2").Short()},
		},
		{
			name: "data with a major change",
			change: func(mv *ModelVersion) {
				mv.Data.Digest = digestOf("d2")
				delete(mv.Features, "merchant")
			},
			wantVersion: "2.0.0+data.8", wantBump: BumpMajor,
			wantReasons: []string{
				`feature "merchant" removed (string → gone): breaking schema change`,
				"training data changed " + digestOf("d1").Short() + " → " + digestOf("d2").Short(),
			},
		},
		{
			name: "data with a minor and a patch change",
			change: func(mv *ModelVersion) {
				mv.Data.Digest = digestOf("d2")
				mv.Params["lr"] = 0.1
				mv.Features["country"] = "string"
			},
			wantVersion: "1.5.0+data.8", wantBump: BumpMinor,
			wantReasons: []string{
				`feature "country" added (string): additive schema change`,
				`hyperparameter "lr" changed 0.01 → 0.1`,
				"training data changed " + digestOf("d1").Short() + " → " + digestOf("d2").Short(),
			},
		},
		{
			name:        "data no longer recorded",
			change:      func(mv *ModelVersion) { mv.Data = nil },
			wantVersion: "1.4.3", wantBump: BumpPatch,
			wantReasons: []string{"training data no longer recorded"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := baseVersion()
			next.Version = Version{} // ignored
			tt.change(next)
			got := Propose(baseVersion(), next)
			if got.Version.String() != tt.wantVersion || got.Bump != tt.wantBump {
				t.Errorf("Propose = %s (%s), want %s (%s); reasons %q", got.Version, got.Bump, tt.wantVersion, tt.wantBump, got.Reasons)
			}
			if !reflect.DeepEqual(got.Reasons, tt.wantReasons) {
				t.Errorf("reasons:\n got %q\nwant %q", got.Reasons, tt.wantReasons)
			}
		})
	}
}

func TestProposeFirst(t *testing.T) {
	mv := baseVersion()
	if got := Propose(nil, mv); got.Version.String() != "0.1.0+data.1" || !reflect.DeepEqual(got.Reasons, []string{"first version"}) {
		t.Errorf("Propose(nil, with data) = %+v", got)
	}
	mv.Data = nil
	if got := Propose(nil, mv); got.Version.String() != "0.1.0" {
		t.Errorf("Propose(nil, without data) = %+v", got)
	}
}

func TestProposeFromNoData(t *testing.T) {
	latest := baseVersion()
	latest.Data, latest.Version = nil, MustParseVersion("1.0.0")
	next := baseVersion()
	got := Propose(latest, next)
	if got.Version.String() != "1.0.0+data.1" || got.Bump != BumpData {
		t.Errorf("Propose = %+v, want 1.0.0+data.1 (data)", got)
	}
}

func TestValidateExplicit(t *testing.T) {
	latest := baseVersion() // 1.4.2+data.7
	existing := []Version{MustParseVersion("1.0.0+data.1"), MustParseVersion("1.4.2+data.7")}
	tests := []struct {
		v       string
		wantErr string
		is      error
	}{
		{v: "1.5.0+data.7"},
		{v: "1.4.2+data.8"},
		{v: "2.0.0"},
		{v: "1.4.2+data.7", wantErr: "checking version 1.4.2+data.7: version already exists", is: ErrVersionExists},
		{v: "1.0.0+data.1", wantErr: "version already exists", is: ErrVersionExists},
		{v: "1.4.1", wantErr: "checking version 1.4.1: version is not greater than the latest 1.4.2+data.7", is: ErrVersionNotGreater},
		{v: "1.4.2", wantErr: "is not greater than the latest 1.4.2+data.7", is: ErrVersionNotGreater},
	}
	for _, tt := range tests {
		t.Run(tt.v, func(t *testing.T) {
			err := ValidateExplicit(latest, MustParseVersion(tt.v), existing)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateExplicit(%s) = %v", tt.v, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, tt.is) {
				t.Errorf("ValidateExplicit(%s) = %v, want %q wrapping %v", tt.v, err, tt.wantErr, tt.is)
			}
		})
	}
	if err := ValidateExplicit(nil, MustParseVersion("0.1.0"), nil); err != nil {
		t.Errorf("first explicit version: %v", err)
	}
	if err := ValidateExplicit(nil, Version{}, nil); err == nil {
		t.Error("0.0.0 accepted as the first version")
	}
}

func TestProposeMetricsOnly(t *testing.T) {
	data := &Data{Digest: FromBytes([]byte("train"))}
	latest := &ModelVersion{Version: MustParseVersion("1.2.0+data.3"), Data: data, Metrics: map[string]float64{"accuracy": 0.9, "auc": 0.8}}
	next := &ModelVersion{Data: data, Metrics: map[string]float64{"accuracy": 0.92, "f1": 0.7}}
	p := Propose(latest, next)
	if p.Bump != BumpPatch || p.Version.String() != "1.2.1+data.3" {
		t.Fatalf("Propose = %s %s, want patch 1.2.1+data.3", p.Bump, p.Version)
	}
	want := []string{
		`metric "accuracy" changed 0.9 → 0.92: re-validated`,
		`metric "auc" no longer reported (was 0.8): re-validated`,
		`metric "f1" added (0.7): re-validated`,
	}
	if strings.Join(p.Reasons, "\n") != strings.Join(want, "\n") {
		t.Errorf("reasons = %q, want %q", p.Reasons, want)
	}
	// Same metrics: nothing changed.
	if p := Propose(latest, &ModelVersion{Data: data, Metrics: latest.Metrics}); p.Bump != BumpNone {
		t.Errorf("same metrics: %s", p.Bump)
	}
}

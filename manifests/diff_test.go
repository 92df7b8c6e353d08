package manifests

import (
	"reflect"
	"testing"
)

func TestDiff(t *testing.T) {
	a := baseVersion()
	a.Framework = &Framework{Name: "pytorch", Version: "2.2"}
	a.Libraries = map[string]string{"numpy": "1.26.3"}
	a.Targets = []string{"staging"}
	b := baseVersion()
	b.Version = MustParseVersion("1.5.0+data.8")
	b.Artifacts.Weights.Digest = digestOf("w2")
	b.Artifacts.Weights.Size = 4
	b.Artifacts.Pipeline = nil
	b.Artifacts.Config = &Artifact{Path: "c.json", Digest: digestOf("c1"), MediaType: "application/json"}
	b.Data = &Data{Digest: digestOf("d2")}
	b.Features["country"] = "string"
	delete(b.Features, "merchant")
	b.Interface.Outputs["score"] = "double"
	b.Params["lr"] = 0.02
	b.Params["layers"] = []any{64, 32}
	b.Metrics = map[string]float64{"accuracy": 0.97, "latency_ms": 12}
	b.Framework = &Framework{Name: "pytorch", Version: "2.3"}
	b.Libraries = map[string]string{"numpy": "1.26.4"}
	b.Targets = []string{"staging", "production"}

	want := []Change{
		{Field: "artifacts.config", New: digestOf("c1").String(), Kind: ChangeAdded},
		{Field: "artifacts.pipeline", Old: digestOf("p1").String(), Kind: ChangeRemoved},
		{Field: "artifacts.weights.digest", Old: digestOf("w1").String(), New: digestOf("w2").String(), Kind: ChangeChanged},
		{Field: "artifacts.weights.size", Old: "2", New: "4", Kind: ChangeChanged},
		{Field: "data.digest", Old: digestOf("d1").String(), New: digestOf("d2").String(), Kind: ChangeChanged},
		{Field: "features.country", New: "string", Kind: ChangeAdded},
		{Field: "features.merchant", Old: "string", Kind: ChangeRemoved},
		{Field: "framework.version", Old: "2.2", New: "2.3", Kind: ChangeChanged},
		{Field: "interface.outputs.score", Old: "float", New: "double", Kind: ChangeChanged},
		{Field: "libraries.numpy", Old: "1.26.3", New: "1.26.4", Kind: ChangeChanged},
		{Field: "metrics.accuracy", Old: "0.960", New: "0.970 (+0.010, +1.0%)", Kind: ChangeChanged},
		{Field: "metrics.latency_ms", New: "12.000", Kind: ChangeAdded},
		{Field: "params.layers", New: "[64,32]", Kind: ChangeAdded},
		{Field: "params.lr", Old: "0.01", New: "0.02", Kind: ChangeChanged},
		{Field: "targets", Old: "staging", New: "staging, production", Kind: ChangeChanged},
		{Field: "version", Old: "1.4.2+data.7", New: "1.5.0+data.8", Kind: ChangeChanged},
	}
	got := Diff(a, b)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Diff:")
		for i := range max(len(got), len(want)) {
			var g, w Change
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if g != w {
				t.Errorf(" got %+v\nwant %+v", g, w)
			}
		}
	}
	if d := Diff(a, a); len(d) != 0 {
		t.Errorf("Diff(a, a) = %+v, want none", d)
	}
	if d := Diff(nil, a); len(d) == 0 || d[0].Kind != ChangeAdded {
		t.Errorf("Diff(nil, a) = %+v", d)
	}
}

func TestMetricDelta(t *testing.T) {
	tests := []struct {
		old, cur float64
		want     string
	}{
		{0.96, 0.97, "0.970 (+0.010, +1.0%)"},
		{120, 90, "90.000 (-30.000, -25.0%)"},
		{0, 1, "1.000 (+1.000)"},
		{-2, -1, "-1.000 (+1.000, +50.0%)"},
	}
	for _, tt := range tests {
		if got := formatMetricDelta(tt.old, tt.cur); got != tt.want {
			t.Errorf("formatMetricDelta(%v, %v) = %q, want %q", tt.old, tt.cur, got, tt.want)
		}
	}
}

func TestMetricDirection(t *testing.T) {
	m := &Model{Metrics: map[string]string{"loss_ratio": "higher", "accuracy": "lower"}}
	tests := []struct {
		model  *Model
		metric string
		want   string
	}{
		{nil, "accuracy", "higher"},
		{nil, "f1", "higher"},
		{nil, "val_loss", "lower"},
		{nil, "error_rate", "lower"},
		{nil, "latency_p95", "lower"},
		{nil, "RMSE", "lower"},
		{nil, "mae", "lower"},
		{nil, "perplexity", "lower"},
		{nil, "p99_ms", "lower"},
		{nil, "train_seconds", "lower"},
		{nil, "throughput", "higher"},
		{m, "loss_ratio", "higher"},
		{m, "accuracy", "lower"},
		{m, "auc", "higher"},
	}
	for _, tt := range tests {
		if got := MetricDirection(tt.model, tt.metric); got != tt.want {
			t.Errorf("MetricDirection(%v, %q) = %q, want %q", tt.model != nil, tt.metric, got, tt.want)
		}
	}
}

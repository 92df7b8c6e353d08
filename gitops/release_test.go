package gitops

import (
	"strconv"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/manifests"
)

func TestNextRelease(t *testing.T) {
	v1, v2 := manifests.MustParseVersion("1.0.0"), manifests.MustParseVersion("1.1.0+data.2")
	d1 := manifests.FromBytes([]byte("v1"))
	d2 := manifests.FromBytes([]byte("v2"))
	w := func(n int) *int { return &n }
	replaceV1 := &manifests.Release{Strategy: "replace", Versions: []manifests.ReleasedVersion{{Version: v1, Digest: d1}}}
	canary := &manifests.Release{Strategy: "canary", Versions: []manifests.ReleasedVersion{
		{Version: v1, Digest: d1, Role: "stable", Weight: w(90)}, {Version: v2, Digest: d2, Role: "canary", Weight: w(10)}}}
	blueGreen := &manifests.Release{Strategy: "blue-green", Versions: []manifests.ReleasedVersion{
		{Version: v1, Digest: d1, Role: "active", Weight: w(100)}, {Version: v2, Digest: d2, Role: "standby", Weight: w(0)}}}
	type want struct {
		strategy string
		versions string // "version/role/weight ..." in order
		match    string
	}
	tests := []struct {
		name    string
		cur     *manifests.Release
		change  ReleaseChange
		want    want
		wantErr string
	}{
		{name: "first replace", change: ReleaseChange{}, want: want{"replace", "1.1.0+data.2//-", ""}},
		{name: "replace", cur: replaceV1, change: ReleaseChange{Strategy: "replace"}, want: want{"replace", "1.1.0+data.2//-", ""}},
		{name: "canary 10", cur: replaceV1, change: ReleaseChange{Strategy: "canary", Weight: 10}, want: want{"canary", "1.0.0/stable/90 1.1.0+data.2/canary/10", ""}},
		{name: "canary raised", cur: canary, change: ReleaseChange{Strategy: "canary", Weight: 50}, want: want{"canary", "1.0.0/stable/50 1.1.0+data.2/canary/50", ""}},
		{name: "canary complete", cur: canary, change: ReleaseChange{Strategy: "canary", Weight: 100}, want: want{"replace", "1.1.0+data.2//-", ""}},
		{name: "canary needs a stable", change: ReleaseChange{Strategy: "canary", Weight: 10}, wantErr: "promote with --strategy replace first"},
		{name: "canary weight 0", cur: replaceV1, change: ReleaseChange{Strategy: "canary", Weight: 0}, wantErr: "want 1 to 100"},
		{name: "canary weight 101", cur: replaceV1, change: ReleaseChange{Strategy: "canary", Weight: 101}, wantErr: "want 1 to 100"},
		{name: "blue-green standby", cur: replaceV1, change: ReleaseChange{Strategy: "blue-green"}, want: want{"blue-green", "1.0.0/active/100 1.1.0+data.2/standby/0", ""}},
		{name: "blue-green switch", cur: blueGreen, change: ReleaseChange{Strategy: "blue-green", Switch: true}, want: want{"blue-green", "1.1.0+data.2/active/100 1.0.0/standby/0", ""}},
		{name: "switch without standby", cur: replaceV1, change: ReleaseChange{Strategy: "blue-green", Switch: true}, wantErr: "--switch needs a blue-green release"},
		{name: "ab", cur: replaceV1, change: ReleaseChange{Strategy: "ab", Match: "x-variant=b"}, want: want{"ab", "1.0.0/a/- 1.1.0+data.2/b/-", "x-variant=b"}},
		{name: "ab needs match", cur: replaceV1, change: ReleaseChange{Strategy: "ab"}, wantErr: "needs --match"},
		{name: "ab bad match", cur: replaceV1, change: ReleaseChange{Strategy: "ab", Match: "novalue"}, wantErr: `match "novalue" is not valid`},
		{name: "unknown strategy", cur: replaceV1, change: ReleaseChange{Strategy: "shadow"}, wantErr: `strategy "shadow" is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NextRelease(tt.cur, "fraud-detector", "production", v2, d2, tt.change)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var vs []string
			for _, v := range got.Versions {
				wt := "-"
				if v.Weight != nil {
					wt = strconv.Itoa(*v.Weight)
				}
				vs = append(vs, v.Version.String()+"/"+v.Role+"/"+wt)
			}
			if g := (want{got.Strategy, strings.Join(vs, " "), got.Match}); g != tt.want {
				t.Errorf("got %+v, want %+v", g, tt.want)
			}
			if got.Model != "fraud-detector" || got.Environment != "production" || got.Kind != manifests.KindRelease {
				t.Errorf("header = %q %q %q", got.Model, got.Environment, got.Kind)
			}
		})
	}
}

package render

import (
	"bytes"
	"strings"
	"testing"
)

// TestEnvironmentSubset: building a cluster over the subset of some
// models gives exactly their objects of the full build (the cluster's
// patches applied) and the Flux sync objects; with no model, the sync
// objects alone.
func TestEnvironmentSubset(t *testing.T) {
	files, err := All(testInput())
	if err != nil {
		t.Fatal(err)
	}
	full, err := BuildCluster(MapFS(files), "gpu-eu")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		models []string
		want   []string // models whose objects are there
	}{
		{[]string{"fraud", "pricing"}, []string{"fraud", "pricing"}},
		{[]string{"ranker"}, []string{"ranker"}},
		{nil, nil},
	} {
		subset, err := EnvironmentSubset(files, "production", tc.models)
		if err != nil {
			t.Fatal(err)
		}
		got, err := BuildCluster(MapFS(subset), "gpu-eu")
		if err != nil {
			t.Fatalf("building over the subset %v: %v", tc.models, err)
		}
		if err := Validate(got); err != nil {
			t.Errorf("subset %v: %v", tc.models, err)
		}
		var want []string
		for _, d := range splitYAML(full) {
			s := string(bytes.TrimSpace(d))
			keep := !strings.Contains(s, LabelName+":") // Flux's own objects
			for _, m := range tc.want {
				keep = keep || strings.Contains(s, LabelName+": "+m+"\n")
			}
			if keep {
				want = append(want, s)
			}
		}
		var have []string
		for _, d := range splitYAML(got) {
			have = append(have, string(bytes.TrimSpace(d)))
		}
		if len(want) < 2+len(tc.want) {
			t.Fatalf("the full build has %d objects for %v", len(want), tc.want)
		}
		if strings.Join(have, "\n---\n") != strings.Join(want, "\n---\n") {
			t.Errorf("subset %v built:\n%s\nwant the full build's objects of those models:\n%s", tc.models, strings.Join(have, "\n---\n"), strings.Join(want, "\n---\n"))
		}
	}
}

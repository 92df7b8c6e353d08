package manifests_test

import (
	"fmt"

	"github.com/modelgit/modelgit/manifests"
)

func ExampleParseVersion() {
	v, err := manifests.ParseVersion("1.4.0+data.7")
	if err != nil {
		panic(err)
	}
	fmt.Println(v.Major, v.Minor, v.Patch, v.Data)
	fmt.Println(v.NextMinor(), v.NextData())
	fmt.Println(v.Compare(manifests.MustParseVersion("1.4.0")))

	_, err = manifests.ParseVersion("1.4.0-rc.1")
	fmt.Println(err)
	// Output:
	// 1 4 0 7
	// 1.5.0+data.7 1.4.0+data.8
	// 1
	// invalid version "1.4.0-rc.1": prerelease versions are not supported; want MAJOR.MINOR.PATCH or MAJOR.MINOR.PATCH+data.N, e.g. 1.4.0+data.7
}

func ExamplePropose() {
	weights := manifests.FromBytes([]byte("weights v1"))
	latest := &manifests.ModelVersion{
		Model:     "fraud-detector",
		Version:   manifests.MustParseVersion("1.3.2+data.6"),
		Artifacts: manifests.Artifacts{Weights: &manifests.Artifact{Path: "model.pt", Digest: weights}},
		Data:      &manifests.Data{Digest: manifests.FromBytes([]byte("data v6"))},
		Features:  map[string]string{"amount": "float"},
		Params:    map[string]any{"lr": 0.01},
	}
	next := &manifests.ModelVersion{
		Model:     "fraud-detector",
		Artifacts: manifests.Artifacts{Weights: &manifests.Artifact{Path: "model.pt", Digest: manifests.FromBytes([]byte("weights v2"))}},
		Data:      &manifests.Data{Digest: manifests.FromBytes([]byte("data v7"))},
		Features:  map[string]string{"amount": "float", "country": "string"},
		Params:    map[string]any{"lr": 0.02},
	}
	p := manifests.Propose(latest, next)
	fmt.Println(p.Version, p.Bump)
	for _, r := range p.Reasons[:2] {
		fmt.Println(r)
	}
	// Output:
	// 1.4.0+data.7 minor
	// feature "country" added (string): additive schema change
	// hyperparameter "lr" changed 0.01 → 0.02
}

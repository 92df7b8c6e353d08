package render

import (
	"fmt"
	"time"

	"github.com/modelgit/modelgit/manifests"
)

func ptr[T any](v T) *T { return &v }

// testVersion makes a registered version whose weights digest depends on
// model and version.
func testVersion(model, version string) *manifests.ModelVersion {
	return &manifests.ModelVersion{
		APIVersion: manifests.APIVersion, Kind: manifests.KindModelVersion,
		Model:   model,
		Version: manifests.MustParseVersion(version),
		Artifacts: manifests.Artifacts{Weights: &manifests.Artifact{
			Path: "model.pt", Digest: manifests.FromBytes([]byte(model + "@" + version)), Size: 42, MediaType: "application/octet-stream",
		}},
		Framework:    &manifests.Framework{Name: "PyTorch", Version: "2.4"},
		RegisteredBy: "Ada <ada@example.com>",
		RegisteredAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

func pin(in *Input, model, version string, weight *int, role string) manifests.ReleasedVersion {
	mv := in.Versions[VersionKey(model, manifests.MustParseVersion(version))]
	if mv == nil {
		mv = testVersion(model, version)
		in.Versions[VersionKey(model, mv.Version)] = mv
	}
	d, err := manifests.VersionDigest(mv)
	if err != nil {
		panic(err)
	}
	return manifests.ReleasedVersion{Version: mv.Version, Digest: d, Weight: weight, Role: role}
}

// testInput is a repository with three environments, one release of each
// strategy, and two GPU clusters plus one without GPU defaults.
func testInput() Input {
	in := Input{
		Config: &manifests.Config{
			APIVersion: manifests.APIVersion, Kind: manifests.KindConfig,
			Store:        "file:///srv/modelgit",
			Environments: []manifests.Environment{{Name: "dev"}, {Name: "staging"}, {Name: "production", Branch: "release", Namespace: "models"}},
			Clusters: []manifests.Cluster{
				{Name: "dev-1", Environment: "dev"},
				{Name: "gpu-eu", Environment: "production", GPU: &manifests.GPU{
					Resource: "nvidia.com/gpu", Count: 2,
					NodeSelector:     map[string]string{"nvidia.com/gpu.product": "A100", "pool": "gpu"},
					Tolerations:      []manifests.Toleration{{Key: "nvidia.com/gpu", Operator: "Exists", Effect: "NoSchedule"}},
					RuntimeClassName: "nvidia",
				}},
				{Name: "staging-1", Environment: "staging", GPU: &manifests.GPU{Resource: "amd.com/gpu", Count: 1}},
			},
		},
		Models:   map[string]*manifests.Model{},
		Versions: map[string]*manifests.ModelVersion{},
		RepoURL:  "ssh://git@github.com/acme/models.git",
	}
	image := &manifests.Serving{Image: "ghcr.io/acme/serve:1.2", Port: 9000, Format: "onnx"}
	for _, m := range []struct {
		name    string
		serving *manifests.Serving
	}{
		{"fraud", &manifests.Serving{Format: "sklearn"}},
		{"ranker", nil},
		{"search", image},
		{"pricing", image},
		{"3d-vision", &manifests.Serving{Runtime: "deployment", Image: "ghcr.io/acme/vision:3"}},
	} {
		in.Models[m.name] = &manifests.Model{APIVersion: manifests.APIVersion, Kind: manifests.KindModel, Name: m.name, Serving: m.serving}
	}
	rel := func(model, env, strategy, match string, vs ...manifests.ReleasedVersion) *manifests.Release {
		return &manifests.Release{APIVersion: manifests.APIVersion, Kind: manifests.KindRelease, Model: model, Environment: env, Strategy: strategy, Versions: vs, Match: match}
	}
	for _, env := range []string{"dev", "staging", "production"} {
		in.Releases = append(in.Releases,
			rel("fraud", env, manifests.StrategyReplace, "", pin(&in, "fraud", "1.4.0+data.7", nil, "")),
			rel("ranker", env, manifests.StrategyCanary, "", pin(&in, "ranker", "2.0.0", ptr(90), "stable"), pin(&in, "ranker", "2.1.0", ptr(10), "canary")),
			rel("search", env, manifests.StrategyBlueGreen, "", pin(&in, "search", "1.1.0", nil, "standby"), pin(&in, "search", "1.2.0", nil, "active")),
			rel("pricing", env, manifests.StrategyAB, "x-variant=b", pin(&in, "pricing", "3.0.0", nil, "a"), pin(&in, "pricing", "3.1.0", nil, "b")),
			rel("3d-vision", env, manifests.StrategyCanary, "", pin(&in, "3d-vision", "0.9.0", ptr(75), ""), pin(&in, "3d-vision", "1.0.0", ptr(25), "")),
		)
	}
	return in
}

// bigInput is a repository of n models with replace releases in one
// environment served by a GPU cluster, as for benchmarks.
func bigInput(n int) Input {
	in := testInput()
	in.Releases = nil
	for i := range n {
		name := fmt.Sprintf("model-%04d", i)
		serving := &manifests.Serving{Format: "pytorch"}
		strategy := manifests.StrategyReplace
		if i%4 == 3 {
			serving = &manifests.Serving{Image: "ghcr.io/acme/serve:1.2"}
			strategy = manifests.StrategyBlueGreen
		}
		in.Models[name] = &manifests.Model{APIVersion: manifests.APIVersion, Kind: manifests.KindModel, Name: name, Serving: serving}
		in.Releases = append(in.Releases, &manifests.Release{
			APIVersion: manifests.APIVersion, Kind: manifests.KindRelease, Model: name, Environment: "production",
			Strategy: strategy, Versions: []manifests.ReleasedVersion{pin(&in, name, "1.0.0", nil, "")},
		})
	}
	return in
}

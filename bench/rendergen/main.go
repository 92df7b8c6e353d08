// Command rendergen writes a synthetic GitOps repository of N models with
// package render, or builds one of its clusters the way `modelgit render
// --cluster` does, for bench/render.sh to time against `kustomize build`.
//
//	rendergen -out DIR [-n 1000]        write rendered/ and clusters/ under DIR
//	rendergen -build CLUSTER -out DIR   print BuildCluster's output for DIR
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/modelgit/modelgit/gitops/render"
	"github.com/modelgit/modelgit/manifests"
)

func main() {
	n := flag.Int("n", 1000, "number of models")
	out := flag.String("out", "", "repository directory")
	build := flag.String("build", "", "build this cluster of -out instead of writing")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "rendergen: -out is required")
		os.Exit(2)
	}
	if err := run(*n, *out, *build); err != nil {
		fmt.Fprintln(os.Stderr, "rendergen:", err)
		os.Exit(1)
	}
}

func run(n int, out, build string) error {
	if build != "" {
		b, err := render.BuildCluster(os.DirFS(out), build)
		if err != nil {
			return err
		}
		_, err = os.Stdout.Write(b)
		return err
	}
	files, err := render.All(input(n))
	if err != nil {
		return err
	}
	return render.Write(out, files)
}

// input is n models released in production, a quarter of them blue-green
// Deployments and the rest KServe InferenceServices, on one GPU cluster.
func input(n int) render.Input {
	in := render.Input{
		Config: &manifests.Config{
			APIVersion: manifests.APIVersion, Kind: manifests.KindConfig,
			Store:        "file:///srv/modelgit",
			Environments: []manifests.Environment{{Name: "production"}},
			Clusters: []manifests.Cluster{{Name: "gpu", Environment: "production", GPU: &manifests.GPU{
				Resource: "nvidia.com/gpu", Count: 1,
				NodeSelector:     map[string]string{"pool": "gpu"},
				Tolerations:      []manifests.Toleration{{Key: "nvidia.com/gpu", Operator: "Exists", Effect: "NoSchedule"}},
				RuntimeClassName: "nvidia",
			}}},
		},
		Models:   map[string]*manifests.Model{},
		Versions: map[string]*manifests.ModelVersion{},
		RepoURL:  "https://github.com/acme/models.git",
	}
	for i := range n {
		name := fmt.Sprintf("model-%04d", i)
		serving := &manifests.Serving{Format: "pytorch"}
		strategy := manifests.StrategyReplace
		if i%4 == 3 {
			serving = &manifests.Serving{Image: "ghcr.io/acme/serve:1.2"}
			strategy = manifests.StrategyBlueGreen
		}
		mv := &manifests.ModelVersion{
			APIVersion: manifests.APIVersion, Kind: manifests.KindModelVersion,
			Model: name, Version: manifests.MustParseVersion("1.0.0"),
			Artifacts: manifests.Artifacts{Weights: &manifests.Artifact{
				Path: "model.pt", Digest: manifests.FromBytes([]byte(name)), Size: 1, MediaType: "application/octet-stream",
			}},
			RegisteredBy: "bench", RegisteredAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		}
		d, err := manifests.VersionDigest(mv)
		if err != nil {
			panic(err)
		}
		in.Models[name] = &manifests.Model{APIVersion: manifests.APIVersion, Kind: manifests.KindModel, Name: name, Serving: serving}
		in.Versions[render.VersionKey(name, mv.Version)] = mv
		in.Releases = append(in.Releases, &manifests.Release{
			APIVersion: manifests.APIVersion, Kind: manifests.KindRelease, Model: name, Environment: "production",
			Strategy: strategy, Versions: []manifests.ReleasedVersion{{Version: mv.Version, Digest: d}},
		})
	}
	return in
}

// Command rendergen writes a synthetic modelgit repository of N models
// released in production on one GPU cluster, or builds one of its
// clusters from the files on disk, for bench/render.sh to time `modelgit
// render --cluster` against `kustomize build`.
//
//	rendergen -out DIR [-n 1000]        write the repository's files under DIR
//	rendergen -build CLUSTER -out DIR   print render.BuildCluster's output for DIR
//
// The files are what modelgit reads and writes: modelgit.yaml,
// models/<m>/model.yaml, models/<m>/versions/<v>.yaml,
// environments/production/<m>.yaml, and what they render to, rendered/
// and clusters/. Committed (plain `git add -A && git commit`; render does
// not check signatures), DIR is a repository `modelgit render` accepts.
package main

import (
	"flag"
	"fmt"
	"os"
	"path"
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
	in := input(n)
	files, err := render.All(in)
	if err != nil {
		return err
	}
	sources, err := sourceFiles(in)
	if err != nil {
		return err
	}
	// render.Write writes inside an existing directory (an os.Root), as
	// it does in a clone's work tree.
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	return render.Write(out, append(sources, files...))
}

// sourceFiles are the files modelgit renders from: modelgit.yaml, each
// model's model.yaml and version manifest, and the production releases,
// as modelgit marshals them (so a version's digest is its file's).
func sourceFiles(in render.Input) ([]render.File, error) {
	var files []render.File
	add := func(p string, v any) error {
		b, err := manifests.Marshal(v)
		if err != nil {
			return fmt.Errorf("marshalling %s: %w", p, err)
		}
		files = append(files, render.File{Path: p, Content: b})
		return nil
	}
	if err := add("modelgit.yaml", in.Config); err != nil {
		return nil, err
	}
	for _, rel := range in.Releases {
		m := rel.Model
		if err := add(path.Join("models", m, "model.yaml"), in.Models[m]); err != nil {
			return nil, err
		}
		for _, rv := range rel.Versions {
			if err := add(path.Join("models", m, "versions", rv.Version.String()+".yaml"), in.Versions[render.VersionKey(m, rv.Version)]); err != nil {
				return nil, err
			}
		}
		if err := add(path.Join("environments", rel.Environment, m+".yaml"), rel); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// input is n models released in production, a quarter of them blue-green
// Deployments and the rest KServe InferenceServices, on one GPU cluster.
func input(n int) render.Input {
	in := render.Input{
		Config: &manifests.Config{
			APIVersion: manifests.APIVersion, Kind: manifests.KindConfig,
			Store:        "file://.modelgit/store",
			Environments: []manifests.Environment{{Name: "production"}},
			// The clone URL Flux follows is the forge's, as modelgit
			// computes it from modelgit.yaml.
			Forge: &manifests.Forge{Type: "github", Repository: "acme/models"},
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

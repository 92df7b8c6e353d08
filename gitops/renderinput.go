package gitops

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/modelgit/modelgit/gitops/render"
	"github.com/modelgit/modelgit/gitops/repo"
	"github.com/modelgit/modelgit/manifests"
)

// renderInput reads what rendering needs as committed at rev: the models,
// every environment's releases and the versions they pin. overrides
// replace (or add) releases, the ones a promotion is about to write.
func (r *Registry) renderInput(rev plumbing.Hash, overrides ...*manifests.Release) (render.Input, error) {
	return r.renderInputEnvs(rev, nil, overrides...)
}

// renderInputEnvs is renderInput restricted to the releases of envs (nil:
// all) and the models and versions they use: what rendering those
// environments and their clusters needs, at a cost that does not grow
// with the other environments.
func (r *Registry) renderInputEnvs(rev plumbing.Hash, envs map[string]bool, overrides ...*manifests.Release) (render.Input, error) {
	in := render.Input{
		Config:   r.config,
		Models:   map[string]*manifests.Model{},
		Versions: map[string]*manifests.ModelVersion{},
		RepoURL:  r.fluxRepoURL(),
	}
	if rev.IsZero() {
		return in, nil
	}
	models, err := r.listDir(rev, ModelsDir)
	if err != nil {
		return in, err
	}
	if envs != nil {
		models = nil // read below, for the releases that use them
	}
	for _, m := range models {
		if manifests.ValidName(m) != nil {
			continue
		}
		raw, err := r.repo.ReadFile(rev, ModelFile(m))
		if err != nil {
			continue // a model registered without model.yaml renders with defaults
		}
		model, err := manifests.ParseModel(ModelFile(m), raw)
		if err != nil {
			return in, err
		}
		in.Models[m] = model
	}
	for _, env := range r.config.Environments {
		if envs != nil && !envs[env.Name] {
			continue
		}
		files, err := r.listDir(rev, EnvironmentsDir+"/"+env.Name)
		if err != nil {
			return in, err
		}
		for _, f := range files {
			model, ok := strings.CutSuffix(f, ".yaml")
			if !ok {
				continue
			}
			if slices.ContainsFunc(overrides, func(o *manifests.Release) bool { return o.Environment == env.Name && o.Model == model }) {
				continue
			}
			p := ReleaseFile(env.Name, model)
			raw, err := r.repo.ReadFile(rev, p)
			if err != nil {
				return in, err
			}
			rel, err := manifests.ParseRelease(p, raw)
			if err != nil {
				return in, brokenRelease(p, err)
			}
			in.Releases = append(in.Releases, rel)
		}
	}
	in.Releases = append(in.Releases, overrides...)
	for _, rel := range in.Releases {
		if _, ok := in.Models[rel.Model]; ok || envs == nil {
			continue
		}
		raw, err := r.repo.ReadFile(rev, ModelFile(rel.Model))
		if err != nil {
			continue // a model registered without model.yaml renders with defaults
		}
		model, err := manifests.ParseModel(ModelFile(rel.Model), raw)
		if err != nil {
			return in, err
		}
		in.Models[rel.Model] = model
	}
	for _, rel := range in.Releases {
		for _, rv := range rel.Versions {
			key := render.VersionKey(rel.Model, rv.Version)
			if _, ok := in.Versions[key]; ok {
				continue
			}
			p := ReleaseFile(rel.Environment, rel.Model)
			v, err := r.pinnedVersion(rev, p, rel.Model, rv.Version)
			if err != nil {
				return in, err
			}
			if v.Digest != rv.Digest {
				return in, brokenRelease(p, fmt.Errorf("%s: version %s is pinned with digest %s but its manifest hashes to %s", p, rv.Version, rv.Digest.Short(), v.Digest.Short()))
			}
			in.Versions[key] = v.Manifest
		}
	}
	return in, nil
}

// renderFiles renders the environment env and its clusters.
func (r *Registry) renderFiles(in render.Input, env string) ([]render.File, error) {
	files, err := render.Environment(in, env)
	if err != nil {
		return nil, err
	}
	for _, c := range r.config.Clusters {
		if c.Environment != env {
			continue
		}
		if in.RepoURL == "" {
			return nil, noFluxURLError(c.Name)
		}
		cf, err := render.Cluster(in, c.Name)
		if err != nil {
			return nil, err
		}
		files = append(files, cf...)
	}
	return files, nil
}

// FluxURLHelp says how to give Flux a clone URL to follow when neither
// modelgit.yaml's forge nor an origin remote names one.
const FluxURLHelp = "add a git remote origin (git remote add origin URL) or set forge.repository in modelgit.yaml (modelgit init --github OWNER/NAME)"

// noFluxURLError is the error for rendering cluster without a clone URL.
func noFluxURLError(cluster string) error {
	return fmt.Errorf("rendering cluster %q: no repository URL for Flux's GitRepository to clone: %s, then run the same command again", cluster, FluxURLHelp)
}

// renderAll is render.All over in, after checking that the clusters, if
// any, have a clone URL to follow.
func (r *Registry) renderAll(in render.Input) ([]render.File, error) {
	if in.RepoURL == "" && len(r.config.Clusters) > 0 {
		return nil, noFluxURLError(r.config.Clusters[0].Name)
	}
	return render.All(in)
}

// fluxRepoURL is the clone URL Flux's GitRepository follows: the forge's
// repository when modelgit.yaml names one, else the origin remote (with
// any credentials stripped), else "" (rendering then says what is
// missing).
func (r *Registry) fluxRepoURL() string {
	return fluxURL(r.config, r.repo)
}

// fluxURL is fluxRepoURL for a configuration and a repository.
func fluxURL(cfg *manifests.Config, rp *repo.Repo) string {
	origin := ""
	if remote, err := rp.Git.Remote("origin"); err == nil && len(remote.Config().URLs) > 0 {
		origin = remote.Config().URLs[0]
	}
	return render.FluxURL(cfg, origin)
}

// Render renders every environment and cluster from the releases
// committed at HEAD.
func (r *Registry) Render() ([]render.File, error) {
	head, err := r.head()
	if err != nil {
		return nil, err
	}
	in, err := r.renderInput(head)
	if err != nil {
		return nil, err
	}
	return r.renderAll(in)
}

// StaleFile is a generated file whose committed content differs from
// what rendering produces.
type StaleFile struct {
	Path string `json:"path"`
	// Missing is true when the file is not committed at all.
	Missing bool `json:"missing"`
}

// CheckRendered compares rendered/ and clusters/ at HEAD with what the
// releases render to; it returns the files that differ. The files of an
// environment nothing was promoted to yet (and of its clusters) may be
// absent: they would deploy nothing, and the first promotion there writes
// them.
func (r *Registry) CheckRendered() ([]StaleFile, error) {
	head, err := r.head()
	if err != nil {
		return nil, err
	}
	if head.IsZero() {
		return nil, fmt.Errorf("checking rendered files: the branch has no commit yet; commit what modelgit init wrote first")
	}
	return r.checkRenderedAt(head, nil)
}

// checkRenderedAt is CheckRendered at any revision, for the environments
// in envs (and their clusters) or, with nil, all of them: Check runs it on
// a pull request's head for the environments the pull request affects.
func (r *Registry) checkRenderedAt(head plumbing.Hash, envs map[string]bool) ([]StaleFile, error) {
	in, err := r.renderInputEnvs(head, envs)
	if err != nil {
		return nil, err
	}
	var files []render.File
	if envs == nil {
		files, err = r.renderAll(in)
	} else {
		for _, e := range r.config.Environments {
			if !envs[e.Name] {
				continue
			}
			fs, err := r.renderFiles(in, e.Name)
			if err != nil {
				return nil, err
			}
			files = append(files, fs...)
		}
	}
	if err != nil {
		return nil, err
	}
	unused := map[string]bool{} // directories of environments without releases
	for _, e := range r.config.Environments {
		if envs != nil && !envs[e.Name] {
			continue
		}
		if !slices.ContainsFunc(in.Releases, func(rel *manifests.Release) bool { return rel.Environment == e.Name }) {
			unused[path.Join(RenderedDir, e.Name)] = true
			for _, c := range r.config.Clusters {
				if c.Environment == e.Name {
					unused[render.ClusterDir(c.Name)] = true
				}
			}
		}
	}
	inUnused := func(p string) bool {
		for d := range unused {
			if strings.HasPrefix(p, d+"/") {
				return true
			}
		}
		return false
	}
	var stale []StaleFile
	for _, f := range files {
		cur, err := r.repo.ReadFile(head, f.Path)
		switch {
		case errors.Is(err, fs.ErrNotExist) && inUnused(f.Path):
		case errors.Is(err, fs.ErrNotExist):
			stale = append(stale, StaleFile{Path: f.Path, Missing: true})
		case err != nil:
			return nil, err
		case !bytes.Equal(cur, f.Content):
			stale = append(stale, StaleFile{Path: f.Path})
		}
	}
	return stale, nil
}

// WriteRendered writes what the releases at HEAD render to into the work
// tree (each file through a temp file and a rename) and returns the paths
// that changed.
func (r *Registry) WriteRendered() ([]string, error) {
	stale, err := r.CheckRendered()
	if err != nil || len(stale) == 0 {
		return nil, err
	}
	files, err := r.Render()
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	var paths []string
	for _, s := range stale {
		want[s.Path] = true
		paths = append(paths, s.Path)
	}
	var out []render.File
	for _, f := range files {
		if want[f.Path] {
			out = append(out, f)
		}
	}
	return paths, render.Write(r.repo.Root, out)
}

// BuildCluster returns the Kubernetes objects Flux applies on cluster:
// what `kustomize build clusters/<cluster>` prints over the rendered tree.
// An undeclared cluster is refused first, listing the declared ones.
func (r *Registry) BuildCluster(cluster string) ([]byte, error) {
	if !slices.ContainsFunc(r.config.Clusters, func(c manifests.Cluster) bool { return c.Name == cluster }) {
		var names []string
		for _, c := range r.config.Clusters {
			names = append(names, c.Name)
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("building cluster %q: %s declares no clusters; add one under clusters: (name, environment, gpu)", cluster, ConfigFile)
		}
		return nil, fmt.Errorf("building cluster %q: not declared in %s; declared clusters: %s", cluster, ConfigFile, strings.Join(names, ", "))
	}
	files, err := r.Render()
	if err != nil {
		return nil, err
	}
	return render.BuildCluster(render.MapFS(files), cluster)
}

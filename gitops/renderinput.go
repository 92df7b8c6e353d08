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
func (r *Repository) RenderInput(rev plumbing.Hash, overrides ...*manifests.Release) (render.Input, error) {
	return r.RenderInputEnvs(rev, nil, overrides...)
}

// renderInputEnvs is renderInput restricted to the releases of envs (nil:
// all) and the models and versions they use: what rendering those
// environments and their clusters needs, at a cost that does not grow
// with the other environments.
func (r *Repository) RenderInputEnvs(rev plumbing.Hash, envs map[string]bool, overrides ...*manifests.Release) (render.Input, error) {
	in := render.Input{
		Config:   r.config,
		Models:   map[string]*manifests.Model{},
		Versions: map[string]*manifests.ModelVersion{},
		RepoURL:  r.fluxRepoURL(),
	}
	if rev.IsZero() {
		return in, nil
	}
	var models []string
	if envs == nil {
		// Every model; with envs, only those the releases use (below).
		var err error
		if models, err = r.ListDir(rev, manifests.ModelsDir); err != nil {
			return in, err
		}
	}
	for _, m := range models {
		if manifests.ValidName(m) != nil {
			continue
		}
		if err := r.readRenderModel(rev, m, in.Models); err != nil {
			return in, err
		}
	}
	releases, err := r.readReleases(rev, envs, overrides, in.Versions)
	if err != nil {
		return in, err
	}
	in.Releases = append(releases, overrides...)
	for _, rel := range in.Releases {
		if _, ok := in.Models[rel.Model]; ok || envs == nil {
			continue
		}
		if err := r.readRenderModel(rev, rel.Model, in.Models); err != nil {
			return in, err
		}
	}
	return in, r.pinReleasedVersions(rev, &in)
}

// readRenderModel reads models/<m>/model.yaml at rev into models; a model
// registered without model.yaml renders with defaults.
func (r *Repository) readRenderModel(rev plumbing.Hash, m string, models map[string]*manifests.Model) error {
	raw, err := r.repo.ReadFile(rev, manifests.ModelFile(m))
	if err != nil {
		return nil
	}
	model, err := manifests.ParseModel(manifests.ModelFile(m), raw)
	if err != nil {
		return err
	}
	models[m] = model
	return nil
}

// readReleases reads and validates the release files of the environments
// envs (nil: all) at rev, but for those overrides replace, and adds the
// manifests of the versions they pin to versions.
func (r *Repository) readReleases(rev plumbing.Hash, envs map[string]bool, overrides []*manifests.Release, versions map[string]*manifests.ModelVersion) ([]*manifests.Release, error) {
	var out []*manifests.Release
	for _, env := range r.config.Environments {
		if envs != nil && !envs[env.Name] {
			continue
		}
		files, err := r.ListDir(rev, manifests.EnvironmentsDir+"/"+env.Name)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			model, ok := strings.CutSuffix(f, ".yaml")
			if !ok {
				continue
			}
			if slices.ContainsFunc(overrides, func(o *manifests.Release) bool { return o.Environment == env.Name && o.Model == model }) {
				continue
			}
			p := manifests.ReleaseFile(env.Name, model)
			raw, err := r.repo.ReadFile(rev, p)
			if err != nil {
				return nil, err
			}
			rel, refs, err := r.ValidRelease(rev, p, raw)
			if err != nil {
				return nil, BrokenRelease(p, err)
			}
			out = append(out, rel)
			for _, v := range refs {
				versions[render.VersionKey(rel.Model, v.Manifest.Version)] = v.Manifest
			}
		}
	}
	return out, nil
}

// pinReleasedVersions reads the manifest of every version in.Releases
// pins, checking it hashes to the pinned digest.
func (r *Repository) pinReleasedVersions(rev plumbing.Hash, in *render.Input) error {
	for _, rel := range in.Releases {
		for _, rv := range rel.Versions {
			key := render.VersionKey(rel.Model, rv.Version)
			if _, ok := in.Versions[key]; ok {
				continue
			}
			p := manifests.ReleaseFile(rel.Environment, rel.Model)
			v, err := r.PinnedVersion(rev, p, rel.Model, rv.Version)
			if err != nil {
				return err
			}
			if v.Digest != rv.Digest {
				return BrokenRelease(p, fmt.Errorf("%s: version %s is pinned with digest %s but its manifest hashes to %s", p, rv.Version, rv.Digest.Short(), v.Digest.Short()))
			}
			in.Versions[key] = v.Manifest
		}
	}
	return nil
}

// RenderFiles renders the environment env and its clusters.
func (r *Repository) RenderFiles(in render.Input, env string) ([]render.File, error) {
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
const FluxURLHelp = "set flux.url in modelgit.yaml to the URL your clusters clone this repository from (modelgit init --flux-url URL), or set forge.repository (modelgit init --github OWNER/NAME), or add a git remote origin Flux can clone (git remote add origin URL)"

// noFluxURLError is the error for rendering cluster without a clone URL.
func noFluxURLError(cluster string) error {
	return fmt.Errorf("rendering cluster %q: no repository URL for Flux's GitRepository to clone: %s, then run the same command again", cluster, FluxURLHelp)
}

// renderAll is render.All over in, after checking that the clusters, if
// any, have a clone URL to follow.
func (r *Repository) RenderAll(in render.Input) ([]render.File, error) {
	if in.RepoURL == "" && len(r.config.Clusters) > 0 {
		return nil, noFluxURLError(r.config.Clusters[0].Name)
	}
	return render.All(in)
}

// fluxRepoURL is the clone URL Flux's GitRepository follows: the forge's
// repository when modelgit.yaml names one, else the origin remote (with
// any credentials stripped), else "" (rendering then says what is
// missing).
func (r *Repository) fluxRepoURL() string {
	return FluxURL(r.config, r.repo)
}

// FluxURL is fluxRepoURL for a configuration and a repository.
func FluxURL(cfg *manifests.Config, rp *repo.Repo) string {
	origin, _ := rp.RemoteURL("origin")
	return render.FluxURL(cfg, origin)
}

// Render renders every environment and cluster from the releases
// committed at HEAD.
func (r *Repository) Render() ([]render.File, error) {
	head, err := r.Head()
	if err != nil {
		return nil, err
	}
	in, err := r.RenderInput(head)
	if err != nil {
		return nil, err
	}
	return r.RenderAll(in)
}

// StaleFile is a generated file whose committed content differs from
// what rendering produces.
type StaleFile struct {
	Path string `json:"path"`
	// Missing is true when the file is not committed at all.
	Missing bool `json:"missing"`
	// Extra is true when the file is committed but no release renders to
	// it any more (its release was removed): render deletes it.
	Extra bool `json:"extra"`
}

// Problem says what is wrong with the file.
func (s StaleFile) Problem() string {
	switch {
	case s.Missing:
		return "is missing"
	case s.Extra:
		return "is left from a removed release"
	}
	return "differs from what the releases render to"
}

// StaleRendered compares rendered/ and clusters/ at HEAD with what the
// releases render to; it returns the files that differ. The files of an
// environment nothing was promoted to yet (and of its clusters) may be
// absent: they would deploy nothing, and the first promotion there writes
// them.
func (r *Repository) StaleRendered() ([]StaleFile, error) {
	head, err := r.Head()
	if err != nil {
		return nil, err
	}
	if head.IsZero() {
		return nil, fmt.Errorf("checking rendered files: the branch has no commit yet; commit what modelgit init wrote first")
	}
	return r.StaleRenderedAt(head, nil)
}

// StaleRenderedAt is StaleRendered at any revision, for the environments
// in envs (and their clusters) or, with nil, all of them: Check runs it on
// a pull request's head for the environments the pull request affects.
func (r *Repository) StaleRenderedAt(head plumbing.Hash, envs map[string]bool) ([]StaleFile, error) {
	in, err := r.RenderInputEnvs(head, envs)
	if err != nil {
		return nil, err
	}
	var files []render.File
	if envs == nil {
		files, err = r.RenderAll(in)
	} else {
		for _, e := range r.config.Environments {
			if !envs[e.Name] {
				continue
			}
			fs, err := r.RenderFiles(in, e.Name)
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
			unused[path.Join(manifests.RenderedDir, e.Name)] = true
			for _, c := range r.config.Clusters {
				if c.Environment == e.Name {
					unused[manifests.ClusterDir(c.Name)] = true
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
	expected := map[string]bool{}
	for _, f := range files {
		expected[f.Path] = true
	}
	// A rendered file no release renders to any more is stale too: left
	// behind, it would look applied while Flux prunes its objects.
	for _, e := range r.config.Environments {
		if envs != nil && !envs[e.Name] {
			continue
		}
		dir := path.Join(manifests.RenderedDir, e.Name)
		names, err := r.repo.ListDir(head, dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		for _, n := range names {
			if p := path.Join(dir, n); strings.HasSuffix(n, ".yaml") && !expected[p] {
				stale = append(stale, StaleFile{Path: p, Extra: true})
			}
		}
	}
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
// tree (each file through a temp file and a rename), deletes the rendered
// files of removed releases, and returns the files that changed.
func (r *Repository) WriteRendered() ([]StaleFile, error) {
	stale, err := r.StaleRendered()
	if err != nil || len(stale) == 0 {
		return nil, err
	}
	files, err := r.Render()
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, s := range stale {
		want[s.Path] = true
		if s.Extra {
			if err := r.repo.RemoveWorktreeFile(s.Path); err != nil {
				return nil, err
			}
		}
	}
	// Through the work tree's os.Root, refusing symbolic links in
	// rendered/ and clusters/: a link there cannot send a write elsewhere.
	for _, f := range files {
		if want[f.Path] {
			if err := r.repo.WriteWorktreeFile(f.Path, f.Content, 0o644); err != nil {
				return nil, err
			}
		}
	}
	return stale, nil
}

// BuildCluster returns the Kubernetes objects Flux applies on cluster:
// what `kustomize build clusters/<cluster>` prints over the rendered tree.
// An undeclared cluster is refused first, listing the declared ones.
func (r *Repository) BuildCluster(cluster string) ([]byte, error) {
	if !slices.ContainsFunc(r.config.Clusters, func(c manifests.Cluster) bool { return c.Name == cluster }) {
		var names []string
		for _, c := range r.config.Clusters {
			names = append(names, c.Name)
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("building cluster %q: %s declares no clusters; add one under clusters: (name, environment, gpu)", cluster, manifests.ConfigFile)
		}
		return nil, fmt.Errorf("building cluster %q: not declared in %s; declared clusters: %s", cluster, manifests.ConfigFile, strings.Join(names, ", "))
	}
	files, err := r.Render()
	if err != nil {
		return nil, err
	}
	return render.BuildCluster(render.MapFS(files), cluster)
}

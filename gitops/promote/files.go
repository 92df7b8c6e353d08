package promote

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

// promotionFiles is the new release files plus everything rendered for
// their environment and its clusters, and the input they were rendered
// from.
func (r *repository) promotionFiles(head plumbing.Hash, env string, rels []*manifests.Release) ([]repo.File, render.Input, error) {
	in, err := r.RenderInput(head, rels...)
	if err != nil {
		return nil, in, err
	}
	rendered, err := r.RenderFiles(in, env)
	if err != nil {
		return nil, in, err
	}
	var files []repo.File
	for _, rel := range rels {
		raw, err := manifests.Marshal(rel)
		if err != nil {
			return nil, in, err
		}
		files = append(files, repo.File{Path: manifests.ReleaseFile(rel.Environment, rel.Model), Content: raw})
	}
	for _, f := range rendered {
		files = append(files, repo.File{Path: f.Path, Content: f.Content})
	}
	return files, in, nil
}

// changesARelease reports whether changed holds a release file of env.
func changesARelease(changed []repo.File, env string) bool {
	for _, f := range changed {
		if path.Dir(f.Path) == manifests.EnvironmentsDir+"/"+env {
			return true
		}
	}
	return false
}

// envClusters are the clusters of modelgit.yaml that run env.
func envClusters(cfg *manifests.Config, env string) []manifests.Cluster {
	var out []manifests.Cluster
	for _, c := range cfg.Clusters {
		if c.Environment == env {
			out = append(out, c)
		}
	}
	return out
}

// validateRendered checks the objects a promotion changes as each cluster
// of env receives them: the cluster is built (render.BuildCluster, GPU
// patches applied) over the changed rendered files of env alone
// (render.EnvironmentSubset) and validated against the objects' schemas
// (render.Validate), so an object a cluster would refuse is an error,
// naming the object and field, before anything is committed. The files
// that do not change were validated when they were committed; leaving
// them out keeps the cost in proportion to the promotion, not to the
// environment. Without a cluster, the changed files are validated as
// they are.
func validateRendered(cfg *manifests.Config, env string, files, changed []repo.File) error {
	var models []string
	var objs []repo.File
	flux := false
	for _, f := range changed {
		dir, name := path.Split(f.Path)
		switch {
		case dir == manifests.RenderedDir+"/"+env+"/" && name != "kustomization.yaml":
			models = append(models, strings.TrimSuffix(name, ".yaml"))
			objs = append(objs, f)
		case strings.HasPrefix(f.Path, manifests.ClustersDir+"/") && name == "gotk-sync.yaml":
			flux = true
		}
	}
	if len(models) == 0 && !flux {
		return nil
	}
	clusters := envClusters(cfg, env)
	if len(clusters) == 0 {
		for _, f := range objs {
			if err := render.Validate(f.Content); err != nil {
				model := strings.TrimSuffix(path.Base(f.Path), ".yaml")
				return fmt.Errorf("%s: %w; fix what it is rendered from: %s (or %s)", f.Path, err, manifests.ReleaseFile(env, model), manifests.ModelFile(model))
			}
		}
		return nil
	}
	all := make([]render.File, 0, len(files))
	for _, f := range files {
		all = append(all, render.File{Path: f.Path, Content: f.Content})
	}
	subset, err := render.EnvironmentSubset(all, env, models)
	if err != nil {
		return err
	}
	fsys := render.MapFS(subset)
	for _, c := range clusters {
		built, err := render.BuildCluster(fsys, c.Name)
		if err != nil {
			return err
		}
		if err := render.Validate(built); err != nil {
			return fmt.Errorf("the objects of cluster %q (modelgit render --cluster %s): %w; %s", c.Name, c.Name, err, blameInvalid(env, c.Name, objs))
		}
	}
	return nil
}

// blameInvalid says where to fix objects of a cluster that do not
// validate: the releases whose rendered files do not validate on their
// own, else the cluster's GPU defaults, which the cluster patches in.
func blameInvalid(env, cluster string, objs []repo.File) string {
	var sources []string
	for _, f := range objs {
		if render.Validate(f.Content) != nil {
			model := strings.TrimSuffix(path.Base(f.Path), ".yaml")
			sources = append(sources, manifests.ReleaseFile(env, model)+" (or "+manifests.ModelFile(model)+")")
		}
	}
	if len(sources) == 0 {
		return fmt.Sprintf("fix the gpu block of cluster %q in modelgit.yaml, whose defaults every object there gets", cluster)
	}
	return "fix what they are rendered from: " + strings.Join(sources, ", ")
}

// fileDiff is one changed file's old and new content.
type fileDiff struct {
	Path     string
	Old, New []byte
}

// changedFiles keeps the files whose content differs from rev.
func (r *repository) changedFiles(rev plumbing.Hash, files []repo.File) ([]repo.File, []fileDiff, error) {
	var changed []repo.File
	var diffs []fileDiff
	for _, f := range files {
		old, err := r.Repo().ReadFile(rev, f.Path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, err
		}
		if bytes.Equal(old, f.Content) {
			continue
		}
		changed = append(changed, f)
		diffs = append(diffs, fileDiff{Path: f.Path, Old: old, New: f.Content})
	}
	slices.SortFunc(changed, func(a, b repo.File) int { return strings.Compare(a.Path, b.Path) })
	slices.SortFunc(diffs, func(a, b fileDiff) int { return strings.Compare(a.Path, b.Path) })
	return changed, diffs, nil
}

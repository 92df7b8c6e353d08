package fluxstatus

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/modelgit/modelgit/gitops/render"
	"github.com/modelgit/modelgit/gitops/repo"
	"github.com/modelgit/modelgit/manifests"
)

// Applied is whether one cluster applied one model's release.
type Applied struct {
	Model       string `json:"model"`
	Environment string `json:"environment"`
	Cluster     string `json:"cluster"`
	// ReleaseCommit is the newest commit of HEAD's history that changed
	// the release file: for a promotion merged by the forge, its merge
	// commit.
	ReleaseCommit string `json:"releaseCommit"`
	// Flux is what the cluster's Flux reports; nil when it could not be
	// read (Verdict then says why).
	Flux *Sync `json:"flux"`
	Verdict
}

// Options are the inputs of Report.
type Options struct {
	Repo   *repo.Repo
	Head   plumbing.Hash
	Config *manifests.Config
	// Releases are the models with a release, by environment.
	Releases map[string][]string
	// Reader reads each cluster's Flux status.
	Reader Reader
	// Cluster, when not empty, limits the report to that cluster.
	Cluster string
}

// Report classifies every release of every environment on each of the
// environment's clusters, in modelgit.yaml's order of environments and
// clusters, then by model. A cluster that cannot be read gives "unknown"
// verdicts saying why; it does not fail the report.
func Report(ctx context.Context, o Options) ([]Applied, error) {
	if o.Cluster != "" && !clusterDeclared(o.Config, o.Cluster) {
		return nil, fmt.Errorf("reading Flux status of cluster %q: not declared in modelgit.yaml", o.Cluster)
	}
	contains := RepoContains(o.Repo)
	var out []Applied
	for _, env := range o.Config.Environments {
		for _, cl := range o.Config.Clusters {
			if cl.Environment != env.Name || (o.Cluster != "" && cl.Name != o.Cluster) {
				continue
			}
			models := o.Releases[env.Name]
			if len(models) == 0 {
				continue
			}
			sync, readErr := o.Reader.Sync(ctx, cl.Name, render.FluxNamespace, render.FluxName)
			for _, m := range models {
				commit, err := ReleaseCommit(o.Repo, o.Head, "environments/"+env.Name+"/"+m+".yaml")
				if err != nil {
					return nil, err
				}
				a := Applied{Model: m, Environment: env.Name, Cluster: cl.Name, ReleaseCommit: commit}
				if readErr != nil {
					a.Verdict = Verdict{State: StateUnknown, Message: readErr.Error()}
					out = append(out, a)
					continue
				}
				s := sync
				a.Flux = &s
				if a.Verdict, err = Classify(commit, sync, contains); err != nil {
					return nil, err
				}
				out = append(out, a)
			}
		}
	}
	return out, nil
}

func clusterDeclared(cfg *manifests.Config, name string) bool {
	for _, c := range cfg.Clusters {
		if c.Name == name {
			return true
		}
	}
	return false
}

// ReleaseCommit returns the commit that made path what it is at head,
// following first parents (the branch's own history): for a promotion
// merged by the forge, its merge commit, not the pull request's commit.
// "" when path does not exist at head.
func ReleaseCommit(rp *repo.Repo, head plumbing.Hash, path string) (string, error) {
	entry := func(c *object.Commit) (plumbing.Hash, error) {
		t, err := c.Tree()
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("reading the tree of commit %s: %w", c.Hash, err)
		}
		e, err := t.FindEntry(path)
		if errors.Is(err, object.ErrEntryNotFound) || errors.Is(err, object.ErrDirectoryNotFound) {
			return plumbing.ZeroHash, nil
		}
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("reading %s at commit %s: %w", path, c.Hash, err)
		}
		return e.Hash, nil
	}
	c, err := rp.Git.CommitObject(head)
	if err != nil {
		return "", fmt.Errorf("reading commit %s: %w", head, err)
	}
	want, err := entry(c)
	if err != nil || want.IsZero() {
		return "", err
	}
	for {
		if c.NumParents() == 0 {
			return c.Hash.String(), nil
		}
		p, err := c.Parent(0)
		if err != nil {
			return "", fmt.Errorf("reading the parent of commit %s: %w", c.Hash, err)
		}
		h, err := entry(p)
		if err != nil {
			return "", err
		}
		if h != want {
			return c.Hash.String(), nil
		}
		c = p
	}
}

// RepoContains is Contains over the commits of rp.
func RepoContains(rp *repo.Repo) Contains {
	return func(revision, commit string) (bool, bool, error) {
		rc, err := rp.Git.CommitObject(plumbing.NewHash(revision))
		if err != nil {
			return false, false, nil // not in this clone
		}
		if commit == "" {
			return false, true, nil
		}
		if revision == commit {
			return true, true, nil
		}
		cc, err := rp.Git.CommitObject(plumbing.NewHash(commit))
		if err != nil {
			return false, true, fmt.Errorf("reading commit %s: %w", commit, err)
		}
		ok, err := cc.IsAncestor(rc)
		return ok, true, err
	}
}

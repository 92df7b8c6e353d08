package gitops_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/modelgit/modelgit/gitops/ledger"
	"github.com/modelgit/modelgit/gitops/repo"
	"github.com/modelgit/modelgit/manifests"
)

// releaseChanges lists, newest first, each first-parent commit of
// tip that changes a release file and its changes ("path old new"), as
// the pipeline scan finds them (fast) and as `git log --raw` does.
func releaseChanges(ctx context.Context, dir, tip string, envs []string) (fast, slow []string, err error) {
	line := func(c *repo.FPCommit, ch repo.RawChange) string {
		return fmt.Sprintf("%s %s %s %s", c.Hash, ch.Path, ch.Old, ch.New)
	}
	rp, err := repo.Open(dir)
	if err != nil {
		return nil, nil, err
	}
	_, err = rp.ScanReleases(ctx, plumbing.NewHash(tip), plumbing.ZeroHash, envs, "", false, func(c *repo.FPCommit) error {
		for _, ch := range c.Changes {
			fast = append(fast, line(c, ch))
		}
		if _, ok := c.Objects[c.Hash]; !ok {
			return fmt.Errorf("commit %s was not read", c.Hash)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	var paths []string
	for _, e := range envs {
		paths = append(paths, manifests.EnvironmentsDir+"/"+e+"/")
	}
	// The reference: git's own path-limited first-parent log.
	args := append([]string{"log", "--first-parent", "--root", "--no-renames", "--raw", "--no-abbrev", "--format=%x01%H", tip, "--"}, paths...)
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return nil, nil, fmt.Errorf("git log: %w", err)
	}
	var cur repo.FPCommit
	for _, l := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(l, "\x01"):
			cur = repo.FPCommit{Hash: plumbing.NewHash(strings.TrimPrefix(l, "\x01"))}
		case strings.HasPrefix(l, ":"):
			meta, p, _ := strings.Cut(l, "\t")
			f := strings.Fields(meta)
			if _, _, ok := ledger.SplitReleasePath(p); ok && len(f) >= 4 {
				old, nw := plumbing.NewHash(f[2]), plumbing.NewHash(f[3])
				slow = append(slow, line(&cur, repo.RawChange{Path: p, Old: old, New: nw}))
			}
		}
	}
	return fast, slow, nil
}

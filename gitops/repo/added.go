package repo

import (
	"context"

	"github.com/go-git/go-git/v5/plumbing"
)

// AddedIn returns the commit reachable from tip that added the file p
// (`git log --diff-filter=A -1 -- p`), zero when none did. git's history
// simplification follows a merge to the parent it took the file from,
// so a file that came in through a merge is found in the commit that
// added it, not in the merge. It shells out for the reason the other
// named operations in cli.go do: go-git would decode every tree on the
// way, which on a long history takes seconds.
func (r *Repo) AddedIn(ctx context.Context, tip plumbing.Hash, p string) (plumbing.Hash, error) {
	out, err := gitCmd(ctx, r.Root, "log", "--diff-filter=A", "-1", "--format=%H", tip.String(), "--", p)
	if err != nil || out == "" {
		return plumbing.ZeroHash, err
	}
	return plumbing.NewHash(out), nil
}

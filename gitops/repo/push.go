package repo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// ErrNonFastForward is returned by Push when the remote branch has moved
// on: fetch, re-apply the change on the new tip and push again. modelgit
// never force-pushes.
var ErrNonFastForward = errors.New("the remote branch has commits this one lacks (non-fast-forward)")

// Push pushes the local branch to the same branch on remote, never
// forcing. An up-to-date remote is not an error.
func (r *Repo) Push(ctx context.Context, remote, branch string, auth transport.AuthMethod) error {
	return r.PushAs(ctx, remote, branch, branch, auth)
}

// PushAs pushes the local branch to remoteBranch on remote, never forcing.
func (r *Repo) PushAs(ctx context.Context, remote, branch, remoteBranch string, auth transport.AuthMethod) error {
	src, dst := plumbing.NewBranchReferenceName(branch), plumbing.NewBranchReferenceName(remoteBranch)
	unlock, err := r.lockRemote()
	if err != nil {
		return fmt.Errorf("pushing %s to %s: %w", branch, remote, err)
	}
	defer unlock()
	err = r.git.PushContext(ctx, &git.PushOptions{
		RemoteName: remote,
		RefSpecs:   []config.RefSpec{config.RefSpec(src.String() + ":" + dst.String())},
		Auth:       auth,
	})
	switch {
	case err == nil, errors.Is(err, git.NoErrAlreadyUpToDate):
		return nil
	case errors.Is(err, git.ErrNonFastForwardUpdate), strings.Contains(err.Error(), "non-fast-forward"):
		return fmt.Errorf("pushing %s to %s: %w", branch, remote, ErrNonFastForward)
	}
	return fmt.Errorf("pushing %s to %s: %w", branch, remote, err)
}

// Fetch updates refs/remotes/<remote>/<branch> and returns its tip; the
// zero hash when the remote has no such branch.
func (r *Repo) Fetch(ctx context.Context, remote, branch string, auth transport.AuthMethod) (plumbing.Hash, error) {
	local := plumbing.NewRemoteReferenceName(remote, branch)
	unlock, err := r.lockRemote()
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("fetching %s from %s: %w", branch, remote, err)
	}
	defer unlock()
	err = r.git.FetchContext(ctx, &git.FetchOptions{
		RemoteName: remote,
		RefSpecs:   []config.RefSpec{config.RefSpec("+" + plumbing.NewBranchReferenceName(branch).String() + ":" + local.String())},
		Auth:       auth,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		var noMatch git.NoMatchingRefSpecError
		if errors.As(err, &noMatch) {
			return plumbing.ZeroHash, nil
		}
		return plumbing.ZeroHash, fmt.Errorf("fetching %s from %s: %w", branch, remote, err)
	}
	ref, err := r.git.Reference(local, true)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return ref.Hash(), nil
}

// ResetBranch points a branch that is not checked out at to (creating
// it), under git's lock-file protocol: how a promotion branch is rebuilt
// on a fetched tip before its change is re-applied.
func (r *Repo) ResetBranch(branch string, to plumbing.Hash, who object.Signature) error {
	name := plumbing.NewBranchReferenceName(branch).String()
	if t, err := r.headTarget(); err == nil && t == name {
		return fmt.Errorf("resetting %s: it is checked out", branch)
	}
	cur, _, err := r.readRef(name)
	if err != nil {
		return err
	}
	if cur == to {
		return nil
	}
	return r.updateRef(context.Background(), name, cur, to, sanitize(who, time.Now()), "modelgit: reset to "+to.String(), nil)
}

package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/modelgit/modelgit/gitops/internal/durable"
	"github.com/modelgit/modelgit/gitops/store"
)

// FollowedFile is where audit records, under the git directory, the last
// position it saw of each followed branch, and the rewrites it detected.
const FollowedFile = "modelgit/followed"

// maxFollowedFile bounds what is read of the file: its tips, and each
// rewrite ever detected (about 250 bytes each).
const maxFollowedFile = 16 << 20

// Rewrite is a history rewrite (force-push, reset, rebase) of a followed
// branch: the position recorded before is no longer in its history.
type Rewrite struct {
	Branch string `json:"branch"`
	// Previous is the tip recorded by an earlier run; Current the tip
	// found instead, which does not contain it.
	Previous   string    `json:"previous"`
	Current    string    `json:"current"`
	DetectedAt time.Time `json:"detectedAt"`
}

type followedState struct {
	Tips     map[string]string `json:"tips"`
	Rewrites []Rewrite         `json:"rewrites"`
}

// gitCommonDir is the repository's shared git directory.
func (r *Ledger) gitCommonDir(ctx context.Context) (string, error) {
	return r.Repo().CommonDir(ctx)
}

// CheckFollowed compares branch's tip with the position recorded by the
// last run: when that position is no longer an ancestor of tip, the
// branch's history was rewritten, which is recorded and reported (by this
// and every later run). Then tip is recorded. It returns every rewrite of
// branch ever detected.
func (r *Ledger) CheckFollowed(ctx context.Context, branch string, tip plumbing.Hash) ([]Rewrite, error) {
	dir, err := r.gitCommonDir(ctx)
	if err != nil {
		return nil, err
	}
	file := filepath.Join(dir, filepath.FromSlash(FollowedFile))
	st := followedState{Tips: map[string]string{}}
	data, err := readRecord(file, maxFollowedFile)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case errors.Is(err, store.ErrNotRegular):
		r.Log().Warningf("%s is not a regular file; starting a new record", file)
	case err != nil:
		return nil, fmt.Errorf("reading %q: %w", file, err)
	default:
		if err := json.Unmarshal(data, &st); err != nil {
			// A damaged record is replaced; say so rather than fail the audit.
			r.Log().Warningf("%s is not valid JSON (%v); starting a new record", file, err)
			st = followedState{Tips: map[string]string{}}
		}
		if st.Tips == nil {
			st.Tips = map[string]string{}
		}
	}
	changed := false
	if prev, ok := st.Tips[branch]; ok && prev != tip.String() {
		if !r.gitIsAncestor(ctx, prev, tip) {
			rw := Rewrite{Branch: branch, Previous: prev, Current: tip.String(), DetectedAt: r.Now().UTC()}
			// Reported by the caller, with the earlier ones, from what this
			// returns (once: not also logged here).
			st.Rewrites = append(st.Rewrites, rw)
		}
	}
	if st.Tips[branch] != tip.String() {
		st.Tips[branch] = tip.String()
		changed = true
	}
	var out []Rewrite
	for _, rw := range st.Rewrites {
		if rw.Branch == branch {
			out = append(out, rw)
		}
	}
	if !changed {
		return out, nil
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding %q: %w", file, err)
	}
	if err := durable.WriteFile(file, append(b, '\n'), 0o644, nil); err != nil {
		// A read-only clone can still be audited; it just cannot record.
		r.Log().Warningf("cannot record the position of %s in %s: %v", branch, file, err)
	}
	return out, nil
}

// isAncestor reports whether commit a is an ancestor of (or is) b; a commit
// that no longer exists is not.
func (r *Ledger) gitIsAncestor(ctx context.Context, a string, b plumbing.Hash) bool {
	if b.IsZero() {
		return false
	}
	ok, err := r.Repo().IsAncestor(ctx, plumbing.NewHash(a), b)
	return err == nil && ok
}

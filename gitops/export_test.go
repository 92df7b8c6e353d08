package gitops

import (
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
)

// ChainStates computes the signers in force after each of commits twice
// from the trust root of r's git config: as the commands do (the
// first-parent line of tip first, any other commit walked back to what is
// known, with walks of at most budget commits before the whole history is
// listed), and over the whole topology of each of tips at once
// (prepareFull, the computation before the line). Each state is named by
// its files' blobs.
func ChainStates(r *Repository, tip plumbing.Hash, tips, commits []plumbing.Hash, budget int) (line, full map[plumbing.Hash]string, err error) {
	root, err := r.ConfiguredTrustRoot()
	if err != nil {
		return nil, nil, err
	}
	name := func(k trustKey) string { return fmt.Sprintf("%v %s %s", k.nobody, k.signers, k.keys) }
	lazy, err := r.NewTrustChain(root)
	if err != nil {
		return nil, nil, err
	}
	whole, err := r.NewTrustChain(root)
	if err != nil {
		return nil, nil, err
	}
	lazy.budget = budget
	whole.lined, whole.full = true, true
	for _, t := range tips {
		if err := whole.prepareFull(t); err != nil {
			return nil, nil, err
		}
	}
	if _, err := lazy.stateOf(tip); err != nil {
		return nil, nil, err
	}
	line, full = map[plumbing.Hash]string{}, map[plumbing.Hash]string{}
	for _, h := range commits {
		k, err := lazy.stateOf(h)
		if err != nil {
			return nil, nil, err
		}
		line[h] = name(k)
		if k, err = whole.stateOf(h); err != nil {
			return nil, nil, err
		}
		full[h] = name(k)
	}
	return line, full, nil
}

package gitops

import "github.com/go-git/go-git/v5/plumbing"

// SetBeforePushForTest makes fn run just before each push of a promotion
// branch until the returned function restores the previous hook. Tests
// that set it must not run in parallel with other promotions.
func SetBeforePushForTest(fn func(branch string, attempt int)) (restore func()) {
	prev := beforePush
	beforePush = fn
	return func() { beforePush = prev }
}

// RangeCommitsForTest is rangeCommits: the commits of base..head, newest
// first, as hex hashes.
func (r *Registry) RangeCommitsForTest(base, head string) ([]string, error) {
	cs, err := r.repo.RangeCommits(plumbing.NewHash(base), plumbing.NewHash(head))
	var out []string
	for _, c := range cs {
		out = append(out, c.Hash.String())
	}
	return out, err
}

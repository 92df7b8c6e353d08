package audit

import (
	"math/bits"
	"testing"
)

// TestAddedSearch: the search for a registration finds it wherever it is
// and whatever the hint (right, too new, too old, out of the history, or
// none), asking only what git would answer: exists at i for every i not
// older than the registration. A right hint, or one a commit or two off,
// costs a few look-ups; none costs a bisection.
func TestAddedSearch(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7, 64, 1000} {
		for reg := range n {
			for hint := -2; hint <= n+1; hint++ {
				s := &addedSearch{lo: 0, hi: n}
				if hint > 0 && hint < n {
					s.probe = hint
				} else {
					s.bisect()
				}
				asked := 0
				for !s.done() {
					if s.probe <= s.lo && asked > 0 || s.probe >= s.hi {
						t.Fatalf("n %d, registration %d, hint %d: probe %d outside (%d, %d)", n, reg, hint, s.probe, s.lo, s.hi)
					}
					asked++
					if asked > 2*bits.Len(uint(n))+2 {
						t.Fatalf("n %d, registration %d, hint %d: %d look-ups", n, reg, hint, asked)
					}
					s.answer(s.probe <= reg)
				}
				if s.lo != reg {
					t.Fatalf("n %d, registration %d, hint %d: found %d", n, reg, hint, s.lo)
				}
				// The hint names the newest commit before the registration.
				if n == 1000 && hint == reg+1 && hint < n && asked > 2 {
					t.Fatalf("n %d, registration %d, right hint: %d look-ups, want 2", n, reg, asked)
				}
			}
		}
	}
}

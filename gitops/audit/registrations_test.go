package audit

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
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
				asked := search(t, fmt.Sprintf("n %d, registration %d, hint %d", n, reg, hint), &addedSearch{lo: 0, hi: n}, n, reg, hint, 2*bits.Len(uint(n))+2)
				// The hint names the newest commit before the registration.
				if n == 1000 && hint == reg+1 && hint < n && asked > 2 {
					t.Fatalf("n %d, registration %d, right hint: %d look-ups, want 2", n, reg, asked)
				}
			}
		}
	}
}

// TestAddedSearchFiltered: with changed-path filters the search finds the
// registration whatever the filters' false positives, and with filters
// that have none it asks twice, whatever the hint. A filter never misses
// the registration (it changes the path); it may name any other commit.
func TestAddedSearchFiltered(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 7, 64, 1000, 3 * maxNarrow} {
		for _, fp := range []float64{0, 0.01, 0.3, 1} {
			regs := []int{0, n / 2, n - 1}
			if n <= 64 {
				regs = regs[:0]
				for reg := range n {
					regs = append(regs, reg)
				}
			}
			for _, reg := range regs {
				maybe := make([]bool, n)
				for i := range maybe {
					maybe[i] = i == reg || rng.Float64() < fp
				}
				for _, hint := range []int{-1, 0, 1, reg - 1, reg, reg + 1, reg + 2, reg + 40, n - 1, n} {
					s := &addedSearch{lo: 0, hi: n, mayChange: func(i int) bool {
						if i < 0 || i >= n {
							t.Fatalf("filter asked for commit %d of %d", i, n)
						}
						return maybe[i]
					}}
					asked := search(t, fmt.Sprintf("n %d, fp %v, registration %d, hint %d", n, fp, reg, hint), s, n, reg, hint, 2*bits.Len(uint(n))+2+maxGuesses)
					if fp == 0 && asked > 2 && (hint > 0 && hint < n && abs(hint-reg) <= maxNarrow || n <= maxNarrow) {
						t.Fatalf("n %d, exact filters, registration %d, hint %d: %d look-ups, want at most 2", n, reg, hint, asked)
					}
				}
			}
		}
	}
}

func abs(x int) int { return max(x, -x) }

// search runs s, for a registration at reg of n commits, from hint (none
// when out of (0, n)), answering as git would; it fails the test when a
// probe is outside the bracket, more than most look-ups are asked, or
// the registration is not found, and returns the look-ups asked.
func search(t *testing.T, what string, s *addedSearch, n, reg, hint, most int) int {
	t.Helper()
	if hint > 0 && hint < n {
		s.probe = hint
	} else {
		s.bisect()
	}
	asked := 0
	for !s.done() {
		if s.probe <= s.lo && asked > 0 || s.probe >= s.hi {
			t.Fatalf("%s: probe %d outside (%d, %d)", what, s.probe, s.lo, s.hi)
		}
		if asked++; asked > most {
			t.Fatalf("%s: %d look-ups", what, asked)
		}
		s.answer(s.probe <= reg)
	}
	if s.lo != reg {
		t.Fatalf("%s: found %d", what, s.lo)
	}
	return asked
}

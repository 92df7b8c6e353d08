package gitops_test

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/modelgit/modelgit/gitops"
)

// The chain of trust computed along the first-parent line (what audit,
// which, history and verify use) gives every commit the signers the
// computation over the whole topology gives it, on random histories
// where side branches add signers (validly and not), are merged into
// main with either side's allowed_signers winning a conflict, take main
// back, and some stay unmerged; and again with walks cut short at once,
// so that the fall-back to the whole history is taken mid-way.
func TestTrustChainLineMatchesWholeHistory(t *testing.T) {
	t.Parallel()
	for seed := range uint64(3) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			bob, bobPub := sshKey(t, "bob@example.com")
			mallory, malloryPub := sshKey(t, "mallory@example.com")
			keys := []string{f.key, bob, mallory, ""} // "": unsigned
			lines := []string{
				`bob@example.com namespaces="git" ` + bobPub,
				`mallory@example.com namespaces="git" ` + malloryPub,
			}
			rng := rand.New(rand.NewPCG(seed, 16))
			sign := func() []string {
				if k := keys[rng.IntN(len(keys))]; k != "" {
					return []string{"-c", "user.signingkey=" + k, "-c", "commit.gpgsign=true"}
				}
				return []string{"-c", "commit.gpgsign=false"}
			}
			branches := []string{"main"}
			cur := "main"
			for i := range 70 {
				switch op := rng.IntN(10); {
				case op < 3: // a commit that leaves policies/ alone
					writeFile(t, filepath.Join(f.root, "notes", fmt.Sprintf("n%d", i)), "x\n")
					git(t, f.root, "add", "notes")
					git(t, f.root, append(sign(), "commit", "-q", "-m", fmt.Sprint("note ", i))...)
				case op < 5: // a signer added, by anyone
					appendSigner(t, f, lines[rng.IntN(len(lines))]+fmt.Sprintf(" # %d", i))
					git(t, f.root, append(sign(), "commit", "-q", "-m", fmt.Sprint("signer ", i))...)
				case op < 6: // a new branch
					cur = fmt.Sprint("b", i)
					branches = append(branches, cur)
					git(t, f.root, "switch", "-q", "-c", cur)
				case op < 8 && len(branches) > 1: // a branch merged into main, or main into a branch
					side := branches[1+rng.IntN(len(branches)-1)]
					into, from := "main", side
					if rng.IntN(3) == 0 {
						into, from = side, "main"
					}
					git(t, f.root, "switch", "-q", into)
					cur = into
					win := []string{"-X", "ours", "-X", "theirs"}[2*rng.IntN(2):][:2]
					git(t, f.root, append(sign(), append([]string{"merge", "-q", "--no-ff", "-m", fmt.Sprint("merge ", i)}, append(win, from)...)...)...)
				default: // another branch
					cur = branches[rng.IntN(len(branches))]
					git(t, f.root, "switch", "-q", cur)
				}
			}
			reg := f.reopen()
			var tips []plumbing.Hash
			for _, b := range branches {
				tips = append(tips, plumbing.NewHash(git(t, f.root, "rev-parse", b)))
			}
			var commits []plumbing.Hash
			for _, h := range strings.Fields(git(t, f.root, "rev-list", "--all")) {
				commits = append(commits, plumbing.NewHash(h))
			}
			rng.Shuffle(len(commits), func(i, j int) { commits[i], commits[j] = commits[j], commits[i] })
			distinct := map[string]bool{}
			for _, budget := range []int{2000, 1} {
				line, full, err := gitops.ChainStates(reg, tips[0], tips, commits, budget)
				if err != nil {
					t.Fatal(err)
				}
				for _, h := range commits {
					if line[h] != full[h] {
						t.Errorf("budget %d: commit %s (%s): along the line %s, over the whole history %s", budget, h, git(t, f.root, "log", "-1", "--format=%s", h.String()), line[h], full[h])
					}
					distinct[full[h]] = true
				}
			}
			if len(distinct) < 2 {
				t.Errorf("the history never changed its signers: %d distinct sets", len(distinct))
			}
		})
	}
}

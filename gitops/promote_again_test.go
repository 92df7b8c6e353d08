package gitops_test

import (
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/promote"
	"github.com/modelgit/modelgit/manifests"
)

// TestPromoteAgainKeepsTheHead: promoting the same change again, with
// other words for the commit message and the pull request (as monitor
// --act does every hour, with new evidence), keeps the branch's head, so
// the approvals given on it still count; the commit keeps the first
// words, the pull request's body takes the new ones. Another change, or a
// base that moved on, makes a new head.
func TestPromoteAgainKeepsTheHead(t *testing.T) {
	for _, tc := range []struct {
		name string
		push bool
	}{
		{"pushed, with a pull request", true},
		{"--no-push, the local branch alone", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPromoteFixture(t)
			p.inOrder([]string{"fraud@0.1.0+data.1"}, "dev")
			promoteAgain := func(note string, change gitops.ReleaseChange) *promote.PromoteResult {
				t.Helper()
				o := promote.PromoteOptions{
					Ref: "fraud@0.1.1+data.1", Env: "dev", Change: change,
					Identity: gitops.Identity{Signature: alice, Signer: p.signer},
					Note:     "evidence: " + note, Evidence: "### evidence: " + note,
				}
				if tc.push {
					o.Forge, o.Remote = p.forge, "origin"
				}
				res, err := promote.Promote(ctx, p.reg, o)
				if err != nil {
					t.Fatal(err)
				}
				return res
			}
			// head is the branch's commit where the pull request sees it.
			head := func(res *promote.PromoteResult) string {
				t.Helper()
				dir := p.root
				if tc.push {
					dir = p.fake.GitDir()
				}
				return git(t, dir, "rev-parse", res.Branch)
			}
			first := promoteAgain("first", gitops.ReleaseChange{})
			firstHead := head(first)
			again := promoteAgain("second", gitops.ReleaseChange{})
			if again.Commit != first.Commit || head(again) != firstHead {
				t.Errorf("same change again: commit %s (branch at %s), want %s kept", again.Commit, head(again), firstHead)
			}
			if msg := git(t, p.root, "log", "-1", "--format=%B", firstHead); !strings.Contains(msg, "evidence: first") || strings.Contains(msg, "evidence: second") {
				t.Errorf("the commit's message, want the first note kept:\n%s", msg)
			}
			if tc.push {
				if again.PR == nil || again.Created || again.PR.Number != first.PR.Number || !strings.HasPrefix(again.PR.Body, "### evidence: second") {
					t.Errorf("same change again: pull request %+v, want #%d updated with the new evidence", again.PR, first.PR.Number)
				}
			}

			// Another change on the same branch: a new head.
			canary := promoteAgain("third", gitops.ReleaseChange{Strategy: manifests.StrategyCanary, Weight: 50})
			if canary.Commit == first.Commit || head(canary) == firstHead {
				t.Errorf("another change: the head stayed at %s", firstHead)
			}

			// The base moved on: a new head, built on the new base.
			p.commitFile("docs/notes.md", "unrelated\n", false)
			moved := promoteAgain("fourth", gitops.ReleaseChange{Strategy: manifests.StrategyCanary, Weight: 50})
			if moved.Commit == canary.Commit {
				t.Errorf("the base moved on: the head stayed at %s", canary.Commit)
			}
			main := git(t, p.root, "rev-parse", "main")
			if out := git(t, p.root, "merge-base", "--is-ancestor", main, moved.Commit.String()); out != "" {
				t.Errorf("merge-base: %s", out)
			}
		})
	}
}

package gitops_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/promote"
	"github.com/modelgit/modelgit/manifests"
)

// TestPromoteRetriesWhenTheBranchMovesBeforePush: the promotion branch
// moves on the remote between promote's fetch and its push (here a
// reviewer pushes a commit of their own onto the pull request's branch,
// with other content). The push is refused as non-fast-forward; promote
// warns, re-applies the promotion on the new tip and pushes again: the
// final commit's parent is the reviewer's commit, and both the
// reviewer's file and the promotion's files are on the branch.
func TestPromoteRetriesWhenTheBranchMovesBeforePush(t *testing.T) {
	p := newPromoteFixture(t)
	p.inOrder([]string{"fraud@0.1.0+data.1"}, "dev")
	first, err := p.promote("fraud@0.1.1+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	branch := first.Branch

	// The reviewer's clone, checked out on the pull request's branch.
	other := filepath.Join(t.TempDir(), "reviewer")
	git(t, ".", "clone", "-q", "-b", branch, p.fake.GitURL(), other)
	var moved string
	beforePush := func(b string, attempt int) {
		if b != branch || attempt != 0 {
			return
		}
		writeFile(t, filepath.Join(other, "docs", "review-notes.md"), "checked the canary dashboards\n")
		git(t, other, "add", "docs/review-notes.md")
		git(t, other, "-c", "user.name=Rita", "-c", "user.email=rita@example.com", "commit", "-q", "--no-gpg-sign", "-m", "review notes")
		git(t, other, "push", "-q", "origin", branch)
		moved = git(t, other, "rev-parse", "HEAD")
	}

	// Promote again, now as a canary: the same branch, other content.
	var log bytes.Buffer
	reg, err := gitops.Open(p.root, gitops.WithLogger(gitops.WriterLogger{W: &log}))
	if err != nil {
		t.Fatal(err)
	}
	res, err := promote.Promote(ctx, reg, promote.PromoteOptions{
		Ref: "fraud@0.1.1+data.1", Env: "dev", Change: gitops.ReleaseChange{Strategy: manifests.StrategyCanary, Weight: 50},
		Identity: gitops.Identity{Signature: alice, Signer: p.signer},
		Forge:    p.forge, Remote: "origin", BeforePush: beforePush,
	})
	if err != nil {
		t.Fatalf("promoting while the branch moves: %v\nlog:\n%s", err, log.String())
	}
	if moved == "" {
		t.Fatal("the hook did not run: nothing was pushed")
	}
	if want := "! " + branch + " moved on the remote; re-applying the promotion on its new tip"; !strings.Contains(log.String(), want) {
		t.Errorf("the log lacks the retry warning %q:\n%s", want, log.String())
	}
	tip := git(t, p.fake.GitDir(), "rev-parse", "refs/heads/"+branch)
	if tip != res.Commit.String() || res.PR.HeadSHA != tip || res.PR.Number != first.PR.Number || res.Created {
		t.Errorf("branch tip %s, commit %s, PR #%d head %s created=%v; want the commit at the tip of PR #%d", tip, res.Commit, res.PR.Number, res.PR.HeadSHA, res.Created, first.PR.Number)
	}
	parents := strings.Fields(git(t, p.fake.GitDir(), "rev-list", "--parents", "-1", tip))
	if len(parents) < 2 || parents[1] != moved {
		t.Errorf("the final commit's parents are %v, want the reviewer's commit %s first", parents[1:], moved)
	}
	// Nothing is lost: the reviewer's file, the first promotion commit and
	// the new rendering are all on the branch.
	if got := git(t, p.fake.GitDir(), "show", tip+":docs/review-notes.md"); got != "checked the canary dashboards" {
		t.Errorf("the reviewer's file on the branch = %q", got)
	}
	git(t, p.fake.GitDir(), "merge-base", "--is-ancestor", first.Commit.String(), tip)
	if got := git(t, p.fake.GitDir(), "show", tip+":rendered/dev/fraud.yaml"); !strings.Contains(got, "canaryTrafficPercent: 50") {
		t.Errorf("the re-applied promotion lacks the new rendering:\n%s", got)
	}
	git(t, p.root, "-c", "gpg.ssh.allowedSignersFile="+filepath.Join(p.root, "policies", "allowed_signers"), "verify-commit", tip)
}

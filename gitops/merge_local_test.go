package gitops_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/audit"
	"github.com/modelgit/modelgit/gitops/check"
	"github.com/modelgit/modelgit/gitops/ledger"
	"github.com/modelgit/modelgit/gitops/signing"
)

// TestMergeLocalCountsAssertedApprovers: merge --local counts the
// approvers the merger names, never the merger (nor their key's
// principal), the requester, the registrant or a committer, by email
// (in any case) or by name; nobody twice; and the merge it commits is
// what audit calls a reviewed promotion with those approvers.
func TestMergeLocalCountsAssertedApprovers(t *testing.T) {
	g := newGoverned(t, "")
	res, err := g.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	merger := gitops.Identity{Signature: object.Signature{Name: "Mallory Merger", Email: "mallory@example.com"}, Signer: g.signer}
	opts := check.LocalMergeOptions{Base: "main", Head: res.Branch, Identity: merger, ApprovedBy: []string{
		"Someone <ALICE@example.com>",       // the requester and registrant, by email
		"Alice <alice@elsewhere.example>",   // the same, by name
		"Mallory Merger <m2@example.com>",   // the merger, by name
		"Carol Checker <carol@example.com>", // counts
		"Carol C. <Carol@Example.com>",      // Carol again
	}}
	mr, err := check.MergeLocal(ctx, g.reg, opts)
	if err != nil {
		t.Fatalf("merge --local: %v", err)
	}
	want := map[string]string{
		"Someone <alice@example.com>":       "merges the promotion (alice@example.com)", // the key's principal
		"Alice <alice@elsewhere.example>":   "requested the promotion",
		"Mallory Merger <m2@example.com>":   "merges the promotion",
		"Carol Checker <carol@example.com>": "",
		"Carol C. <carol@example.com>":      "named twice",
	}
	if len(mr.Report.Approvals) != len(want) {
		t.Fatalf("approvals = %+v", mr.Report.Approvals)
	}
	for _, a := range mr.Report.Approvals {
		reason, ok := want[a.User]
		switch {
		case !ok:
			t.Errorf("unexpected approval %+v", a)
		case reason == "" && !a.Counted:
			t.Errorf("%s = %+v, want counted", a.User, a)
		case reason != "" && (a.Counted || !strings.Contains(a.Reason, reason)):
			t.Errorf("%s = %+v, want not counted: %s", a.User, a, reason)
		}
	}
	for _, line := range []string{"Approved-by: Carol Checker <carol@example.com>\n", "Merged-by: Mallory Merger <mallory@example.com>\n", "Merge-Method: local\n"} {
		if !strings.Contains(mr.Message, line) {
			t.Errorf("message lacks %q:\n%s", line, mr.Message)
		}
	}
	if strings.Count(mr.Message, "Approved-by:") != 1 {
		t.Errorf("message = %s, want one Approved-by", mr.Message)
	}
	if got := git(t, g.root, "rev-parse", "main^2"); got != res.Commit.String() {
		t.Errorf("main^2 = %s, want the promotion head %s", got, res.Commit)
	}

	ar, err := audit.Audit(ctx, g.reopen(), audit.AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rep := ar.Events
	if len(rep) != 1 || rep[0].Via != ledger.ViaLocal || !ledger.Reviewed(rep[0].Via) ||
		len(rep[0].ApprovedBy) != 1 || rep[0].ApprovedBy[0] != "Carol Checker <carol@example.com>" || rep[0].MergedBy != "Mallory Merger <mallory@example.com>" {
		t.Errorf("audit = %+v", rep)
	}

	// Again: already merged, nothing to do.
	again, err := check.MergeLocal(ctx, g.reg, opts)
	if err != nil || !again.AlreadyMerged {
		t.Errorf("merging again = %+v, %v; want already merged", again, err)
	}
}

// TestMergeLocalRefusesWhatOnlyAForgeCanTell: a policy that asks team
// membership fails the approvals without a forge, and nothing is merged;
// so does a merger whose key is not an allowed signer.
func TestMergeLocalRefusesWhatOnlyAForgeCanTell(t *testing.T) {
	g := newGoverned(t, teamPolicy)
	res, err := g.promote("fraud@0.1.0+data.1", "dev", gitops.ReleaseChange{})
	if err != nil {
		t.Fatal(err)
	}
	before := git(t, g.root, "rev-parse", "main")
	opts := check.LocalMergeOptions{Base: "main", Head: res.Branch, ApprovedBy: []string{"Carol Checker <carol@example.com>"},
		Identity: gitops.Identity{Signature: object.Signature{Name: "Mallory Merger", Email: "mallory@example.com"}, Signer: g.signer}}
	mr, err := check.MergeLocal(ctx, g.reg, opts)
	if !errors.Is(err, check.ErrCheckFailed) {
		t.Fatalf("merge --local under a team policy: %v, want the check failed", err)
	}
	wantStatus(t, mr.Report, check.CheckApprovals, check.CheckFail, "cannot be judged without a forge", "acme/ml-reviewers")

	strangerKey, _ := sshKey(t, "stranger@example.com")
	if opts.Identity.Signer, err = signing.LoadSSHSigner(strangerKey); err != nil {
		t.Fatal(err)
	}
	if _, err := check.MergeLocal(ctx, g.reg, opts); !errors.Is(err, check.ErrUntrustedMerger) {
		t.Errorf("merge --local with an untrusted key: %v, want ErrUntrustedMerger", err)
	}
	if after := git(t, g.root, "rev-parse", "main"); after != before {
		t.Errorf("main moved from %s to %s", before, after)
	}
}

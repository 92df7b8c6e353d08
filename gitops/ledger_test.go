package gitops_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/audit"
	"github.com/modelgit/modelgit/gitops/ledger"
	"github.com/modelgit/modelgit/gitops/promote"
	"github.com/modelgit/modelgit/manifests"
)

// commitRelease writes env's release of fraud pinning ref (or raw bytes
// when ref is "") and commits it straight with git, unsigned: the ledger
// reads history, whoever made it.
func (p *promoteFixture) commitRelease(env, ref, raw string) {
	p.t.Helper()
	if ref != "" {
		v, err := p.reg.Resolve(ref)
		if err != nil {
			p.t.Fatal(err)
		}
		rel, err := gitops.NextRelease(nil, "fraud", env, v.Manifest.Version, v.Digest, gitops.ReleaseChange{})
		if err != nil {
			p.t.Fatal(err)
		}
		b, err := manifests.Marshal(rel)
		if err != nil {
			p.t.Fatal(err)
		}
		raw = string(b)
	}
	file := filepath.Join(p.root, manifests.ReleaseFile(env, "fraud"))
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		p.t.Fatal(err)
	}
	writeFile(p.t, file, raw)
	git(p.t, p.root, "add", "-A")
	git(p.t, p.root, "commit", "-q", "--no-verify", "--no-gpg-sign", "-m", "edit "+env)
}

// TestLedgerIsTheOneAnswer drives a history where promote's order check,
// check's soak and the audit used to give three different answers: a
// version that served only on a side branch merged with --no-ff (never on
// the first-parent line), and a release file that was broken for one
// commit (which changes nothing: Flux cannot apply it). Promote, the
// ledger's latest run and history now agree.
func TestLedgerIsTheOneAnswer(t *testing.T) {
	p := newPromoteFixture(t)
	const v1, v2 = "fraud@0.1.0+data.1", "fraud@0.1.1+data.1"
	p.inOrder([]string{v1}, "dev", "staging")

	// v2 serves in staging only on a side branch, which then takes it out
	// again before merging: on the first-parent line it never served.
	git(t, p.root, "checkout", "-q", "-b", "exp")
	p.commitRelease("dev", v2, "")
	p.commitRelease("staging", v2, "")
	p.commitRelease("staging", v1, "")
	git(t, p.root, "checkout", "-q", "main")
	git(t, p.root, "merge", "-q", "--no-ff", "--no-gpg-sign", "-m", "merge exp", "exp")
	p.reopen()

	head := plumbing.NewHash(p.head())
	served, err := ledger.Of(p.reg).Served(ctx, head, "staging", "fraud")
	if err != nil {
		t.Fatal(err)
	}
	if ivs := served["0.1.1+data.1"]; len(ivs) != 0 {
		t.Errorf("ledger: 0.1.1 served in staging %v; it never did on the first-parent line", ivs)
	}
	// So promote refuses production, as check would.
	if _, err := p.promote(v2, "production", gitops.ReleaseChange{}); !errors.Is(err, promote.ErrOrder) {
		t.Errorf("promote 0.1.1 to production: err = %v, want ErrOrder (it never ran in staging on main)", err)
	}

	// A broken release file for one commit does not interrupt the run.
	sinceBefore, ok := ledger.LatestRun(served["0.1.0+data.1"])
	if !ok || !sinceBefore.Now {
		t.Fatalf("0.1.0 run in staging = %+v, %v; want a current run", sinceBefore, ok)
	}
	p.commitRelease("staging", "", "apiVersion: [not a release\n")
	p.commitRelease("staging", v1, "")
	served, err = ledger.Of(p.reg).Served(ctx, plumbing.NewHash(p.head()), "staging", "fraud")
	if err != nil {
		t.Fatal(err)
	}
	run, ok := ledger.LatestRun(served["0.1.0+data.1"])
	if !ok || !run.Now || run.Commit != sinceBefore.Commit || !run.Since.Equal(sinceBefore.Since) {
		t.Errorf("after a broken commit and its fix, run = %+v; want it to go on from %+v", run, sinceBefore)
	}
	// History, from the audit's events, tells the same intervals.
	hist, err := audit.History(p.reg, "fraud")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hist {
		if h.Version.String() != "0.1.0+data.1" {
			continue
		}
		var staging []ledger.RanInterval
		for _, iv := range h.Ran {
			if iv.Environment == "staging" {
				staging = append(staging, iv)
			}
		}
		if len(staging) != 1 || staging[0].Commit != sinceBefore.Commit.String() || staging[0].To != nil {
			t.Errorf("history of 0.1.0 in staging = %+v; want one open interval from %s", staging, sinceBefore.Commit)
		}
	}
}

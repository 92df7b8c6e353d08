package gitops_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/audit"
	"github.com/modelgit/modelgit/gitops/ledger"
)

// signingAs makes the scenario's next commits signed with the key priv
// (until the returned function restores ci's).
func (s *scenario) signingAs(priv string) (restore func()) {
	was := git(s.t, s.dir, "config", "user.signingkey")
	git(s.t, s.dir, "config", "user.signingkey", priv)
	return func() { git(s.t, s.dir, "config", "user.signingkey", was) }
}

// eventsBy indexes an audit's events by the label of their commit.
func eventsBy(s *scenario, rep *audit.AuditReport) map[string]ledger.AuditEvent {
	out := map[string]ledger.AuditEvent{}
	for _, e := range rep.Events {
		out[s.label(e.Commit)] = e
	}
	return out
}

// A key that is not allowed adds itself to allowed_signers, then
// registers a version and promotes it: audit (and report, which prints
// it), which and history judge those commits by the signers in force
// before them, so none is trusted, while what ci signed before stays
// trusted. With the signers at the tip, all of them looked trusted.
func TestAuditKeyCannotTrustItself(t *testing.T) {
	s := buildScenario(t)
	reg, err := gitops.Open(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	eventsJSON(t, reg) // a cache from before the attack
	mallory, malloryPub := sshKey(t, "mallory")
	restore := s.signingAs(mallory)
	signers := git(t, s.dir, "show", "main:policies/allowed_signers")
	s.onMain(s.commit("self", nil, map[string]string{"policies/allowed_signers": signers + "\nmallory@example.com " + malloryPub + "\n"}, "Trust mallory", at("17:30"), "Mallory <mallory@example.com>", true))
	s.register("fraud", "1.2.0", "17:40")
	s.promote("M", "production", "fraud", "1.2.0", "2.1.0", "replace", "18:00", release("fraud", "production", "replace", "1.2.0"), "", []string{"Bob <bob@example.com>"}, true)
	restore()
	git(t, s.dir, "reset", "-q", "--hard", "main")

	for _, cache := range []string{"with the cache", "without it"} {
		if cache == "without it" {
			if err := os.Remove(auditCacheFile(s)); err != nil {
				t.Fatal(err)
			}
		}
		_, rep := eventsJSON(t, reg)
		ev := eventsBy(s, rep)
		m, ok := ev["M"]
		if !ok {
			t.Fatalf("%s: no event of mallory's promotion: %v", cache, rep.Events)
		}
		if m.Signature.Trusted || m.ChangeSignature == nil || m.ChangeSignature.Trusted {
			t.Errorf("%s: mallory's promotion is trusted: %+v, change %+v", cache, m.Signature, m.ChangeSignature)
		}
		if !strings.Contains(strings.Join(m.Notes, "\n"), "signature does not verify") || !strings.Contains(m.Signature.Reason, "not in policies/allowed_signers") {
			t.Errorf("%s: notes %q, reason %q: want the signature flagged, by a key not allowed", cache, m.Notes, m.Signature.Reason)
		}
		for _, l := range []string{"P1", "P3", "P9"} {
			if e := ev[l]; !e.Signature.Trusted {
				t.Errorf("%s: %s, signed by ci before the attack, is not trusted: %+v", cache, l, e.Signature)
			}
		}
	}

	res, err := audit.Which(ctx, reg, audit.WhichOptions{Env: "production", At: at("18:00"), Model: "fraud"})
	if err != nil {
		t.Fatal(err)
	}
	v := res.Models[0].Versions[0]
	if v.IntroducedBy == nil || v.IntroducedBy.Signature.Trusted || v.Manifest == nil || v.Manifest.Signature == nil || v.Manifest.Signature.Trusted {
		t.Errorf("which: mallory's registration and promotion trusted: %+v, %+v", v.IntroducedBy, v.Manifest)
	}

	h, err := audit.History(reg, "fraud")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range h {
		if want := e.Version.String() != "1.2.0"; e.Signature.Trusted != want {
			t.Errorf("history: %s trusted=%v, want %v (%s)", e.Version, e.Signature.Trusted, want, e.Signature.Reason)
		}
	}
}

// ci rotates itself out: a commit it signs replaces allowed_signers with
// bob's key only. What ci signed while allowed stays trusted in audit,
// history and which; what bob signs afterwards is trusted; and a key
// retired with valid-before is trusted only for commits before that time.
func TestAuditKeyRotatedOut(t *testing.T) {
	s := buildScenario(t)
	reg, err := gitops.Open(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	eventsJSON(t, reg)
	ci := git(t, s.dir, "config", "user.signingkey")
	ciLine := strings.TrimSpace(git(t, s.dir, "show", "main:policies/allowed_signers"))
	_, ciPub, _ := strings.Cut(ciLine, " ")
	bob, bobPub := sshKey(t, "bob")
	// ci bounds itself at 18:30 and lets bob in.
	s.onMain(s.commit("rotate", nil, map[string]string{"policies/allowed_signers": `ci@example.com valid-before="20260303183000Z" ` + ciPub + "\nbob@example.com " + bobPub + "\n"}, "Rotate: bob in, ci until 18:30", at("18:00"), "Ci <ci@example.com>", true))
	s.promote("B1", "production", "fraud", "1.1.0", "1.0.0", "replace", "18:20", release("fraud", "production", "replace", "1.1.0"), "", []string{"Bob <bob@example.com>"}, true)
	s.promote("C1", "production", "fraud", "1.0.0", "1.1.0", "replace", "18:40", release("fraud", "production", "replace", "1.0.0"), "", []string{"Bob <bob@example.com>"}, true)
	restore := s.signingAs(bob)
	// bob removes ci's line outright, then promotes.
	s.onMain(s.commit("remove", nil, map[string]string{"policies/allowed_signers": "bob@example.com " + bobPub + "\n"}, "Remove ci", at("19:00"), "Bob <bob@example.com>", true))
	s.promote("B2", "production", "fraud", "1.1.0", "1.0.0", "replace", "19:20", release("fraud", "production", "replace", "1.1.0"), "", []string{"Bob <bob@example.com>"}, true)
	restore()
	if got := git(t, s.dir, "config", "user.signingkey"); got != ci {
		t.Fatalf("signing key %s, want ci's back", got)
	}
	git(t, s.dir, "reset", "-q", "--hard", "main")

	_, rep := eventsJSON(t, reg)
	ev := eventsBy(s, rep)
	for _, l := range []string{"P1", "P3", "P9", "B1", "B2"} {
		if e := ev[l]; !e.Signature.Trusted {
			t.Errorf("%s: not trusted after ci was rotated out: %+v", l, e.Signature)
		}
	}
	if e := ev["C1"]; e.Signature.Trusted || !strings.Contains(e.Signature.Reason, "only before") {
		t.Errorf("C1, signed by ci after its valid-before: %+v, want untrusted for the validity", e.Signature)
	}

	h, err := audit.History(reg, "fraud")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range h {
		if !e.Signature.Trusted {
			t.Errorf("history: %s, registered by ci while allowed, not trusted: %+v", e.Version, e.Signature)
		}
	}
	res, err := audit.Which(ctx, reg, audit.WhichOptions{Env: "production", At: at("12:30"), Model: "fraud"})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range res.Models[0].Versions {
		if !v.IntroducedBy.Signature.Trusted || !v.Manifest.Signature.Trusted {
			t.Errorf("which at 12:30: %s not trusted: %+v, %+v", v.Version, v.IntroducedBy.Signature, v.Manifest.Signature)
		}
	}
}

// git config modelgit.trustRoot pins a commit: audit trusts what it
// vouches for, and judges what follows by the signers in force there; the
// cache of another trust root is not used.
func TestAuditTrustRoot(t *testing.T) {
	s := newScenario(t)
	s.onMain(s.ids["init"])
	s.register("fraud", "1.0.0", "09:10")
	// An unsigned promotion, then the pin after it.
	s.promote("U", "production", "fraud", "1.0.0", "none", "replace", "10:00", release("fraud", "production", "replace", "1.0.0"), "", []string{"Bob <bob@example.com>"}, false)
	pin := s.main
	s.register("fraud", "1.1.0", "10:10")
	s.promote("S", "production", "fraud", "1.1.0", "1.0.0", "replace", "11:00", release("fraud", "production", "replace", "1.1.0"), "", []string{"Bob <bob@example.com>"}, true)
	git(t, s.dir, "reset", "-q", "--hard", "main")
	reg, err := gitops.Open(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	_, rep := eventsJSON(t, reg)
	if ev := eventsBy(s, rep); ev["U"].Signature.Trusted || !ev["S"].Signature.Trusted {
		t.Fatalf("from the first commit: U %+v, S %+v; want U untrusted (unsigned), S trusted", ev["U"].Signature, ev["S"].Signature)
	}
	git(t, s.dir, "config", "modelgit.trustRoot", pin)
	_, rep = eventsJSON(t, reg)
	if ev := eventsBy(s, rep); !ev["U"].Signature.Trusted || !ev["S"].Signature.Trusted {
		t.Errorf("trust root %s: U %+v, S %+v; want both trusted (U is vouched for by the pin)", pin[:7], ev["U"].Signature, ev["S"].Signature)
	}
	git(t, s.dir, "config", "modelgit.trustRoot", "nope")
	if _, err := audit.Audit(ctx, reg, audit.AuditOptions{}); err == nil || !strings.Contains(err.Error(), "modelgit.trustRoot") {
		t.Errorf("a trust root that names nothing: %v, want an error naming git config modelgit.trustRoot", err)
	}
}

// A shallow clone lacks the history the chain of trust starts from:
// audit (and report, which) still answer, with each signature "not
// judged" and what to do; a trust root pinned inside the clone judges
// them, and the cache of the shallow run is not used by the deep one.
func TestAuditShallowClone(t *testing.T) {
	s := buildScenario(t)
	clone := filepath.Join(t.TempDir(), "clone")
	git(t, s.dir, "clone", "-q", "--depth", "3", "file://"+s.dir, clone)
	reg, err := gitops.Open(clone)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Audit(ctx, reg, audit.AuditOptions{})
	if err != nil {
		t.Fatalf("audit of a shallow clone: %v", err)
	}
	if len(rep.Events) == 0 {
		t.Fatal("no events in the shallow clone")
	}
	for _, e := range rep.Events {
		if e.Signature.Trusted || !strings.Contains(e.Signature.Reason, "not judged") || !strings.Contains(e.Signature.Reason, "shallow") {
			t.Errorf("%s in a shallow clone: %+v, want not judged, saying why", s.label(e.Commit), e.Signature)
		}
	}
	git(t, clone, "config", "modelgit.trustRoot", "HEAD~1")
	if rep, err = audit.Audit(ctx, reg, audit.AuditOptions{}); err != nil {
		t.Fatal(err)
	}
	if e := rep.Events[len(rep.Events)-1]; !e.Signature.Trusted {
		t.Errorf("%s with a trust root in the clone: %+v", s.label(e.Commit), e.Signature)
	}
	git(t, clone, "config", "--unset", "modelgit.trustRoot")
	git(t, clone, "fetch", "-q", "--unshallow")
	if rep, err = audit.Audit(ctx, reg, audit.AuditOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, e := range rep.Events {
		if l := s.label(e.Commit); l != "P6" && !e.Signature.Trusted {
			t.Errorf("%s after unshallowing: %+v", l, e.Signature)
		}
	}
}

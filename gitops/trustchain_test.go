package gitops_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/check"
)

// signedBy commits what is staged, signed with the ssh key priv.
func signedBy(t *testing.T, f *fixture, priv, msg string) string {
	t.Helper()
	git(t, f.root, "-c", "user.signingkey="+priv, "commit", "-q", "-S", "-m", msg)
	return f.head()
}

// appendSigner adds a line to policies/allowed_signers and stages it.
func appendSigner(t *testing.T, f *fixture, line string) {
	t.Helper()
	p := filepath.Join(f.root, "policies", "allowed_signers")
	writeFile(t, p, readFile(t, p)+line+"\n")
	git(t, f.root, "add", "policies/allowed_signers")
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func fingerprint(t *testing.T, pub string) string {
	t.Helper()
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(pub))
	if err != nil {
		t.Fatal(err)
	}
	return ssh.FingerprintSHA256(k)
}

func signatureFindings(rep *check.VerifyReport) map[string]string {
	out := map[string]string{}
	for _, f := range rep.Findings {
		if f.Check == "signature" {
			out[f.Commit] = f.Message
		}
	}
	return out
}

// A key that is not allowed adds itself to allowed_signers, then signs a
// model change: both commits are reported by verify, over the whole
// history and over BASE..HEAD, and check with the attacked branch as its
// base still does not trust the key (the signers in force, not the file).
func TestVerifyKeyCannotTrustItself(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.register(base)
	before := f.head()
	mallory, malloryPub := sshKey(t, "mallory@example.com")
	appendSigner(t, f, `mallory@example.com namespaces="git" `+malloryPub)
	addSelf := signedBy(t, f, mallory, "Add a signer")
	writeFile(t, filepath.Join(f.root, "models/fraud/NOTES.md"), "mine now\n")
	git(t, f.root, "add", "models/fraud/NOTES.md")
	after := signedBy(t, f, mallory, "Notes")

	for _, rng := range []string{"", before + "..HEAD"} {
		rep, err := check.Verify(ctx, f.reopen(), check.VerifyOptions{Range: rng})
		if err != nil {
			t.Fatal(err)
		}
		got := signatureFindings(rep)
		if len(got) != 2 || got[addSelf] == "" || got[after] == "" {
			t.Fatalf("range %q: signature findings %v, want one on %s (adds itself) and one on %s (signed by it)", rng, rep.Findings, addSelf[:7], after[:7])
		}
		if !strings.Contains(got[after], "which is not in policies/allowed_signers") {
			t.Errorf("finding on the commit signed by the added key: %q", got[after])
		}
	}

	// The attack merged into main: a pull request signed by the key is
	// judged by the signers in force at the base, which do not include it.
	git(t, f.root, "checkout", "-q", "-b", "pr")
	writeFile(t, filepath.Join(f.root, "models/fraud/MORE.md"), "more\n")
	git(t, f.root, "add", "models/fraud/MORE.md")
	signedBy(t, f, mallory, "More notes")
	rep, err := check.Check(ctx, f.reopen(), check.CheckOptions{Base: after, Head: "pr"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Passed {
		t.Errorf("check of a pull request signed by a key that added itself on the base passed: %+v", rep.Items)
	}
	vr, err := check.Verify(ctx, f.reg, check.VerifyOptions{Range: after + "..pr"})
	if err != nil {
		t.Fatal(err)
	}
	if len(signatureFindings(vr)) != 1 {
		t.Errorf("verify %s..pr: findings %v, want the one commit of the pull request", after[:7], vr.Findings)
	}
}

// An allowed key adds a new one and retires itself with valid-before: the
// new key's commits verify, and so do the old key's earlier ones.
// Removing the old key outright distrusts what it signed (as documented).
func TestVerifyKeyRotation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.register(base)
	bob, bobPub := sshKey(t, "bob@example.com")
	retire := time.Now().Add(time.Hour).UTC().Format("20060102150405Z")
	p := filepath.Join(f.root, "policies", "allowed_signers")
	writeFile(t, p, `alice@example.com namespaces="git",valid-before="`+retire+`" `+f.pub+"\n"+`bob@example.com namespaces="git" `+bobPub+"\n")
	git(t, f.root, "add", "policies/allowed_signers")
	signedBy(t, f, f.key, "Rotate: bob in, alice retiring")
	writeFile(t, filepath.Join(f.root, "models/fraud/NOTES.md"), "by bob\n")
	git(t, f.root, "add", "models/fraud/NOTES.md")
	signedBy(t, f, bob, "Notes by bob")
	rep, err := check.Verify(ctx, f.reopen(), check.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("a rotation signed by the old key: findings %v", rep.Findings)
	}

	// Bob removes alice outright: her commits are no longer trusted.
	writeFile(t, p, `bob@example.com namespaces="git" `+bobPub+"\n")
	git(t, f.root, "add", "policies/allowed_signers")
	signedBy(t, f, bob, "Remove alice")
	rep, err = check.Verify(ctx, f.reopen(), check.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(signatureFindings(rep)) != 3 { // init, register, rotation
		t.Fatalf("after removing alice: findings %v, want her 3 commits", rep.Findings)
	}
	for _, msg := range signatureFindings(rep) {
		if !strings.Contains(msg, "no longer allow") || !strings.Contains(msg, "valid-before") {
			t.Errorf("finding %q does not say the key was removed since", msg)
		}
	}
}

// A verifier that does not trust the repository's start pins a commit
// (its history is vouched for) or the key the first commit must be signed
// with, on the command line or in git config modelgit.trustRoot.
func TestVerifyTrustRoot(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	writeFile(t, filepath.Join(f.root, "models/fraud/NOTES.md"), "notes\n")
	git(t, f.root, "add", ".")
	bad := gitCommit(t, f, false, "Unsigned notes")
	f.register(base)
	pin := f.head()
	writeFile(t, filepath.Join(f.root, "models/fraud/MORE.md"), "more\n")
	git(t, f.root, "add", ".")
	gitCommit(t, f, true, "More notes")

	rep, err := check.Verify(ctx, f.reopen(), check.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := signatureFindings(rep); len(got) != 1 || got[bad] == "" {
		t.Fatalf("from the first commit: findings %v, want one on %s", rep.Findings, bad[:7])
	}
	rep, err = check.Verify(ctx, f.reg, check.VerifyOptions{TrustRoot: pin})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Commits != 1 {
		t.Errorf("--trust-root %s: %d commits, findings %v; want the 1 commit after it and none", pin[:7], rep.Commits, rep.Findings)
	}
	git(t, f.root, "config", "modelgit.trustRoot", pin)
	if rep, err = check.Verify(ctx, f.reg, check.VerifyOptions{}); err != nil || !rep.OK() {
		t.Errorf("modelgit.trustRoot %s: %v, findings %v", pin[:7], err, rep.Findings)
	}
	git(t, f.root, "config", "--unset", "modelgit.trustRoot")

	// The first commit signed by the pinned key: only the unsigned commit
	// is reported. Signed by another key: nothing is trusted.
	rep, err = check.Verify(ctx, f.reg, check.VerifyOptions{TrustRoot: fingerprint(t, f.pub)})
	if err != nil {
		t.Fatal(err)
	}
	if got := signatureFindings(rep); len(got) != 1 || got[bad] == "" {
		t.Errorf("pinned to alice's key: findings %v, want one on %s", rep.Findings, bad[:7])
	}
	_, otherPub := sshKey(t, "other@example.com")
	rep, err = check.Verify(ctx, f.reg, check.VerifyOptions{TrustRoot: fingerprint(t, otherPub)})
	if err != nil {
		t.Fatal(err)
	}
	first := git(t, f.root, "rev-list", "--max-parents=0", "HEAD")
	got := signatureFindings(rep)
	if len(got) != 4 || !strings.Contains(got[first], "not signed by the trust root key "+fingerprint(t, otherPub)) {
		t.Errorf("pinned to another key: findings %v, want all 4 governed commits, the first not signed by the trust root key", rep.Findings)
	}
	if _, err := check.Verify(ctx, f.reg, check.VerifyOptions{TrustRoot: "no-such-rev"}); err == nil || !strings.Contains(err.Error(), "trust root") {
		t.Errorf("an unknown trust root: %v", err)
	}
}

// A shallow clone lacks the history the chain needs: verify says so
// instead of taking the clone's edge for the trust root.
func TestVerifyShallowClone(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.register(base)
	s := base
	s.weights = "weights v2\n"
	f.register(s)
	clone := filepath.Join(t.TempDir(), "clone")
	git(t, f.root, "clone", "-q", "--depth", "2", "file://"+f.root, clone)
	reg, err := gitops.Open(clone)
	if err != nil {
		t.Fatal(err)
	}
	_, err = check.Verify(ctx, reg, check.VerifyOptions{})
	mustContain(t, err, "edge of a shallow clone", "fetch-depth: 0", "--trust-root")

}

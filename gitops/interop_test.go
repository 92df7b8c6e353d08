package gitops_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/modelgit/modelgit/gitops/audit"
	"github.com/modelgit/modelgit/gitops/check"
	"github.com/modelgit/modelgit/gitops/register"
	"github.com/modelgit/modelgit/gitops/signing"
)

// TestRegisterSSHSignatureVerifiedByGit: git verify-commit accepts the
// commit Register signs with an ssh key (the fixture's).
func TestRegisterSSHSignatureVerifiedByGit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	res := f.register(base)
	_, stderr, err := runErr(f.root, nil, "", "git", "verify-commit", "-v", res.Commit.String())
	if err != nil {
		t.Fatalf("git verify-commit: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, `Good "git" signature for alice@example.com`) {
		t.Errorf("git verify-commit said:\n%s", stderr)
	}
	// And git's own view of the signature: G = good and trusted.
	if got := git(t, f.root, "log", "-1", "--format=%G?", res.Commit.String()); got != "G" {
		t.Errorf("%%G? = %q, want G", got)
	}
}

// TestRegisterOpenPGPSignatureVerifiedByGit: a commit Register signs with
// an OpenPGP key passes git verify-commit with that key in GNUPGHOME, and
// modelgit's Verify trusts it through policies/allowed_signers.asc.
func TestRegisterOpenPGPSignatureVerifiedByGit(t *testing.T) {
	t.Parallel()
	home, secret, public := gpgKey(t, "Bob <bob@example.com>")
	signer, err := signing.OpenPGPSigner(secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	bob := object.Signature{Name: "Bob", Email: "bob@example.com"}
	root := filepath.Join(t.TempDir(), "gitops")
	if _, err := register.Init(ctx, root, register.InitOptions{AllowedKey: public, Identity: bob, Signer: signer}); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, root: root, signer: signer}
	f.reopen()
	o := f.options(base)
	o.Identity = bob
	res, err := register.Register(ctx, f.reg, o)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"GNUPGHOME=" + home}
	for _, c := range []string{"HEAD~1", res.Commit.String()} {
		if _, stderr, err := runErr(root, env, "", "git", "verify-commit", c); err != nil {
			t.Fatalf("git verify-commit %s: %v\n%s", c, err, stderr)
		}
	}
	rep, err := check.Verify(ctx, f.reg, check.VerifyOptions{Deep: true})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Governed != 2 {
		t.Errorf("Verify: %d governed, findings %v", rep.Governed, rep.Findings)
	}
	h, err := audit.History(f.reg, "fraud")
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 1 || !h[0].Signature.Trusted || h[0].Signature.Format != signing.FormatOpenPGP {
		t.Errorf("History: %+v", h)
	}
}

// TestVerifyAcceptsCommitsByGit: a commit made by the real `git commit -S`
// (ssh format) that touches models/ passes Verify when its key is in
// policies/allowed_signers, and is a "signature" finding when it is not.
func TestVerifyAcceptsCommitsByGit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.register(base)
	writeFile(t, filepath.Join(f.root, "models/fraud/NOTES.md"), "signed by git\n")
	git(t, f.root, "add", ".")
	good := gitCommit(t, f, true, "Notes signed by git")
	rep, err := check.Verify(ctx, f.reg, check.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Governed != 3 {
		t.Fatalf("git commit -S with an allowed key: %d governed, findings %v", rep.Governed, rep.Findings)
	}

	// Another key, not in allowed_signers.
	mallory, _ := sshKey(t, "mallory@example.com")
	writeFile(t, filepath.Join(f.root, "models/fraud/NOTES.md"), "signed by someone else\n")
	git(t, f.root, "add", ".")
	git(t, f.root, "-c", "user.signingkey="+mallory, "-c", "user.email=mallory@example.com", "commit", "-q", "-S", "-m", "Notes by mallory")
	bad := f.head()
	rep, err = check.Verify(ctx, f.reg, check.VerifyOptions{Range: good + "..HEAD"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Check != "signature" || rep.Findings[0].Commit != bad {
		t.Fatalf("git commit -S with an unknown key: findings %v, want one signature finding on %s", rep.Findings, bad[:7])
	}
	// git agrees: the signature is valid but its key is not allowed.
	if _, _, err := runErr(f.root, nil, "", "git", "verify-commit", bad); err == nil {
		t.Error("git verify-commit accepted a key missing from allowed_signers")
	}

	// Allowing mallory's key (in a commit signed by alice) trusts her
	// commits from then on, not the one made before: a commit is judged
	// by the signers in force at its parent (the chain of trust).
	pub, err := os.ReadFile(mallory + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	as := filepath.Join(f.root, "policies", "allowed_signers")
	cur, err := os.ReadFile(as)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, as, string(cur)+`mallory@example.com namespaces="git" `+string(pub))
	git(t, f.root, "add", ".")
	allowed := gitCommit(t, f, true, "Allow mallory")
	writeFile(t, filepath.Join(f.root, "models/fraud/NOTES.md"), "signed by mallory, now allowed\n")
	git(t, f.root, "add", ".")
	git(t, f.root, "-c", "user.signingkey="+mallory, "-c", "user.email=mallory@example.com", "commit", "-q", "-S", "-m", "More notes by mallory")
	rep, err = check.Verify(ctx, f.reg, check.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Commit != bad {
		t.Errorf("after allowing the key: findings %v, want only the one on %s, made before", rep.Findings, bad[:7])
	}
	rep, err = check.Verify(ctx, f.reg, check.VerifyOptions{Range: allowed + "..HEAD"})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Errorf("a commit by the key once allowed: %v", rep.Findings)
	}
}

package signing_test

import (
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops/signing"
	"github.com/modelgit/modelgit/gitops/signing/signingtest"
)

func TestOpenPGP(t *testing.T) {
	isolate(t)
	gk := signingtest.NewGPGKey(t, "Pat <pat@example.com>", "default", "default")
	fpr, secret := gk.Fingerprint, gk.Secret
	env := []string{"GNUPGHOME=" + gk.Home}
	keyring, err := signing.LoadKeyRing(gk.Public)
	if err != nil {
		t.Fatal(err)
	}
	r := newRepo(t)

	t.Run("OpenPGPSigner passes git verify-commit", func(t *testing.T) {
		s, err := signing.OpenPGPSigner(secret, nil)
		if err != nil {
			t.Fatal(err)
		}
		if s.Format() != "openpgp" || s.KeyID() != fpr {
			t.Errorf("Format, KeyID = %q, %q; want openpgp, %s", s.Format(), s.KeyID(), fpr)
		}
		c := signedCommit(t, r, s, "pgp in go")
		out := runIn(t, r.Root, env, "git", "verify-commit", "-v", "HEAD")
		if !strings.Contains(out, "Good signature from \"Pat <pat@example.com>\"") {
			t.Errorf("git verify-commit:\n%s", out)
		}
		res := signing.VerifyCommit(c, nil, keyring)
		if !res.Trusted || res.Principal != "Pat <pat@example.com>" || res.KeyFingerprint != fpr {
			t.Errorf("VerifyCommit = %+v", res)
		}
	})

	t.Run("GPGSigner passes git verify-commit", func(t *testing.T) {
		t.Setenv("GNUPGHOME", gk.Home)
		s := signing.GPGSigner(fpr)
		c := signedCommit(t, r, s, "pgp via gpg")
		runIn(t, r.Root, env, "git", "verify-commit", "HEAD")
		if res := signing.VerifyCommit(c, nil, keyring); !res.Trusted {
			t.Errorf("VerifyCommit = %+v", res)
		}
		if _, err := signing.GPGSigner("nobody@nowhere.invalid").Sign(strings.NewReader("x")); err == nil || !strings.Contains(err.Error(), "nobody@nowhere.invalid") {
			t.Errorf("GPGSigner(unknown).Sign = %v", err)
		}
	})

	t.Run("git commit -S passes VerifyCommit", func(t *testing.T) {
		runIn(t, r.Root, env, "git", "-c", "gpg.format=openpgp", "-c", "user.signingkey="+fpr, "commit", "-S", "--allow-empty", "-m", "signed by git gpg")
		c := headCommit(t, r)
		if res := signing.VerifyCommit(c, nil, keyring); !res.Trusted || res.Format != "openpgp" {
			t.Errorf("VerifyCommit = %+v", res)
		}
		res := signing.VerifyCommit(c, nil, nil)
		if res.Trusted || !res.Signed || !strings.Contains(res.Reason, "allowed_signers.asc") {
			t.Errorf("VerifyCommit(empty keyring) = %+v", res)
		}
		if !strings.Contains(res.Reason, fpr[len(fpr)-16:]) {
			t.Errorf("reason %q does not name key %s", res.Reason, fpr)
		}
		tampered := *c
		tampered.Message = "changed\n"
		if res := signing.VerifyCommit(&tampered, nil, keyring); res.Trusted || !strings.Contains(res.Reason, "bad OpenPGP signature") {
			t.Errorf("VerifyCommit(tampered) = %+v", res)
		}
	})
}

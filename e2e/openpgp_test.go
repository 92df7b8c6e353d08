package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// openPGPHeads has Flux verify OpenPGP signatures as it verifies ssh
// ones: Erin (ssh) adds Olga's OpenPGP key to policies/allowed_signers.asc,
// the verification Secret is re-applied from it, and a head Olga signed
// with gpg is fetched and applied. A head signed by an OpenPGP key nobody
// trusted (Mallory's) is refused by source-controller, status says so,
// and a revert Erin signs brings the cluster back in step.
func (s *story) openPGPHeads() {
	s.t.Helper()
	home := filepath.Join(s.dir, "gnupg")
	if err := os.MkdirAll(home, 0o700); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() {
		cmd := exec.Command("gpgconf", "--kill", "all")
		cmd.Env = append(os.Environ(), "GNUPGHOME="+home)
		_ = cmd.Run()
	})
	env := append(append([]string{}, cliEnv...), "GNUPGHOME="+home)
	gpg := func(args ...string) string {
		s.t.Helper()
		out, err := run(s.dir, env, "gpg", append([]string{"--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", ""}, args...)...)
		if err != nil {
			s.t.Fatalf("gpg is needed (apt-get install -y gnupg): %v", err)
		}
		return out
	}
	keygen := func(uid string) string {
		s.t.Helper()
		gpg("--quick-gen-key", uid, "ed25519", "sign", "never")
		for _, line := range strings.Split(gpg("--with-colons", "--list-secret-keys", "="+uid), "\n") {
			if f := strings.Split(line, ":"); len(f) > 9 && f[0] == "fpr" {
				return f[9]
			}
		}
		s.t.Fatalf("no fingerprint for %q", uid)
		return ""
	}
	olga, mallory := keygen("Olga Operator <olga@example.com>"), keygen("Mallory <mallory@example.com>")

	asc := filepath.Join(s.reg, "policies", "allowed_signers.asc")
	old, err := os.ReadFile(asc)
	if err != nil && !os.IsNotExist(err) {
		s.t.Fatal(err)
	}
	s.writeFile(asc, string(old)+gpg("--armor", "--export", olga))
	s.git("add", "policies/allowed_signers.asc")
	s.git("commit", "-q", "-S", "-m", "Trust Olga's OpenPGP key")
	s.push()
	s.applyVerifySecret()
	s.follow(s.mainSHA())

	// pgpCommit commits a note signed with fpr's OpenPGP key and pushes it.
	pgpCommit := func(name, email, fpr string) string {
		s.t.Helper()
		s.writeFile(filepath.Join(s.reg, "NOTES.md"), "on call: "+name+"\n")
		git := func(args ...string) {
			s.t.Helper()
			if _, err := run(s.reg, env, "git", args...); err != nil {
				s.t.Fatal(err)
			}
		}
		git("add", "NOTES.md")
		git("-c", "gpg.format=openpgp", "-c", "user.signingkey="+fpr, "-c", "user.name="+name, "-c", "user.email="+email,
			"commit", "-q", "-S", "-m", name+" is on call")
		s.push()
		return s.mainSHA()
	}
	s.follow(pgpCommit("Olga Operator", "olga@example.com", olga))
	s.wantState("applied", "")

	bad := pgpCommit("Mallory", "mallory@example.com", mallory)
	s.c.trigger()
	waitFor(s.t, reconcileTimeout, "source-controller to refuse the head Mallory signed", func() error {
		g, err := s.c.flux(gitRepositoryGVR)
		if err != nil {
			return err
		}
		st, msg := conditionFull(g, "Ready")
		if st != "False" || !strings.Contains(msg, bad[:7]) {
			return errf("GitRepository Ready=%q (%s), want False naming %s", st, msg, bad[:7])
		}
		return nil
	})
	// The release was applied before; status says the source now fails.
	s.wantState("applied", "GitRepository")
	s.git("revert", "--no-edit", "-S", "HEAD")
	s.push()
	s.follow(s.mainSHA())
	s.wantState("applied", "")
}

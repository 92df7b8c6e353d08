package signing_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/object"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/modelgit/modelgit/gitops/signing"
	"github.com/modelgit/modelgit/gitops/signing/signingtest"
)

func TestSSHSignedCommitPassesGitVerifyCommit(t *testing.T) {
	isolate(t)
	key, pub := signingtest.SSHKey(t, "alice")
	priv, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signing.SSHSigner(priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Format() != "ssh" || !strings.HasPrefix(s.KeyID(), "SHA256:") {
		t.Errorf("Format, KeyID = %q, %q", s.Format(), s.KeyID())
	}
	r := newRepo(t)
	c := signedCommit(t, r, s, "register a")
	allowed := writeFile(t, filepath.Join(t.TempDir(), "allowed_signers"), `alice@example.com namespaces="git" `+pub+"\n")
	out := runIn(t, r.Root, nil, "git", "-c", "gpg.ssh.allowedSignersFile="+allowed, "verify-commit", "-v", "HEAD")
	if !strings.Contains(out, `Good "git" signature for alice@example.com`) {
		t.Errorf("git verify-commit output:\n%s", out)
	}
	if fp := runIn(t, "", nil, "ssh-keygen", "-lf", key+".pub"); !strings.Contains(fp, s.KeyID()) {
		t.Errorf("KeyID %s not in ssh-keygen -lf output %q", s.KeyID(), fp)
	}

	signers, err := signing.ParseAllowedSigners("policies/allowed_signers", []byte(`alice@example.com namespaces="git" `+pub+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	res := signing.VerifyCommit(c, signers, nil)
	if !res.Trusted || res.Principal != "alice@example.com" || res.KeyFingerprint != s.KeyID() || res.Format != "ssh" {
		t.Errorf("VerifyCommit = %+v", res)
	}

	// LoadSSHSigner from the .pub finds the private key beside it.
	s2, err := signing.LoadSSHSigner(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	signedCommit(t, r, s2, "register b")
	runIn(t, r.Root, nil, "git", "-c", "gpg.ssh.allowedSignersFile="+allowed, "verify-commit", "HEAD")
}

func TestGitSSHCommitPassesVerifyCommit(t *testing.T) {
	isolate(t)
	key, pub := signingtest.SSHKey(t, "bob")
	r := newRepo(t)
	runIn(t, r.Root, nil, "git", "-c", "gpg.format=ssh", "-c", "user.signingkey="+key+".pub",
		"commit", "-S", "--allow-empty", "-m", "signed by git\n\nModel: a")
	signers, err := signing.ParseAllowedSigners("allowed_signers", []byte("# team\n\n\"bob@example.com,*@ops.example.com\" "+pub+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	res := signing.VerifyCommit(headCommit(t, r), signers, nil)
	if !res.Trusted || !res.Signed || res.Principal != "bob@example.com,*@ops.example.com" {
		t.Errorf("VerifyCommit = %+v", res)
	}
}

func TestVerifyCommitUntrusted(t *testing.T) {
	isolate(t)
	key, pub := signingtest.SSHKey(t, "alice")
	_, otherPub := signingtest.SSHKey(t, "mallory")
	s, err := signing.LoadSSHSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	r := newRepo(t)
	unsigned := signedCommit(t, r, nil, "unsigned")
	signed := signedCommit(t, r, s, "signed")
	tampered := *signed
	tampered.Message = "signed but changed\n"

	tests := []struct {
		name       string
		commit     *object.Commit
		allowed    string
		wantSigned bool
		wantReason string
	}{
		{"unsigned", unsigned, "a@x " + pub, false, "is not signed"},
		{"unknown signer", signed, "m@x " + otherPub, true, s.KeyID() + ", which is not in policies/allowed_signers"},
		{"tampered", &tampered, "a@x " + pub, true, "bad ssh signature"},
		{"namespace mismatch", signed, `a@x namespaces="file" ` + pub, true, `only for namespaces "file"`},
		{"expired", signed, `a@x valid-before="20200101" ` + pub, true, "expired"},
		{"not yet valid", signed, `a@x valid-after="20300101Z" ` + pub, true, "only after"},
		{"empty policy", signed, "", true, "not in policies/allowed_signers"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			signers, err := signing.ParseAllowedSigners("policies/allowed_signers", []byte(tc.allowed))
			if err != nil {
				t.Fatal(err)
			}
			res := signing.VerifyCommit(tc.commit, signers, nil)
			if res.Trusted || res.Signed != tc.wantSigned || !strings.Contains(res.Reason, tc.wantReason) {
				t.Errorf("VerifyCommit = %+v, want untrusted, signed=%v, reason containing %q", res, tc.wantSigned, tc.wantReason)
			}
		})
	}
}

func TestGitAgreesOnUntrusted(t *testing.T) {
	isolate(t)
	key, pub := signingtest.SSHKey(t, "alice")
	s, err := signing.LoadSSHSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	r := newRepo(t)
	signedCommit(t, r, s, "signed")
	for _, line := range []string{`a@x namespaces="file" ` + pub, `a@x valid-before="20200101" ` + pub} {
		allowed := writeFile(t, filepath.Join(t.TempDir(), "allowed_signers"), line+"\n")
		if out, err := runErr(r.Root, nil, "git", "-c", "gpg.ssh.allowedSignersFile="+allowed, "verify-commit", "HEAD"); err == nil {
			t.Errorf("git verify-commit accepted %q:\n%s", line, out)
		}
	}
}

func TestLoadSSHSignerThroughAgent(t *testing.T) {
	isolate(t)
	key, pub := signingtest.SSHKey(t, "carol")
	pubKey, _, _, _, err := ssh.ParseAuthorizedKey([]byte(pub))
	if err != nil {
		t.Fatal(err)
	}
	// Only the public key is on disk: without an agent, the error says
	// what to do.
	onlyPub := writeFile(t, filepath.Join(t.TempDir(), "carol.pub"), pub+"\n")
	if _, err := signing.LoadSSHSigner(onlyPub); err == nil || !strings.Contains(err.Error(), "SSH_AUTH_SOCK") {
		t.Errorf("LoadSSHSigner without agent = %v, want an error naming SSH_AUTH_SOCK", err)
	}

	// A real ssh-agent protocol server in-process holding the key.
	privBytes, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := ssh.ParseRawPrivateKey(privBytes)
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	kr := agent.NewKeyring()
	if err := kr.Add(agent.AddedKey{PrivateKey: raw}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { _ = agent.ServeAgent(kr, c); c.Close() }()
		}
	}()
	t.Setenv("SSH_AUTH_SOCK", sock)

	for _, spec := range []string{onlyPub, "key::" + pub} {
		s, err := signing.LoadSSHSigner(spec)
		if err != nil {
			t.Fatalf("LoadSSHSigner(%q): %v", spec, err)
		}
		if s.KeyID() != ssh.FingerprintSHA256(pubKey) {
			t.Errorf("KeyID = %s", s.KeyID())
		}
		r := newRepo(t)
		signedCommit(t, r, s, "via agent")
		allowed := writeFile(t, filepath.Join(t.TempDir(), "allowed_signers"), "carol@example.com "+pub+"\n")
		runIn(t, r.Root, nil, "git", "-c", "gpg.ssh.allowedSignersFile="+allowed, "verify-commit", "HEAD")
	}

	_, otherPub := signingtest.SSHKey(t, "dave")
	if _, err := signing.LoadSSHSigner("key::" + otherPub); err == nil || !strings.Contains(err.Error(), "ssh-add") {
		t.Errorf("LoadSSHSigner(key not in agent) = %v, want an error saying ssh-add", err)
	}
}

func TestLoadSSHSignerErrors(t *testing.T) {
	isolate(t)
	missing := filepath.Join(t.TempDir(), "nope")
	_, err := signing.LoadSSHSigner(missing)
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "user.signingkey") {
		t.Errorf("LoadSSHSigner(missing) = %v", err)
	}
	junk := writeFile(t, filepath.Join(t.TempDir(), "junk"), "not a key")
	if _, err := signing.LoadSSHSigner(junk); err == nil || !strings.Contains(err.Error(), junk) {
		t.Errorf("LoadSSHSigner(junk) = %v", err)
	}
	if _, err := signing.LoadSSHSigner("key::nonsense"); err == nil {
		t.Error("LoadSSHSigner(bad literal) succeeded")
	}
	// A passphrase-protected key with no agent says to ssh-add it.
	p := filepath.Join(t.TempDir(), "enc")
	runIn(t, "", nil, "ssh-keygen", "-q", "-t", "ed25519", "-N", "secret", "-f", p)
	if _, err := signing.LoadSSHSigner(p); err == nil || !strings.Contains(err.Error(), "ssh-add") {
		t.Errorf("LoadSSHSigner(encrypted) = %v, want ssh-add advice", err)
	}
	b, _ := os.ReadFile(p)
	if _, err := signing.SSHSigner(b, []byte("secret")); err != nil {
		t.Errorf("SSHSigner with passphrase: %v", err)
	}
	var pm *ssh.PassphraseMissingError
	if _, err := signing.SSHSigner(b, nil); !errors.As(err, &pm) {
		t.Errorf("SSHSigner without passphrase = %v, want PassphraseMissingError", err)
	}
}

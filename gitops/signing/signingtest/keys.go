package signingtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// SSHKey makes an unprotected ed25519 key with the real ssh-keygen in a
// temp directory and returns the private key path and the public key line.
func SSHKey(t testing.TB, comment string) (priv, pub string) {
	t.Helper()
	need(t, "ssh-keygen", "apt-get install -y openssh-client")
	priv = filepath.Join(t.TempDir(), "id_ed25519")
	run(t, nil, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", priv)
	b, err := os.ReadFile(priv + ".pub")
	if err != nil {
		t.Fatalf("reading public key %q: %v", priv+".pub", err)
	}
	return priv, strings.TrimSpace(string(b))
}

// GPGKey is an unprotected OpenPGP key made by the real gpg.
type GPGKey struct {
	// Home is the GNUPGHOME holding the key, removed (and its gpg-agent
	// stopped) at test cleanup.
	Home string
	// Fingerprint is the primary key's fingerprint, upper-case hex.
	Fingerprint string
	// Secret and Public are the armored secret and public keys.
	Secret, Public []byte
}

// NewGPGKey makes a key for uid in a fresh GNUPGHOME with gpg
// --quick-gen-key uid algo usage never: "default", "default" gives gpg's
// default key (rsa3072 with an encryption subkey on gpg 2.2), "ed25519",
// "sign" an ed25519 signing-only key.
func NewGPGKey(t testing.TB, uid, algo, usage string) GPGKey {
	t.Helper()
	need(t, "gpg", "apt-get install -y gnupg")
	// gpg-agent's socket path must be short: not t.TempDir().
	home, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatalf("creating GNUPGHOME: %v", err)
	}
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatalf("restricting GNUPGHOME %q: %v", home, err)
	}
	env := []string{"GNUPGHOME=" + home}
	t.Cleanup(func() {
		_, _ = command(env, "gpgconf", "--kill", "gpg-agent").CombinedOutput()
		os.RemoveAll(home)
	})
	run(t, env, "gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", uid, algo, usage, "never")
	out := run(t, env, "gpg", "--batch", "--with-colons", "--list-secret-keys", uid)
	k := GPGKey{Home: home}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Split(l, ":"); len(f) > 9 && f[0] == "fpr" {
			k.Fingerprint = f[9]
			break
		}
	}
	if k.Fingerprint == "" {
		t.Fatalf("no fingerprint in gpg output:\n%s", out)
	}
	k.Secret = []byte(run(t, env, "gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--armor", "--export-secret-keys", k.Fingerprint))
	k.Public = []byte(run(t, env, "gpg", "--batch", "--armor", "--export", k.Fingerprint))
	return k
}

// need fails the test, naming the install command, when tool is missing.
func need(t testing.TB, tool, install string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Fatalf("%s is required: %s", tool, install)
	}
}

// command is name with args and the environment plus env.
func command(env []string, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

// run runs a command and returns its stdout, failing the test with its
// stderr on error.
func run(t testing.TB, env []string, name string, args ...string) string {
	t.Helper()
	cmd := command(env, name, args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("running %s %s: %v\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

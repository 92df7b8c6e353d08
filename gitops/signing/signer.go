package signing

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// Signature formats, as in git's gpg.format.
const (
	FormatSSH     = "ssh"
	FormatOpenPGP = "openpgp"
)

// sshNamespace is the sshsig namespace git uses for commits and tags.
const sshNamespace = "git"

// Signer signs the encoded form of a git object (commit without its gpgsig
// header) and returns the armored signature git stores in the gpgsig header.
// It satisfies go-git's git.Signer interface.
type Signer interface {
	// Sign returns the armored detached signature of message.
	Sign(message io.Reader) ([]byte, error)
	// Format returns "ssh" or "openpgp".
	Format() string
	// KeyID returns the key's fingerprint, for messages.
	KeyID() string
}

// sshSigner signs with an ssh.Signer (a private key in memory or an agent).
type sshSigner struct {
	signer ssh.Signer
}

// SSHSigner returns a Signer for an OpenSSH (or PEM) private key, decrypted
// with passphrase when it is encrypted. Signatures use the "git" namespace
// and sha512 and are armored like `ssh-keygen -Y sign` output.
func SSHSigner(privateKeyPEM []byte, passphrase []byte) (Signer, error) {
	var (
		s   ssh.Signer
		err error
	)
	if len(passphrase) > 0 {
		s, err = ssh.ParsePrivateKeyWithPassphrase(privateKeyPEM, passphrase)
	} else {
		s, err = ssh.ParsePrivateKey(privateKeyPEM)
	}
	if err != nil {
		return nil, fmt.Errorf("parsing ssh private key: %w", err)
	}
	return &sshSigner{signer: s}, nil
}

func (s *sshSigner) Sign(message io.Reader) ([]byte, error) {
	sig, err := sshsig.Sign(message, s.signer, sshsig.HashSHA512, sshNamespace)
	if err != nil {
		return nil, fmt.Errorf("signing with ssh key %s: %w", s.KeyID(), err)
	}
	return armorSSH(sig.Marshal()), nil
}

func (s *sshSigner) Format() string { return FormatSSH }

func (s *sshSigner) KeyID() string { return ssh.FingerprintSHA256(s.signer.PublicKey()) }

// armorSSH wraps a wire-format sshsig blob exactly like ssh-keygen does
// (sshbuf_dtob64 with 70 columns).
func armorSSH(blob []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(blob)
	var b bytes.Buffer
	b.WriteString("-----BEGIN SSH SIGNATURE-----\n")
	for len(enc) > 70 {
		b.WriteString(enc[:70])
		b.WriteByte('\n')
		enc = enc[70:]
	}
	if enc != "" {
		b.WriteString(enc)
		b.WriteByte('\n')
	}
	b.WriteString("-----END SSH SIGNATURE-----\n")
	return b.Bytes()
}

// LoadSSHSigner returns a Signer for the key named like git's user.signingkey
// with gpg.format=ssh: a path to a private key; a path to a public key (.pub)
// whose private key sits beside it without the .pub suffix, or which
// ssh-agent holds; or a literal "key::ssh-ed25519 AAAA…", signed by ssh-agent
// (SSH_AUTH_SOCK). A leading "~/" is expanded. Passphrase-protected keys are
// used through ssh-agent.
func LoadSSHSigner(path string) (Signer, error) {
	if lit, ok := strings.CutPrefix(path, "key::"); ok {
		pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(lit))
		if err != nil {
			return nil, fmt.Errorf("parsing literal signing key %q: %w (want \"key::ssh-ed25519 AAAA…\")", lit, err)
		}
		return agentSigner(pub, fmt.Sprintf("literal key %s", ssh.FingerprintSHA256(pub)))
	}
	path = expandHome(path)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading ssh signing key %q: %w (set `git config user.signingkey` to an existing key file or pass --signing-key)", path, err)
	}
	if pub, _, _, _, perr := ssh.ParseAuthorizedKey(data); perr == nil {
		priv := strings.TrimSuffix(path, ".pub")
		if priv != path {
			if pdata, err := os.ReadFile(priv); err == nil {
				s, err := loadPrivate(priv, pdata)
				if err == nil {
					return s, nil
				}
				var pm *ssh.PassphraseMissingError
				if !errors.As(err, &pm) {
					return nil, err
				}
			}
		}
		return agentSigner(pub, fmt.Sprintf("public key %q", path))
	}
	return loadPrivate(path, data)
}

// loadPrivate parses an unencrypted private key, or falls back to ssh-agent
// for an encrypted one.
func loadPrivate(path string, data []byte) (Signer, error) {
	s, err := ssh.ParsePrivateKey(data)
	if err == nil {
		return &sshSigner{signer: s}, nil
	}
	var pm *ssh.PassphraseMissingError
	if errors.As(err, &pm) && pm.PublicKey != nil {
		if as, aerr := agentSigner(pm.PublicKey, fmt.Sprintf("passphrase-protected key %q", path)); aerr == nil {
			return as, nil
		}
		return nil, fmt.Errorf("loading ssh signing key %q: it is passphrase-protected and ssh-agent does not hold it (run `ssh-add %s`): %w", path, path, err)
	}
	return nil, fmt.Errorf("parsing ssh signing key %q: %w (want an OpenSSH private key or a .pub file)", path, err)
}

func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return p
}

// agentKey is an ssh.Signer whose private half lives in ssh-agent. It dials
// the agent for each signature so that no connection is held open.
type agentKey struct {
	pub  ssh.PublicKey
	sock string
}

// agentSigner checks that ssh-agent holds pub and returns a Signer using it.
func agentSigner(pub ssh.PublicKey, what string) (Signer, error) {
	sock := os.Getenv("SSH_AUTH_SOCK")
	if sock == "" {
		return nil, fmt.Errorf("signing with %s: no private key beside it and SSH_AUTH_SOCK is not set (start ssh-agent and `ssh-add` the key, or point user.signingkey at the private key)", what)
	}
	k := &agentKey{pub: pub, sock: sock}
	err := k.with(func(c agent.ExtendedAgent) error {
		keys, err := c.List()
		if err != nil {
			return err
		}
		want := pub.Marshal()
		for _, have := range keys {
			if bytes.Equal(have.Marshal(), want) {
				return nil
			}
		}
		return fmt.Errorf("ssh-agent does not hold %s (run `ssh-add` with its private key)", ssh.FingerprintSHA256(pub))
	})
	if err != nil {
		return nil, fmt.Errorf("signing with %s through ssh-agent: %w", what, err)
	}
	return &sshSigner{signer: k}, nil
}

func (k *agentKey) with(fn func(agent.ExtendedAgent) error) error {
	conn, err := net.Dial("unix", k.sock)
	if err != nil {
		return fmt.Errorf("connecting to ssh-agent at %q: %w", k.sock, err)
	}
	defer conn.Close()
	return fn(agent.NewClient(conn))
}

func (k *agentKey) PublicKey() ssh.PublicKey { return k.pub }

func (k *agentKey) Sign(_ io.Reader, data []byte) (*ssh.Signature, error) {
	return k.SignWithAlgorithm(nil, data, "")
}

func (k *agentKey) SignWithAlgorithm(_ io.Reader, data []byte, algorithm string) (*ssh.Signature, error) {
	var flags agent.SignatureFlags
	switch algorithm {
	case ssh.KeyAlgoRSASHA256:
		flags = agent.SignatureFlagRsaSha256
	case ssh.KeyAlgoRSASHA512:
		flags = agent.SignatureFlagRsaSha512
	}
	var sig *ssh.Signature
	err := k.with(func(c agent.ExtendedAgent) error {
		var err error
		sig, err = c.SignWithFlags(k.pub, data, flags)
		return err
	})
	return sig, err
}

// openPGPSigner signs with an in-memory OpenPGP secret key.
type openPGPSigner struct {
	entity *openpgp.Entity
}

// OpenPGPSigner returns a Signer for the first secret key of an armored
// OpenPGP secret key block (as `gpg --export-secret-keys --armor` prints),
// decrypted with passphrase when it is protected. It makes armored detached
// signatures, as gpg -bsa does.
func OpenPGPSigner(armoredPrivateKey []byte, passphrase []byte) (Signer, error) {
	el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(armoredPrivateKey))
	if err != nil {
		return nil, fmt.Errorf("reading OpenPGP secret key: %w", err)
	}
	for _, e := range el {
		if e.PrivateKey == nil {
			continue
		}
		if e.PrivateKey.Encrypted {
			if len(passphrase) == 0 {
				return nil, fmt.Errorf("reading OpenPGP secret key %X: it is passphrase-protected and no passphrase was given", e.PrimaryKey.Fingerprint)
			}
			if err := e.DecryptPrivateKeys(passphrase); err != nil {
				return nil, fmt.Errorf("decrypting OpenPGP secret key %X: %w", e.PrimaryKey.Fingerprint, err)
			}
		}
		return &openPGPSigner{entity: e}, nil
	}
	return nil, errors.New("reading OpenPGP secret key: the armored block holds no secret key (export it with `gpg --export-secret-keys --armor KEYID`)")
}

func (s *openPGPSigner) Sign(message io.Reader) ([]byte, error) {
	var b bytes.Buffer
	cfg := &packet.Config{DefaultHash: crypto.SHA512}
	if err := openpgp.ArmoredDetachSign(&b, s.entity, message, cfg); err != nil {
		return nil, fmt.Errorf("signing with OpenPGP key %s: %w", s.KeyID(), err)
	}
	if !bytes.HasSuffix(b.Bytes(), []byte("\n")) {
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

func (s *openPGPSigner) Format() string { return FormatOpenPGP }

func (s *openPGPSigner) KeyID() string { return fmt.Sprintf("%X", s.entity.PrimaryKey.Fingerprint) }

// gpgSigner shells out to gpg.
type gpgSigner struct {
	keyID   string
	program string
}

// GPGSigner returns a Signer that runs `gpg --status-fd=2 -bsau KEYID`
// exactly as git does. Shelling out is deliberate: the secret keys live in
// gpg-agent (possibly on a smartcard), which no Go library can drive.
// GNUPGHOME and GPG_TTY are inherited from the environment.
func GPGSigner(keyID string) Signer {
	return &gpgSigner{keyID: keyID, program: "gpg"}
}

func (s *gpgSigner) Sign(message io.Reader) ([]byte, error) {
	// git runs the program named by gpg.program with these arguments and
	// checks the status output for SIG_CREATED (gpg-interface.c).
	cmd := exec.Command(s.program, "--status-fd=2", "-bsau", s.keyID)
	cmd.Stdin = message
	var out, status bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &status
	err := cmd.Run()
	if err != nil || !bytes.Contains(append([]byte{'\n'}, status.Bytes()...), []byte("\n[GNUPG:] SIG_CREATED ")) {
		if err == nil {
			err = errors.New("no SIG_CREATED in status output")
		}
		return nil, fmt.Errorf("signing with %s key %q: %w: %s", s.program, s.keyID, err, strings.TrimSpace(status.String()))
	}
	// Like git, drop any CR gpg may have emitted before LF.
	return bytes.ReplaceAll(out.Bytes(), []byte("\r\n"), []byte("\n")), nil
}

func (s *gpgSigner) Format() string { return FormatOpenPGP }

func (s *gpgSigner) KeyID() string { return s.keyID }

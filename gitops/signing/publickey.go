package signing

import (
	"bytes"
	"fmt"
	"os/exec"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"golang.org/x/crypto/ssh"
)

// PublicKey returns what others need to trust s's signatures: for SSH an
// authorized_keys line (`ssh-ed25519 AAAA…`) for an allowed_signers entry,
// for OpenPGP the armored public key.
func PublicKey(s Signer) (sshKey string, openPGP []byte, err error) {
	switch s := s.(type) {
	case SSHKeyHolder: // a key file, ssh-agent, or a Signer wrapping one
		return string(bytes.TrimSpace(ssh.MarshalAuthorizedKey(s.SSHPublicKey()))), nil, nil
	case *openPGPSigner:
		var buf bytes.Buffer
		w, err := armor.Encode(&buf, "PGP PUBLIC KEY BLOCK", nil)
		if err != nil {
			return "", nil, err
		}
		if err := s.entity.Serialize(w); err != nil {
			return "", nil, fmt.Errorf("exporting OpenPGP public key %s: %w", s.KeyID(), err)
		}
		if err := w.Close(); err != nil {
			return "", nil, err
		}
		return "", buf.Bytes(), nil
	case *gpgSigner:
		// The key lives in gpg's keyring: ask gpg for its public half.
		out, err := exec.Command(s.program, "--armor", "--export", s.keyID).Output()
		if err != nil {
			return "", nil, fmt.Errorf("exporting OpenPGP public key %q with %s: %w", s.keyID, s.program, err)
		}
		if len(out) == 0 {
			return "", nil, fmt.Errorf("exporting OpenPGP public key %q with %s: no such key in the keyring (for an SSH key, set git config gpg.format ssh)", s.keyID, s.program)
		}
		return "", out, nil
	}
	return "", nil, fmt.Errorf("exporting the public key of a %s signer: not supported", s.Format())
}

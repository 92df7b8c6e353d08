package register

import (
	"fmt"
	"time"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/manifests"
)

// ErrUntrustedSigner is wrapped by Register when the signing key is not an
// allowed signer at HEAD: its commit would be reported "not trusted" by
// verify and fail check.
var ErrUntrustedSigner = fmt.Errorf("the signing key is not an allowed signer")

// checkSigner refuses, before anything is stored, a signing key that
// policies/allowed_signers (or allowed_signers.asc) at HEAD does not
// trust, by every rule of the file (principals, namespaces, validity)
// that verify and check will apply to the real commit.
//
// An SSH key (a key file, or a key ssh-agent holds) is judged by its
// public key, which is known without signing, through the verifier's own
// matching (gitops.SignerTrusted): register signs once, which matters
// for a hardware key that asks for a touch per signature.
//
// An OpenPGP key still signs a probe commit that is verified as the real
// one will be: what the verifier checks (go-crypto's check of a
// signature against the key ring) depends on which of the key's subkeys
// signs and that subkey's expiry and revocation at the signature's time,
// which only a signature shows; judging the fingerprint alone would
// repeat those rules here, and could pass a key whose signing subkey has
// expired.
func (r *repository) checkSigner(opts RegisterOptions) error {
	head, err := r.Head()
	if err != nil {
		return err
	}
	id := gitops.Identity{Signature: opts.Identity, Signer: opts.Signer}
	line, _, err := gitops.AllowedSignerEntry(id)
	if err != nil {
		return err
	}
	add := fmt.Sprintf("add this line to %s", manifests.AllowedSignersFile)
	if line == "" { // OpenPGP
		add = fmt.Sprintf("add your armored public key (gpg --armor --export %s) to %s", opts.Signer.KeyID(), manifests.AllowedKeysFile)
	} else {
		add += ":\n  " + line + "\n"
	}
	if head.IsZero() {
		return fmt.Errorf("registering %q: %w: nothing is committed yet, so no %s trusts it; run modelgit init again with this key configured (it adds the key and commits), or %s", opts.Model, ErrUntrustedSigner, manifests.AllowedSignersFile, add)
	}
	trust, err := r.LoadTrust(head)
	if err != nil {
		return err
	}
	// The time the commit will carry (commitVersion).
	info, err := gitops.JudgeSigner(id, trust, r.Now().UTC().Truncate(time.Second))
	if err != nil {
		return fmt.Errorf("registering %q: %w", opts.Model, err)
	}
	if !info.Trusted {
		return fmt.Errorf("registering %q: %w at %s (%s): verify would report its commit \"not trusted\" and check would fail it; %s(in a commit signed by an allowed signer, through a pull request), or register with --no-sign for an experiment",
			opts.Model, ErrUntrustedSigner, head.String()[:12], gitops.SigReason(info), add)
	}
	return nil
}

package register

import (
	"fmt"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/manifests"
)

// ErrUntrustedSigner is wrapped by Register when the signing key is not an
// allowed signer at HEAD: its commit would be reported "not trusted" by
// verify and fail check.
var ErrUntrustedSigner = fmt.Errorf("the signing key is not an allowed signer")

// checkSigner refuses, before anything is stored, a signing key that
// policies/allowed_signers (or allowed_signers.asc) at HEAD does not
// trust. It signs a probe commit with the key and verifies it as verify
// and check will verify the real one, so every rule of the file
// (principals, namespaces, validity) is the one applied.
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
	info, err := gitops.ProbeSignature(id, trust)
	if err != nil {
		return fmt.Errorf("registering %q: %w", opts.Model, err)
	}
	if !info.Trusted {
		why := info.Reason
		return fmt.Errorf("registering %q: %w at %s (%s): verify would report its commit \"not trusted\" and check would fail it; %s(in a commit signed by an allowed signer, through a pull request), or register with --no-sign for an experiment",
			opts.Model, ErrUntrustedSigner, head.String()[:12], why, add)
	}
	return nil
}

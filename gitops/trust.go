package gitops

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/modelgit/modelgit/gitops/signing"
	"github.com/modelgit/modelgit/manifests"
)

// Trust is who may sign: policies/allowed_signers and the OpenPGP keys
// beside it, as committed at one revision
// (LoadTrust) or in force at a commit (TrustChain).
type Trust struct {
	signers *signing.AllowedSigners
	keyring openpgp.EntityList
}

// LoadTrust reads the allowed signers as committed at rev. A missing file
// means nobody is trusted, which verification reports on every commit.
// Verification judges a commit by the signers in force before it
// (TrustChain), not by what any one revision lists.
func (r *Repository) LoadTrust(rev plumbing.Hash) (*Trust, error) {
	data, err := r.repo.ReadFile(rev, manifests.AllowedSignersFile)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	keys, err := r.repo.ReadFile(rev, manifests.AllowedKeysFile)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return parseTrust(data, keys)
}

// parseTrust parses allowed_signers and allowed_signers.asc (either may
// be empty).
func parseTrust(signers, keys []byte) (*Trust, error) {
	t := &Trust{}
	var err error
	if t.signers, err = signing.ParseAllowedSigners(manifests.AllowedSignersFile, signers); err != nil {
		return nil, err
	}
	if len(keys) > 0 {
		if t.keyring, err = signing.LoadKeyRing(keys); err != nil {
			return nil, fmt.Errorf("reading %s: %w", manifests.AllowedKeysFile, err)
		}
	}
	return t, nil
}

// SignatureInfo is the verdict on a commit's signature.
type SignatureInfo struct {
	Signed    bool   `json:"signed"`
	Trusted   bool   `json:"trusted"`
	Format    string `json:"format,omitempty"`
	Signer    string `json:"signer,omitempty"`
	Key       string `json:"key,omitempty"`
	Reason    string `json:"reason,omitempty"`
	Committer string `json:"committer,omitempty"`
}

// SignatureOf judges c's signature against the allowed signers t.
func SignatureOf(c *object.Commit, t *Trust) SignatureInfo {
	res := signing.VerifyCommit(c, t.signers, t.keyring)
	return SignatureInfo{
		Signed:    res.Signed,
		Trusted:   res.Trusted,
		Format:    res.Format,
		Signer:    res.Principal,
		Key:       res.KeyFingerprint,
		Reason:    res.Reason,
		Committer: c.Committer.Name + " <" + c.Committer.Email + ">",
	}
}

// SignerTrusted judges, without signing, whether a commit signer signs
// at when would be trusted by t, by the rules SignatureOf applies (see
// signing.CheckSigner). ok is false when the signer's key is not known
// without a signature (OpenPGP): then only a signed probe tells.
func SignerTrusted(signer signing.Signer, t *Trust, when time.Time) (info SignatureInfo, ok bool) {
	res, ok := signing.CheckSigner(signer, t.signers, when)
	if !ok {
		return SignatureInfo{}, false
	}
	return SignatureInfo{Signed: res.Signed, Trusted: res.Trusted, Format: res.Format, Signer: res.Principal, Key: res.KeyFingerprint, Reason: res.Reason}, true
}

// SigReason says in a few words why s is not trusted.
func SigReason(s SignatureInfo) string {
	if s.Reason != "" {
		return s.Reason
	}
	if !s.Signed {
		return "unsigned"
	}
	return "not by an allowed signer"
}

// JudgeSigner judges, against t, the signature id's key would put on a
// commit made at when, by the rules verify and check apply to real
// commits (principals, namespaces, validity). An SSH key is judged by its
// public key, without signing (SignerTrusted), so a hardware key is
// touched once per command; an OpenPGP key signs a probe commit (never
// stored) that is verified as a real one would be, because which subkey
// signs, and its expiry and revocation, only a signature shows. Reason,
// when not trusted, speaks of "a commit it signs".
func JudgeSigner(id Identity, t *Trust, when time.Time) (SignatureInfo, error) {
	if id.Signer == nil {
		return SignatureInfo{Reason: "no signing key"}, nil
	}
	if info, ok := SignerTrusted(id.Signer, t, when); ok {
		return info, nil
	}
	sig := id.Signature
	sig.When = when
	probe := &object.Commit{
		Author:    sig,
		Committer: sig,
		Message:   "modelgit: probe of the signing key\n",
		TreeHash:  plumbing.ZeroHash,
	}
	payload := &plumbing.MemoryObject{}
	if err := probe.EncodeWithoutSignature(payload); err != nil {
		return SignatureInfo{}, err
	}
	rd, err := payload.Reader()
	if err != nil {
		return SignatureInfo{}, err
	}
	armored, err := id.Signer.Sign(rd)
	if err != nil {
		return SignatureInfo{}, fmt.Errorf("signing with %s key %s: %w", id.Signer.Format(), id.Signer.KeyID(), err)
	}
	probe.PGPSignature = string(armored)
	info := SignatureOf(probe, t)
	if !info.Trusted {
		info.Reason = strings.Replace(SigReason(info), "commit "+plumbing.ZeroHash.String()[:12]+" ", "a commit it signs ", 1)
	}
	return info, nil
}

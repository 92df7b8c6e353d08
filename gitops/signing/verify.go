package signing

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
)

// allowedSignersPath is how reasons name the policy file.
const allowedSignersPath = "policies/allowed_signers"

// LoadKeyRing reads armored OpenPGP public keys (policies/allowed_signers.asc).
func LoadKeyRing(armored []byte) (openpgp.EntityList, error) {
	if len(bytes.TrimSpace(armored)) == 0 {
		return nil, nil
	}
	el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(armored))
	if err != nil {
		return nil, fmt.Errorf("reading OpenPGP key ring: %w", err)
	}
	return el, nil
}

// Result is the outcome of verifying one commit's signature.
type Result struct {
	Signed         bool   // the commit carries a signature
	Format         string // "ssh", "openpgp", or "" when unsigned or unknown
	Principal      string // who: the allowed_signers principals or the PGP identity
	KeyFingerprint string // SHA256:… for ssh, hex for OpenPGP
	Trusted        bool   // signature valid and made by an allowed signer
	Reason         string // why not trusted, a human sentence; "" when trusted
}

// VerifyCommit checks c's signature in Go, the way `git verify-commit`
// would with gpg.ssh.allowedSignersFile and a gpg key ring: SSH signatures
// must be valid in the "git" namespace and made by a key listed in signers
// (honouring namespaces=, valid-after and valid-before against the
// committer time); OpenPGP signatures must verify against keyring, with
// key validity judged at the signature's creation time.
func VerifyCommit(c *object.Commit, signers *AllowedSigners, keyring openpgp.EntityList) Result {
	short := c.Hash.String()
	if len(short) > 12 {
		short = short[:12]
	}
	sig := c.PGPSignature
	if strings.TrimSpace(sig) == "" {
		return Result{Reason: fmt.Sprintf("commit %s is not signed", short)}
	}
	payload := &plumbing.MemoryObject{}
	if err := c.EncodeWithoutSignature(payload); err != nil {
		return Result{Signed: true, Reason: fmt.Sprintf("commit %s could not be encoded for verification: %v", short, err)}
	}
	rd, err := payload.Reader()
	if err != nil {
		return Result{Signed: true, Reason: fmt.Sprintf("commit %s could not be read for verification: %v", short, err)}
	}
	data, err := io.ReadAll(rd)
	if err != nil {
		return Result{Signed: true, Reason: fmt.Sprintf("commit %s could not be read for verification: %v", short, err)}
	}
	switch {
	case strings.HasPrefix(sig, "-----BEGIN SSH SIGNATURE-----"):
		return verifySSH(short, c.Committer.When, data, []byte(sig), signers)
	case strings.HasPrefix(sig, "-----BEGIN PGP SIGNATURE-----"):
		return verifyPGP(short, c.Committer.When, data, sig, keyring)
	default:
		return Result{Signed: true, Reason: fmt.Sprintf("commit %s has a signature of an unsupported kind (want ssh or openpgp)", short)}
	}
}

func verifySSH(short string, when time.Time, data, armored []byte, signers *AllowedSigners) Result {
	r := Result{Signed: true, Format: FormatSSH}
	sig, err := sshsig.Unarmor(armored)
	if err != nil {
		r.Reason = fmt.Sprintf("commit %s has a malformed ssh signature: %v", short, err)
		return r
	}
	r.KeyFingerprint = ssh.FingerprintSHA256(sig.PublicKey)
	if err := sshsig.Verify(bytes.NewReader(data), sig, sig.PublicKey, sig.HashAlgorithm, sshNamespace); err != nil {
		if sig.Namespace != sshNamespace {
			r.Reason = fmt.Sprintf("commit %s is signed by %s in namespace %q, not %q", short, r.KeyFingerprint, sig.Namespace, sshNamespace)
		} else {
			r.Reason = fmt.Sprintf("commit %s has a bad ssh signature by %s (the commit was changed after signing): %v", short, r.KeyFingerprint, err)
		}
		return r
	}
	signers.judge(&r, "commit "+short, sig.PublicKey, when)
	return r
}

// judge applies the allowed signers' rules to a valid "git" signature by
// pub made at when (a commit's committer time): the key must be listed,
// for the "git" namespace, valid then (valid-after, valid-before), and a
// certificate must name a principal the entry allows. It sets r's
// Principal and Trusted, or its Reason, which starts with subject (what
// was signed, e.g. "commit 1a2b3c4d5e6f"). VerifyCommit and CheckSigner
// both judge through it, so a key is trusted by the same rules whether a
// signature or only the key is at hand.
func (as *AllowedSigners) judge(r *Result, subject string, pub ssh.PublicKey, when time.Time) {
	r.KeyFingerprint = ssh.FingerprintSHA256(pub)
	entries := as.lookup(pub)
	if len(entries) == 0 {
		file := allowedSignersPath
		if as != nil && as.file != "" {
			file = as.file
		}
		r.Reason = fmt.Sprintf("%s is signed by key %s, which is not in %s", subject, r.KeyFingerprint, file)
		return
	}
	var reasons []string
	for _, e := range entries {
		where := fmt.Sprintf("%s:%d", e.file, e.line)
		if e.namespaces != "" && !matchPatternList(sshNamespace, e.namespaces) {
			reasons = append(reasons, fmt.Sprintf("%s allows key %s only for namespaces %q, not %q", where, r.KeyFingerprint, e.namespaces, sshNamespace))
			continue
		}
		if !e.validAfter.IsZero() && when.Before(e.validAfter) {
			reasons = append(reasons, fmt.Sprintf("%s allows key %s only after %s, but the commit was made at %s", where, r.KeyFingerprint, e.validAfter.Format(time.RFC3339), when.Format(time.RFC3339)))
			continue
		}
		if !e.validBefore.IsZero() && !when.Before(e.validBefore) {
			reasons = append(reasons, fmt.Sprintf("%s allows key %s only before %s (expired), but the commit was made at %s", where, r.KeyFingerprint, e.validBefore.Format(time.RFC3339), when.Format(time.RFC3339)))
			continue
		}
		principal := e.principals
		if e.certAuth {
			p, why := checkCert(pub.(*ssh.Certificate), e.principals, when)
			if why != "" {
				reasons = append(reasons, fmt.Sprintf("%s: %s", where, why))
				continue
			}
			principal = p
		}
		r.Principal = principal
		r.Trusted = true
		return
	}
	r.Principal = entries[0].principals
	r.Reason = fmt.Sprintf("%s: %s", subject, strings.Join(reasons, "; "))
}

// SSHKeyHolder is a Signer that knows its SSH public key without signing:
// a private key file, or a key ssh-agent holds (whose public half the
// configuration names). A wrapping Signer implements it to keep that.
type SSHKeyHolder interface {
	SSHPublicKey() ssh.PublicKey
}

// SSHPublicKey returns the public key of an ssh key file or ssh-agent key.
func (s *sshSigner) SSHPublicKey() ssh.PublicKey { return s.signer.PublicKey() }

// CheckSigner judges, without signing anything, whether a commit that s
// signs at when would be trusted by signers, by the rules VerifyCommit
// applies (judge). ok is false when s's key is not known without a
// signature (OpenPGP, see register's checkSigner): the caller then has to
// sign a probe and verify it.
func CheckSigner(s Signer, signers *AllowedSigners, when time.Time) (r Result, ok bool) {
	k, isSSH := s.(SSHKeyHolder)
	if !isSSH || s.Format() != FormatSSH {
		return Result{}, false
	}
	r = Result{Signed: true, Format: FormatSSH}
	signers.judge(&r, "a commit it signs", k.SSHPublicKey(), when)
	return r, true
}

// checkCert checks an SSH certificate signed by a cert-authority entry and
// returns its first principal matching the entry's patterns.
func checkCert(cert *ssh.Certificate, patterns string, when time.Time) (string, string) {
	fp := ssh.FingerprintSHA256(cert.Key)
	if cert.CertType != ssh.UserCert {
		return "", fmt.Sprintf("certificate for %s is not a user certificate", fp)
	}
	for _, p := range cert.ValidPrincipals {
		if !matchPatternList(p, patterns) {
			continue
		}
		checker := &ssh.CertChecker{Clock: func() time.Time { return when }}
		if err := checker.CheckCert(p, cert); err != nil {
			return "", fmt.Sprintf("certificate for %s is not valid at %s: %v", fp, when.Format(time.RFC3339), err)
		}
		return p, ""
	}
	return "", fmt.Sprintf("certificate for %s names principals %q, none matching %q", fp, strings.Join(cert.ValidPrincipals, ","), patterns)
}

func verifyPGP(short string, when time.Time, data []byte, sig string, keyring openpgp.EntityList) Result {
	r := Result{Signed: true, Format: FormatOpenPGP}
	issuer, created := pgpIssuer(sig)
	r.KeyFingerprint = issuer
	if strings.Count(sig, "-----BEGIN PGP SIGNATURE-----") > 1 {
		r.Reason = fmt.Sprintf("commit %s carries more than one OpenPGP signature", short)
		return r
	}
	// Judge key validity when the signature was made (gpg's view of an
	// old commit), falling back to the committer time.
	at := when
	if !created.IsZero() {
		at = created
	}
	cfg := &packet.Config{Time: func() time.Time { return at }}
	ent, err := openpgp.CheckArmoredDetachedSignature(keyring, bytes.NewReader(data), strings.NewReader(sig), cfg)
	if err != nil {
		switch {
		case errors.Is(err, pgperrors.ErrUnknownIssuer):
			r.Reason = fmt.Sprintf("commit %s is signed by OpenPGP key %s, which is not in %s.asc", short, issuer, allowedSignersPath)
		case errors.Is(err, pgperrors.ErrKeyExpired) || errors.Is(err, pgperrors.ErrSignatureExpired):
			r.Reason = fmt.Sprintf("commit %s is signed by OpenPGP key %s, which had expired when the commit was made: %v", short, issuer, err)
		default:
			r.Reason = fmt.Sprintf("commit %s has a bad OpenPGP signature by %s (the commit was changed after signing, or the key is revoked): %v", short, issuer, err)
		}
		return r
	}
	if ent != nil {
		r.KeyFingerprint = fmt.Sprintf("%X", ent.PrimaryKey.Fingerprint)
		if id := ent.PrimaryIdentity(); id != nil {
			r.Principal = id.Name
		}
	}
	r.Trusted = true
	return r
}

// pgpIssuer returns the signing key's fingerprint (or key id) named in an
// armored signature, for messages, and the signature's creation time.
func pgpIssuer(sig string) (string, time.Time) {
	blk, err := armor.Decode(strings.NewReader(sig))
	if err != nil {
		return "(unreadable)", time.Time{}
	}
	p, err := packet.NewReader(blk.Body).Next()
	if err != nil {
		return "(unreadable)", time.Time{}
	}
	s, ok := p.(*packet.Signature)
	if !ok {
		return "(unreadable)", time.Time{}
	}
	if len(s.IssuerFingerprint) > 0 {
		return fmt.Sprintf("%X", s.IssuerFingerprint), s.CreationTime
	}
	if s.IssuerKeyId != nil {
		return fmt.Sprintf("%016X", *s.IssuerKeyId), s.CreationTime
	}
	return "(unknown)", s.CreationTime
}

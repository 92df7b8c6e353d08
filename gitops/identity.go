package gitops

import (
	"fmt"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/modelgit/modelgit/gitops/signing"
)

// Identity is who writes: the commit author and committer, and the key
// that signs.
type Identity struct {
	Signature object.Signature
	// Signer is nil when no signing key is configured; Err says why.
	Signer signing.Signer
}

// ResolveIdentity reads user.name, user.email, user.signingkey and
// gpg.format from the git configuration that applies in dir (system,
// global, repository), as git does. explicitKey (--signing-key) overrides
// user.signingkey. The identity is returned with the error when only the
// signing key is missing, so callers that may write unsigned can go on.
func ResolveIdentity(dir, explicitKey string) (Identity, error) {
	cfg, err := signing.ReadGitConfig(dir)
	if err != nil {
		return Identity{}, fmt.Errorf("reading git config: %w", err)
	}
	id := Identity{Signature: object.Signature{Name: cfg.UserName, Email: cfg.UserEmail}}
	if cfg.UserEmail == "" {
		return id, fmt.Errorf("no committer identity: run git config user.name \"Your Name\" and git config user.email you@example.com")
	}
	s, err := signing.FromConfig(cfg, explicitKey)
	if err != nil {
		return id, err
	}
	id.Signer = s
	return id, nil
}

// AllowedSignerEntry returns what policies/allowed_signers (an SSH line
// for id's email, limited to the "git" namespace) or
// policies/allowed_signers.asc (an armored OpenPGP key) needs so that id's
// signatures are trusted.
func AllowedSignerEntry(id Identity) (line string, openPGP []byte, err error) {
	if id.Signer == nil {
		return "", nil, nil
	}
	key, pgp, err := signing.PublicKey(id.Signer)
	if err != nil {
		return "", nil, err
	}
	if key != "" {
		principal := id.Signature.Email
		if principal == "" {
			principal = "*"
		}
		line = fmt.Sprintf("%s namespaces=\"git\" %s", principal, key)
	}
	return line, pgp, nil
}

// FormatIdentity is "Name <email>".
func FormatIdentity(s object.Signature) string {
	if s.Name == "" {
		return "<" + s.Email + ">"
	}
	return s.Name + " <" + s.Email + ">"
}

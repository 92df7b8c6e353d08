package gitops

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/modelgit/modelgit/gitops/signing"
	"github.com/modelgit/modelgit/manifests"
)

// trust is who may sign: policies/allowed_signers and the OpenPGP keys
// beside it, as committed at one revision.
type trust struct {
	rev     plumbing.Hash
	signers *signing.AllowedSigners
	keyring openpgp.EntityList
}

// loadTrust reads the allowed signers at rev. A missing file means nobody
// is trusted, which verification reports on every commit.
func (r *Registry) loadTrust(rev plumbing.Hash) (*trust, error) {
	t := &trust{rev: rev}
	data, err := r.repo.ReadFile(rev, manifests.AllowedSignersFile)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if t.signers, err = signing.ParseAllowedSigners(manifests.AllowedSignersFile, data); err != nil {
		return nil, err
	}
	keys, err := r.repo.ReadFile(rev, manifests.AllowedKeysFile)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if len(keys) > 0 {
		if t.keyring, err = signing.LoadKeyRing(keys); err != nil {
			return nil, fmt.Errorf("reading %s: %w", manifests.AllowedKeysFile, err)
		}
	}
	return t, nil
}

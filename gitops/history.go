package gitops

import (
	"context"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/modelgit/modelgit/gitops/signing"
	"github.com/modelgit/modelgit/manifests"
)

// HistoryEntry is one registered version and the commit that added it.
type HistoryEntry struct {
	Version      manifests.Version `json:"version"`
	Digest       manifests.Digest  `json:"digest"`
	Commit       string            `json:"commit"`
	RegisteredBy string            `json:"registeredBy"`
	RegisteredAt time.Time         `json:"registeredAt"`
	Reason       string            `json:"reason,omitempty"`
	DataHash     string            `json:"dataHash,omitempty"`
	Signature    SignatureInfo     `json:"signature"`
	// Ran is where and when the version served traffic, oldest first, read
	// from the release changes on the followed branches.
	Ran []RanInterval `json:"ran"`
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

func signatureInfo(c *object.Commit, t *trust) SignatureInfo {
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

// History lists the versions of model registered at HEAD, oldest first,
// each with the commit that added it, that commit's signature, and where
// and when it ran.
func (r *Registry) History(model string) ([]HistoryEntry, error) {
	head, err := r.head()
	if err != nil {
		return nil, err
	}
	versions, err := r.versionsAt(head, model)
	if err != nil || len(versions) == 0 {
		return nil, err
	}
	t, err := r.loadTrust(head)
	if err != nil {
		return nil, err
	}
	byPath := map[string]*VersionRef{}
	for _, v := range versions {
		byPath[v.Path] = v
	}
	added := map[string]*object.Commit{}
	// Newest first: the last commit seen that has a path but whose parent
	// has not is the one that added it.
	err = r.repo.Log(head, []string{manifests.VersionsDir(model)}, func(c *object.Commit) error {
		var parent plumbing.Hash
		if c.NumParents() > 0 {
			parent = c.ParentHashes[0]
		}
		for p := range byPath {
			if _, err := r.repo.ReadFile(c.Hash, p); err != nil {
				continue
			}
			if !parent.IsZero() {
				if _, err := r.repo.ReadFile(parent, p); err == nil {
					continue
				}
			}
			added[p] = c
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	ran, err := r.modelRan(context.Background(), model)
	if err != nil {
		// Where it ran is extra; the registrations are still the answer.
		r.log.Warningf("cannot tell where %s ran: %v", model, err)
	}
	out := make([]HistoryEntry, 0, len(versions))
	for _, v := range versions {
		e := HistoryEntry{
			Version:      v.Manifest.Version,
			Digest:       v.Digest,
			RegisteredBy: v.Manifest.RegisteredBy,
			RegisteredAt: v.Manifest.RegisteredAt,
			Reason:       v.Manifest.Reason,
			Ran:          ran[v.Manifest.Version.String()],
		}
		if e.Ran == nil {
			e.Ran = []RanInterval{}
		}
		if v.Manifest.Data != nil {
			e.DataHash = v.Manifest.Data.Digest.String()
		}
		if c := added[v.Path]; c != nil {
			e.Commit = c.Hash.String()
			e.Signature = signatureInfo(c, t)
		} else {
			e.Signature = SignatureInfo{Reason: "the commit that added it was not found"}
		}
		out = append(out, e)
	}
	return out, nil
}

// Commit returns the commit that added a registered version at HEAD.
func (r *Registry) addedBy(v *VersionRef) (*object.Commit, error) {
	head, err := r.head()
	if err != nil {
		return nil, err
	}
	var found *object.Commit
	err = r.repo.Log(head, []string{v.Path}, func(c *object.Commit) error {
		if _, err := r.repo.ReadFile(c.Hash, v.Path); err == nil {
			found = c
		}
		return nil
	})
	return found, err
}

// Provenance is what Show reports about a version besides its manifest.
type Provenance struct {
	Commit    string        `json:"commit,omitempty"`
	Signature SignatureInfo `json:"signature"`
}

// Provenance finds the commit that registered v and checks its signature.
func (r *Registry) Provenance(v *VersionRef) (Provenance, error) {
	c, err := r.addedBy(v)
	if err != nil || c == nil {
		return Provenance{}, err
	}
	head, err := r.head()
	if err != nil {
		return Provenance{}, err
	}
	t, err := r.loadTrust(head)
	if err != nil {
		return Provenance{}, err
	}
	return Provenance{Commit: c.Hash.String(), Signature: signatureInfo(c, t)}, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

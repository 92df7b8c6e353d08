package audit

import (
	"context"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/ledger"
	"github.com/modelgit/modelgit/manifests"
)

// HistoryEntry is one registered version and the commit that added it.
type HistoryEntry struct {
	Version      manifests.Version    `json:"version"`
	Digest       manifests.Digest     `json:"digest"`
	Commit       string               `json:"commit"`
	RegisteredBy string               `json:"registeredBy"`
	RegisteredAt time.Time            `json:"registeredAt"`
	Reason       string               `json:"reason,omitempty"`
	DataHash     string               `json:"dataHash,omitempty"`
	Signature    gitops.SignatureInfo `json:"signature"`
	// Ran is where and when the version served traffic, oldest first, read
	// from the release changes on the followed branches.
	Ran []ledger.RanInterval `json:"ran"`
}

// History lists the versions of model registered at HEAD, oldest first,
// each with the commit that added it, that commit's signature, and where
// and when it ran.
func (r *repository) History(model string) ([]HistoryEntry, error) {
	head, err := r.Head()
	if err != nil {
		return nil, err
	}
	versions, err := r.VersionsAt(head, model)
	if err != nil || len(versions) == 0 {
		return nil, err
	}
	judge, err := r.NewHistoryJudge(head)
	if err != nil {
		return nil, err
	}
	byPath := map[string]*gitops.VersionRef{}
	for _, v := range versions {
		byPath[v.Path] = v
	}
	added := map[string]*object.Commit{}
	// Newest first: the last commit seen that has a path but whose parent
	// has not is the one that added it.
	err = r.Repo().Log(head, []string{manifests.VersionsDir(model)}, func(c *object.Commit) error {
		var parent plumbing.Hash
		if c.NumParents() > 0 {
			parent = c.ParentHashes[0]
		}
		for p := range byPath {
			if _, err := r.Repo().ReadFile(c.Hash, p); err != nil {
				continue
			}
			if !parent.IsZero() {
				if _, err := r.Repo().ReadFile(parent, p); err == nil {
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
	ran, err := r.ModelRan(context.Background(), model)
	if err != nil {
		// Where it ran is extra; the registrations are still the answer.
		r.Log().Warningf("cannot tell where %s ran: %v", model, err)
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
			e.Ran = []ledger.RanInterval{}
		}
		if v.Manifest.Data != nil {
			e.DataHash = v.Manifest.Data.Digest.String()
		}
		if c := added[v.Path]; c != nil {
			e.Commit = c.Hash.String()
			if e.Signature, err = judge.Judge(c); err != nil {
				return nil, err
			}
		} else {
			e.Signature = gitops.SignatureInfo{Reason: "the commit that added it was not found"}
		}
		out = append(out, e)
	}
	return out, nil
}

// Commit returns the commit that added a registered version at HEAD.
func (r *repository) addedBy(v *gitops.VersionRef) (*object.Commit, error) {
	head, err := r.Head()
	if err != nil {
		return nil, err
	}
	var found *object.Commit
	err = r.Repo().Log(head, []string{v.Path}, func(c *object.Commit) error {
		if _, err := r.Repo().ReadFile(c.Hash, v.Path); err == nil {
			found = c
		}
		return nil
	})
	return found, err
}

// Provenance is what Show reports about a version besides its manifest.
type Provenance struct {
	Commit    string               `json:"commit,omitempty"`
	Signature gitops.SignatureInfo `json:"signature"`
}

// Provenance finds the commit that registered v and checks its signature.
func (r *repository) Provenance(v *gitops.VersionRef) (Provenance, error) {
	c, err := r.addedBy(v)
	if err != nil || c == nil {
		return Provenance{}, err
	}
	head, err := r.Head()
	if err != nil {
		return Provenance{}, err
	}
	judge, err := r.NewHistoryJudge(head)
	if err != nil {
		return Provenance{}, err
	}
	sig, err := judge.Judge(c)
	if err != nil {
		return Provenance{}, err
	}
	return Provenance{Commit: c.Hash.String(), Signature: sig}, nil
}

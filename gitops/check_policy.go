package gitops

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/modelgit/modelgit/manifests"
	"github.com/modelgit/modelgit/policies"
)

// AppliedPolicy is the promotion policy that guards an environment at one
// revision, with what it implies from modelgit.yaml.
type AppliedPolicy struct {
	Environment string `json:"environment"`
	// File is policies/<env>.yaml; Default is true when it is absent and
	// policies.Default applies.
	File    string `json:"file"`
	Default bool   `json:"default"`
	// From is the environment a version must have run in first: the
	// policy's from, else the previous environment in modelgit.yaml; ""
	// for the first environment.
	From     string                    `json:"from,omitempty"`
	Digest   manifests.Digest          `json:"digest"`
	Policy   *policies.PromotionPolicy `json:"policy"`
	Order    []string                  `json:"order"`
	Revision string                    `json:"revision"`
}

// Policy returns the policy of env as committed at rev ("" for HEAD),
// with the environment order of modelgit.yaml as committed there (the
// work tree's when rev has none). Check reads it at the base of a pull
// request, so a pull request that loosens its own gate or reorders the
// environments is judged by the old ones.
func (r *Repository) Policy(rev, env string) (*AppliedPolicy, error) {
	var h plumbing.Hash
	var err error
	if rev == "" {
		h, err = r.Head()
	} else {
		h, err = r.repo.Resolve(rev)
	}
	if err != nil {
		return nil, err
	}
	at := r
	if !h.IsZero() {
		cfg, err := r.ConfigAt(h)
		switch {
		case err == nil:
			at = r.UsingConfig(cfg)
		case !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("reading the policy: reading %s at %s: %w", manifests.ConfigFile, Short(h), err)
		}
	}
	if err := at.CheckEnv(env); err != nil {
		return nil, fmt.Errorf("reading the policy: %w", err)
	}
	return at.PolicyAt(h, env)
}

// configAt parses modelgit.yaml as committed at rev; an error matching
// fs.ErrNotExist when rev has none.
func (r *Repository) ConfigAt(rev plumbing.Hash) (*manifests.Config, error) {
	data, err := r.repo.ReadFile(rev, manifests.ConfigFile)
	if err != nil {
		return nil, err
	}
	return manifests.ParseConfig(manifests.ConfigFile, data)
}

// withConfig returns a copy of r that reads cfg as its modelgit.yaml (the
// store and the rest are shared), to judge a revision by the
// configuration committed there rather than the work tree's.
func (r *Repository) UsingConfig(cfg *manifests.Config) *Repository {
	cp := *r
	cp.config = cfg
	return &cp
}

// policyAt reads the policy of env at rev, with the environment order of
// r's modelgit.yaml (see withConfig).
func (r *Repository) PolicyAt(rev plumbing.Hash, env string) (*AppliedPolicy, error) {
	ap := &AppliedPolicy{Environment: env, File: manifests.PolicyFile(env), Revision: rev.String()}
	for _, e := range r.config.Environments {
		ap.Order = append(ap.Order, e.Name)
	}
	var data []byte
	var err error
	if !rev.IsZero() {
		data, err = r.repo.ReadFile(rev, ap.File)
	}
	switch {
	case rev.IsZero() || errors.Is(err, fs.ErrNotExist):
		ap.Policy, ap.Default = policies.Default(env), true
	case err != nil:
		return nil, err
	default:
		if ap.Policy, err = policies.Parse(ap.File, data); err != nil {
			return nil, err
		}
	}
	ap.From = ap.Policy.From
	if ap.From == "" {
		if i := slices.Index(ap.Order, env); i > 0 {
			ap.From = ap.Order[i-1]
		}
	}
	ap.Digest = ap.Policy.Digest()
	return ap, nil
}

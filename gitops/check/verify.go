package check

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/manifests"
)

// VerifyOptions configure Verify.
type VerifyOptions struct {
	// Range is "" (all of HEAD's history), "REV" (all of REV's history) or
	// "BASE..TIP" (commits reachable from TIP and not from BASE).
	Range string
	// Deep re-hashes every blob instead of checking that it exists.
	Deep bool
	// TrustRoot is where the chain of trust starts (gitops.ParseTrustRoot):
	// "" reads git config modelgit.trustRoot, and without it the first
	// commit. With a pinned commit, "" and "REV" cover the commits after
	// it.
	TrustRoot string
}

// Finding is one problem Verify found. Commit is the commit at fault for
// "signature", "immutable" and "symlink" findings (a symbolic link
// committed in a governed path), and the revision whose manifests and
// release files were checked (the tip) for "manifest", "artifact",
// "published" and
// "pinned" findings ("published": with Deep, an OCI store's manifest of
// the version is missing or is not modelgit's manifest of it; "pinned":
// with Deep and an OCI store, a release or its rendered file points at a
// storage URI other than the pin computed from the committed version).
type Finding struct {
	Commit  string `json:"commit,omitempty"`
	Path    string `json:"path,omitempty"`
	Check   string `json:"check"` // "signature", "immutable", "symlink", "manifest", "artifact", "published", "pinned", "store"
	Message string `json:"message"`
}

func (f Finding) String() string {
	var b strings.Builder
	if f.Commit != "" {
		b.WriteString(f.Commit[:min(12, len(f.Commit))] + " ")
	}
	if f.Path != "" && !strings.HasPrefix(f.Message, f.Path+":") {
		b.WriteString(f.Path + ": ")
	}
	b.WriteString(f.Message)
	return b.String()
}

// VerifyReport is the outcome of Verify; it failed when Findings is not
// empty.
type VerifyReport struct {
	Tip       string    `json:"tip"`
	Commits   int       `json:"commits"`
	Governed  int       `json:"governed"`
	Versions  int       `json:"versions"`
	Artifacts int       `json:"artifacts"`
	Deep      bool      `json:"deep"`
	Findings  []Finding `json:"findings"`
}

// OK reports whether nothing was found.
func (v *VerifyReport) OK() bool { return len(v.Findings) == 0 }

// Verify checks, over a range of history, that every commit touching
// models/, environments/, rendered/, policies/ or modelgit.yaml is signed
// by a signer in force at its first parent (the chain of trust from the
// trust root: gitops.TrustChain) and still allowed at the tip, that no
// registered version was modified or deleted, that no symbolic link is
// committed in a governed path, that the manifests and releases at the
// tip parse and validate, and that every artifact they reference resolves
// in the store (re-hashed with Deep).
func (r *repository) Verify(ctx context.Context, opts VerifyOptions) (*VerifyReport, error) {
	base, tip, err := r.resolveRange(opts.Range)
	if err != nil {
		return nil, err
	}
	rep := &VerifyReport{Tip: tip.String(), Deep: opts.Deep, Findings: []Finding{}}
	if tip.IsZero() {
		return rep, nil
	}
	judge, root, err := r.verifyJudge(tip, opts.TrustRoot)
	if err != nil {
		return nil, err
	}
	if base.IsZero() && !root.Commit.IsZero() {
		base = root.Commit // the pin vouches for its history
	}
	visit := func(c *object.Commit) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		rep.Commits++
		governed, fs, err := r.checkCommit(c, judge)
		if err == nil && !governed {
			// modelgit.yaml orders the environments and names the store:
			// changing it needs an allowed signer too, as in check.
			governed, fs, err = r.checkConfigCommit(c, judge)
		}
		if err != nil {
			return err
		}
		if governed {
			rep.Governed++
		}
		rep.Findings = append(rep.Findings, fs...)
		links, err := r.committedSymlinks(c)
		if err != nil {
			return err
		}
		rep.Findings = append(rep.Findings, links...)
		return nil
	}
	if base.IsZero() {
		err = r.walk(tip, visit)
	} else {
		// BASE..TIP: the range walk stops where the two histories meet,
		// instead of walking all of base's history and then all of tip's.
		var commits []*object.Commit
		if commits, err = r.Repo().RangeCommits(base, tip); err == nil {
			for _, c := range commits {
				if err = visit(c); err != nil {
					break
				}
			}
		}
	}
	if err != nil {
		return nil, err
	}
	if err := r.verifyReleases(tip, rep); err != nil {
		return nil, err
	}
	if err := r.verifyArtifacts(ctx, tip, opts.Deep, rep); err != nil {
		return nil, err
	}
	if opts.Deep {
		if err := r.verifyPins(ctx, tip, rep); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// verifyJudge returns how Verify judges a commit's signature: by the
// signers in force at its first parent (the chain of trust from the trust
// root, the same computation check reads the base's signers from), and,
// since removing a key from allowed_signers distrusts what it signed
// (docs/governance.md), by those in force at tip as well.
func (r *repository) verifyJudge(tip plumbing.Hash, spec string) (signatureJudge, gitops.TrustRoot, error) {
	var root gitops.TrustRoot
	var err error
	if spec == "" {
		root, err = r.ConfiguredTrustRoot()
	} else {
		root, err = r.ParseTrustRoot(spec)
	}
	if err != nil {
		return nil, root, err
	}
	chain, err := r.NewTrustChain(root)
	if err != nil {
		return nil, root, err
	}
	atTip, err := chain.InForce(tip)
	if err != nil {
		return nil, root, fmt.Errorf("reading the signers in force at %s: %w", gitops.Short(tip), err)
	}
	judge := func(c *object.Commit) (gitops.SignatureInfo, error) {
		if chain.Pinned(c.Hash) {
			return gitops.SignatureInfo{Trusted: true}, nil
		}
		s, err := chain.Judge(c)
		if err != nil || !s.Trusted {
			return s, err
		}
		if now := gitops.SignatureOf(c, atTip); !now.Trusted {
			s.Trusted = false
			s.Reason = fmt.Sprintf("%s: the key was allowed when the commit was made, but the signers in force at %s no longer allow it (keep a retired key in %s with valid-before= to keep its commits valid)", gitops.SigReason(now), gitops.Short(tip), manifests.AllowedSignersFile)
		}
		return s, nil
	}
	return judge, root, nil
}

// signatureJudge says whether a commit is signed by a signer in force.
type signatureJudge func(*object.Commit) (gitops.SignatureInfo, error)

// trustedBy judges by the fixed signers t (check: the base's).
func trustedBy(t *gitops.Trust) signatureJudge {
	return func(c *object.Commit) (gitops.SignatureInfo, error) { return gitops.SignatureOf(c, t), nil }
}

// verifyReleases checks every release file at tip as render, status and
// check read it (gitops.ValidRelease), in an environment the tip's
// modelgit.yaml declares: "manifest" findings naming the file and field.
func (r *repository) verifyReleases(tip plumbing.Hash, rep *VerifyReport) error {
	cfg, err := r.ConfigAt(tip)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		rep.Findings = append(rep.Findings, Finding{Commit: tip.String(), Path: manifests.ConfigFile, Check: "manifest", Message: err.Error()})
		return nil
	}
	at := r.UsingConfig(cfg)
	rels, err := r.releaseFiles(tip)
	if err != nil {
		return err
	}
	for _, rf := range rels {
		raw, err := r.Repo().ReadFile(tip, rf.path)
		if err != nil {
			continue // a directory named *.yaml
		}
		if _, _, err = r.ValidRelease(tip, rf.path, raw); err == nil {
			if err = at.CheckEnv(rf.env); err != nil {
				err = &manifests.FileError{File: rf.path, Msg: err.Error()}
			}
		}
		if err != nil {
			rep.Findings = append(rep.Findings, Finding{Commit: tip.String(), Path: rf.path, Check: "manifest", Message: err.Error()})
		}
	}
	return nil
}

// releaseFile is an environments/<env>/<model>.yaml at a revision.
type releaseFile struct{ env, model, path string }

// releaseFiles lists the *.yaml files of each directory under
// environments/ at tip.
func (r *repository) releaseFiles(tip plumbing.Hash) ([]releaseFile, error) {
	envs, err := r.ListDir(tip, manifests.EnvironmentsDir)
	if err != nil {
		return nil, err
	}
	var out []releaseFile
	for _, env := range envs {
		files, err := r.ListDir(tip, manifests.EnvironmentsDir+"/"+env)
		if err != nil {
			continue // a file, not an environment
		}
		for _, f := range files {
			if model, ok := strings.CutSuffix(f, ".yaml"); ok {
				out = append(out, releaseFile{env, model, manifests.ReleaseFile(env, model)})
			}
		}
	}
	return out, nil
}

// verifyPins checks, for an OCI store, the storage URIs of every release
// at tip and of its rendered file against the pins computed from the
// committed versions (checkPins): "pinned" findings.
func (r *repository) verifyPins(ctx context.Context, tip plumbing.Hash, rep *VerifyReport) error {
	if _, ok := r.Store().(gitops.VersionChecker); !ok {
		return nil
	}
	rels, err := r.releaseFiles(tip)
	if err != nil {
		return err
	}
	for _, rf := range rels {
		if manifests.ValidName(rf.model) != nil {
			continue
		}
		problems, err := r.CheckPins(ctx, tip, rf.env, rf.model)
		if err != nil {
			return fmt.Errorf("verifying the storage URIs of %s: %w", rf.path, err)
		}
		for _, p := range problems {
			msg := p.Message
			if p.Line > 0 {
				msg = fmt.Sprintf("line %d: %s", p.Line, msg)
			}
			rep.Findings = append(rep.Findings, Finding{Commit: tip.String(), Path: p.File, Check: "pinned", Message: msg})
		}
	}
	return nil
}

func (r *repository) resolveRange(spec string) (base, tip plumbing.Hash, err error) {
	resolve := func(rev string) (plumbing.Hash, error) {
		h, err := r.Repo().Resolve(rev)
		if err != nil {
			// go-git answers a walk past the root commit with a bare EOF.
			return plumbing.ZeroHash, fmt.Errorf("resolving revision %q: unknown revision (%v)", rev, errors.Unwrap(err))
		}
		return h, nil
	}
	switch {
	case spec == "":
		tip, err = r.Head()
		return plumbing.ZeroHash, tip, err
	case strings.Contains(spec, ".."):
		a, b, _ := strings.Cut(spec, "..")
		if strings.HasPrefix(b, ".") {
			return base, tip, fmt.Errorf("range %q: the three-dot form is not supported, use BASE..TIP", spec)
		}
		if a == "" {
			a = "HEAD"
		}
		if b == "" {
			b = "HEAD"
		}
		if base, err = resolve(a); err != nil {
			return
		}
		tip, err = resolve(b)
		return
	default:
		tip, err = resolve(spec)
		return plumbing.ZeroHash, tip, err
	}
}

// trustAtBase is the signers Check judges a pull request's commits by:
// those in force at the base (the chain of trust from the trust root git
// config names, or the first commit), so that a key that added itself to
// the base's allowed_signers is not trusted there either.
func (r *repository) trustAtBase(base plumbing.Hash) (*gitops.Trust, error) {
	root, err := r.ConfiguredTrustRoot()
	if err != nil {
		return nil, err
	}
	chain, err := r.NewTrustChain(root)
	if err != nil {
		return nil, err
	}
	return chain.InForce(base)
}

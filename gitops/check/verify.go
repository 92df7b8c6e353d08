package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/store"
	"github.com/modelgit/modelgit/manifests"
)

// VerifyOptions configure Verify.
type VerifyOptions struct {
	// Range is "" (all of HEAD's history), "REV" (all of REV's history) or
	// "BASE..TIP" (commits reachable from TIP and not from BASE).
	Range string
	// Deep re-hashes every blob instead of checking that it exists.
	Deep bool
}

// Finding is one problem Verify found. Commit is the commit at fault for
// "signature" and "immutable" findings, and the revision whose manifests
// were checked (the tip) for "manifest", "artifact", "published" and
// "pinned" findings ("published": with Deep, an OCI store's manifest of
// the version is missing or is not modelgit's manifest of it; "pinned":
// with Deep and an OCI store, a release or its rendered file points at a
// storage URI other than the pin computed from the committed version).
type Finding struct {
	Commit  string `json:"commit,omitempty"`
	Path    string `json:"path,omitempty"`
	Check   string `json:"check"` // "signature", "immutable", "manifest", "artifact", "published", "pinned"
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
// models/, environments/, rendered/ or policies/ is signed by an allowed
// signer (as listed at the tip), that no registered version was modified
// or deleted, that the manifests at the tip parse, and that every artifact
// they reference resolves in the store (re-hashed with Deep).
func (r *repository) Verify(ctx context.Context, opts VerifyOptions) (*VerifyReport, error) {
	base, tip, err := r.resolveRange(opts.Range)
	if err != nil {
		return nil, err
	}
	rep := &VerifyReport{Tip: tip.String(), Deep: opts.Deep, Findings: []Finding{}}
	if tip.IsZero() {
		return rep, nil
	}
	t, err := r.LoadTrust(tip)
	if err != nil {
		return nil, err
	}
	visit := func(c *object.Commit) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		rep.Commits++
		governed, fs, err := r.checkCommit(c, t)
		if err == nil && !governed {
			// modelgit.yaml orders the environments and names the store:
			// changing it needs an allowed signer too, as in check.
			governed, fs, err = r.checkConfigCommit(c, t)
		}
		if err != nil {
			return err
		}
		if governed {
			rep.Governed++
		}
		rep.Findings = append(rep.Findings, fs...)
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

// verifyPins checks, for an OCI store, the storage URIs of every release
// at tip and of its rendered file against the pins computed from the
// committed versions (checkPins): "pinned" findings.
func (r *repository) verifyPins(ctx context.Context, tip plumbing.Hash, rep *VerifyReport) error {
	if _, ok := r.Store().(gitops.VersionChecker); !ok {
		return nil
	}
	envs, err := r.ListDir(tip, manifests.EnvironmentsDir)
	if err != nil {
		return err
	}
	for _, env := range envs {
		files, err := r.ListDir(tip, manifests.EnvironmentsDir+"/"+env)
		if err != nil {
			continue // a file, not an environment
		}
		for _, f := range files {
			model, ok := strings.CutSuffix(f, ".yaml")
			if !ok || manifests.ValidName(model) != nil {
				continue
			}
			problems, err := r.CheckPins(ctx, tip, env, model)
			if err != nil {
				return fmt.Errorf("verifying the storage URIs of %s: %w", manifests.ReleaseFile(env, model), err)
			}
			for _, p := range problems {
				msg := p.Message
				if p.Line > 0 {
					msg = fmt.Sprintf("line %d: %s", p.Line, msg)
				}
				rep.Findings = append(rep.Findings, Finding{Commit: tip.String(), Path: p.File, Check: "pinned", Message: msg})
			}
		}
	}
	return nil
}

// checkCommit checks one commit as Verify and Check do: when it touches a
// governed directory (governed is then true), that it is signed by a
// signer t trusts (a forge's merge that adds nothing of its own needs no
// signature) and that it modifies or deletes no registered version. The
// caller picks t: Verify trusts the signers listed at the tip, Check those
// of the base branch, never those of the pull request being judged.
func (r *repository) checkCommit(c *object.Commit, t *gitops.Trust) (governed bool, findings []Finding, err error) {
	touched, err := r.touchesGoverned(c)
	if err != nil || touched == "" {
		return false, nil, err
	}
	s := gitops.SignatureOf(c, t)
	if !s.Trusted {
		// A forge's clean merge brings nothing of its own, whether it is
		// unsigned or signed with the forge's key (GitHub's web-flow key,
		// the fake's merge key), which allowed_signers need not trust.
		neutral, err := mergeAddsNothing(c)
		if err != nil {
			return true, nil, err
		}
		if neutral {
			s.Trusted = true
		}
	}
	if !s.Trusted {
		reason := s.Reason
		if reason == "" {
			reason = "not signed by an allowed signer"
		}
		findings = append(findings, Finding{Commit: c.Hash.String(), Check: "signature", Message: fmt.Sprintf("%s (%s)", reason, gitops.FirstLine(c.Message))})
	}
	fs, err := r.immutability(c)
	if err != nil {
		return true, nil, err
	}
	return true, append(findings, fs...), nil
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

// walk visits every commit reachable from tip once.
func (r *repository) walk(tip plumbing.Hash, fn func(*object.Commit) error) error {
	c, err := r.Repo().CommitObject(tip)
	if err != nil {
		return fmt.Errorf("reading commit %s: %w", tip, err)
	}
	it := object.NewCommitPreorderIter(c, nil, nil)
	defer it.Close()
	return it.ForEach(fn)
}

// subtree returns the hash of a top-level directory in c's tree, or zero.
func subtree(c *object.Commit, dir string) (plumbing.Hash, error) {
	tree, err := c.Tree()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	e, err := tree.FindEntry(dir)
	if errors.Is(err, object.ErrEntryNotFound) || errors.Is(err, object.ErrDirectoryNotFound) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return e.Hash, nil
}

// touchesGoverned returns the first governed directory c changes relative
// to its first parent, or "".
func (r *repository) touchesGoverned(c *object.Commit) (string, error) {
	var parent *object.Commit
	if c.NumParents() > 0 {
		p, err := c.Parent(0)
		if err != nil {
			return "", err
		}
		parent = p
	}
	for _, dir := range manifests.GovernedDirs {
		h, err := subtree(c, dir)
		if err != nil {
			return "", err
		}
		var ph plumbing.Hash
		if parent != nil {
			if ph, err = subtree(parent, dir); err != nil {
				return "", err
			}
		}
		if h != ph {
			return dir, nil
		}
	}
	return "", nil
}

// immutability reports registered version manifests that c modifies or
// deletes relative to its first parent.
func (r *repository) immutability(c *object.Commit) ([]Finding, error) {
	if c.NumParents() == 0 {
		return nil, nil
	}
	parent, err := c.Parent(0)
	if err != nil {
		return nil, err
	}
	ph, err := subtree(parent, manifests.ModelsDir)
	if err != nil || ph.IsZero() {
		return nil, err
	}
	if h, err := subtree(c, manifests.ModelsDir); err != nil || h == ph {
		return nil, err
	}
	before, err := versionBlobs(parent)
	if err != nil {
		return nil, err
	}
	after, err := versionBlobs(c)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for p, h := range before {
		switch a, ok := after[p]; {
		case !ok:
			out = append(out, Finding{Commit: c.Hash.String(), Path: p, Check: "immutable", Message: "deletes a registered version (versions are append-only; deprecate instead)"})
		case a != h:
			out = append(out, Finding{Commit: c.Hash.String(), Path: p, Check: "immutable", Message: "modifies a registered version (versions are immutable; register a new one)"})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// versionBlobs maps models/*/versions/*.yaml to blob hashes in c.
func versionBlobs(c *object.Commit) (map[string]plumbing.Hash, error) {
	tree, err := c.Tree()
	if err != nil {
		return nil, err
	}
	models, err := tree.Tree(manifests.ModelsDir)
	if errors.Is(err, object.ErrDirectoryNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string]plumbing.Hash{}
	for _, m := range models.Entries {
		if m.Mode.IsFile() {
			continue
		}
		vt, err := models.Tree(m.Name + "/versions")
		if err != nil {
			continue
		}
		for _, v := range vt.Entries {
			if v.Mode.IsFile() && strings.HasSuffix(v.Name, ".yaml") {
				out[manifests.VersionsDir(m.Name)+"/"+v.Name] = v.Hash
			}
		}
	}
	return out, nil
}

func (r *repository) verifyArtifacts(ctx context.Context, tip plumbing.Hash, deep bool, rep *VerifyReport) error {
	names, err := r.ListDir(tip, manifests.ModelsDir)
	if err != nil {
		return err
	}
	seen := map[manifests.Digest]bool{}
	for _, model := range names {
		if manifests.ValidName(model) != nil {
			continue
		}
		files, err := r.ListDir(tip, manifests.VersionsDir(model))
		if err != nil {
			return err
		}
		for _, f := range files {
			if !strings.HasSuffix(f, ".yaml") {
				continue
			}
			p := manifests.VersionsDir(model) + "/" + f
			v, err := r.ReadVersion(tip, p)
			if err != nil {
				rep.Findings = append(rep.Findings, Finding{Commit: tip.String(), Path: p, Check: "manifest", Message: err.Error()})
				continue
			}
			rep.Versions++
			var firstErr error
			v.Manifest.Artifacts.Each(func(kind string, a *manifests.Artifact) {
				if firstErr != nil || seen[a.Digest] {
					return
				}
				seen[a.Digest] = true
				rep.Artifacts++
				msg, err := r.checkBlob(ctx, a.Digest, a.MediaType, deep)
				if err != nil {
					firstErr = err
					return
				}
				if msg != "" {
					rep.Findings = append(rep.Findings, Finding{Commit: tip.String(), Path: p, Check: "artifact", Message: fmt.Sprintf("%s %s: %s", kind, a.Digest, msg)})
				}
			})
			if firstErr != nil {
				return firstErr
			}
			if deep {
				msg, err := r.checkPublished(ctx, v)
				if err != nil {
					return err
				}
				if msg != "" {
					rep.Findings = append(rep.Findings, Finding{Commit: tip.String(), Path: p, Check: "published", Message: msg})
				}
			}
		}
	}
	return nil
}

// checkPublished returns a finding's message when the store keeps one
// manifest per version (OCI) and the one under v's tag is missing or is
// not modelgit's manifest of v (deep only: it reads tree listings); an
// error only for a failure to check.
func (r *repository) checkPublished(ctx context.Context, v *gitops.VersionRef) (string, error) {
	res, ok := r.Store().(gitops.VersionChecker)
	if !ok {
		return "", nil
	}
	_, err := res.CheckVersion(ctx, v.Manifest, v.Raw)
	var mismatch *store.DigestMismatchError
	switch {
	case err == nil:
		return "", nil
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrTagMismatch), errors.As(err, &mismatch):
		if hint := gitops.RepublishHint(res, v, err); hint != "" {
			return err.Error() + "; " + hint, nil
		}
		return err.Error(), nil
	}
	return "", err
}

// checkBlob returns a finding's message for a blob that is missing or
// (deep) whose bytes do not match; an error only for a failure to check.
func (r *repository) checkBlob(ctx context.Context, d manifests.Digest, mediaType string, deep bool) (string, error) {
	if !deep && mediaType != manifests.MediaTypeTree {
		if _, err := r.Store().Stat(ctx, d); err != nil {
			return blobProblem(err)
		}
		return "", nil
	}
	rc, err := r.Store().Open(ctx, d)
	if err != nil {
		return blobProblem(err)
	}
	var listing []byte
	if mediaType == manifests.MediaTypeTree {
		listing, err = io.ReadAll(rc)
	} else {
		_, err = io.Copy(io.Discard, rc)
	}
	rc.Close()
	if err != nil {
		return blobProblem(err)
	}
	if mediaType != manifests.MediaTypeTree {
		return "", nil
	}
	tree, err := store.ParseListing(listing)
	if err != nil {
		return "tree listing: " + err.Error(), nil
	}
	var problems []string
	for _, e := range tree.Entries {
		msg, err := r.checkBlob(ctx, e.Digest, "", deep)
		if err != nil {
			return "", err
		}
		if msg != "" {
			problems = append(problems, e.Path+": "+msg)
		}
	}
	return strings.Join(problems, "; "), nil
}

func blobProblem(err error) (string, error) {
	var mismatch *store.DigestMismatchError
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "not in the store", nil
	case errors.As(err, &mismatch):
		return "the stored bytes do not match the digest: " + mismatch.Error(), nil
	}
	return "", err
}

package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/store"
	"github.com/modelgit/modelgit/manifests"
)

func (r *repository) verifyArtifacts(ctx context.Context, tip plumbing.Hash, deep bool, rep *VerifyReport) error {
	names, err := r.ListDir(tip, manifests.ModelsDir)
	if err != nil {
		return err
	}
	seen := map[manifests.Digest]bool{}
	reached := false
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
			if !reached {
				// A store that cannot be read at all is one finding, not
				// every blob missing.
				reached = true
				if err := store.Reach(ctx, r.Store()); err != nil {
					if !errors.Is(err, store.ErrUnreachable) {
						return err
					}
					rep.Findings = append(rep.Findings, Finding{Commit: tip.String(), Path: manifests.ConfigFile, Check: "store", Message: err.Error()})
					return nil
				}
			}
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

package check

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/render"
	"github.com/modelgit/modelgit/gitops/store"
	"github.com/modelgit/modelgit/manifests"
	"github.com/modelgit/modelgit/policies"
)

// manifests parses every changed manifest at the head.
func (c *checkRun) manifests(_ context.Context, changed []changedPath) error {
	r := c.r
	n := 0
	for _, ch := range changed {
		if ch.Deleted || !strings.HasSuffix(ch.Path, ".yaml") {
			continue
		}
		raw, err := r.Repo().ReadFile(c.head.Hash, ch.Path)
		if err != nil {
			return err
		}
		parts := strings.Split(ch.Path, "/")
		switch {
		case ch.Path == manifests.ConfigFile:
			_, err = manifests.ParseConfig(ch.Path, raw)
		case len(parts) == 3 && parts[0] == manifests.ModelsDir && parts[2] == "model.yaml":
			_, err = manifests.ParseModel(ch.Path, raw)
		case len(parts) == 4 && parts[0] == manifests.ModelsDir && parts[2] == "versions":
			var v *gitops.VersionRef
			if v, err = r.ReadVersion(c.head.Hash, ch.Path); err == nil && v.Manifest.Model != parts[1] {
				err = &manifests.FileError{File: ch.Path, Field: "model", Msg: fmt.Sprintf("%q does not match the directory (want %q)", v.Manifest.Model, parts[1])}
			}
		case len(parts) == 3 && parts[0] == manifests.EnvironmentsDir:
			err = c.checkRelease(ch.Path, parts[1], strings.TrimSuffix(parts[2], ".yaml"), raw)
		case len(parts) == 2 && parts[0] == manifests.PoliciesDir:
			_, err = policies.Parse(ch.Path, raw)
		default:
			continue
		}
		n++
		if err != nil {
			c.fail(CheckManifests, err.Error())
			c.annotate(ch.Path, err)
		}
	}
	c.summarize(CheckManifests, fmt.Sprintf("%s changed, all valid", gitops.Count(n, "manifest")), fmt.Sprintf("%s of %s changed invalid", gitops.Count(len(c.items[CheckManifests].Details), "manifest"), fmt.Sprint(n)))
	return nil
}

// checkRelease validates a release file as every command reads it
// (gitops.ValidRelease: schema, place, pinned versions registered at the
// head with their digests), in an environment the base declares.
func (c *checkRun) checkRelease(p, env, model string, raw []byte) error {
	if _, _, err := c.r.ValidRelease(c.head.Hash, p, raw); err != nil {
		return err
	}
	if err := c.headReg.CheckEnv(env); err != nil {
		return &manifests.FileError{File: p, Msg: err.Error()}
	}
	return nil
}

// signatures checks every commit of the range with the base's signers.
func (c *checkRun) signatures(_ context.Context, _ []changedPath) error {
	governed := 0
	for _, cm := range c.commit {
		g, fs, err := c.r.checkCommit(cm, trustedBy(c.trust))
		if err == nil && !g {
			g, fs, err = c.r.checkConfigCommit(cm, trustedBy(c.trust))
		}
		if err != nil {
			return err
		}
		if g {
			governed++
		}
		for _, f := range fs {
			name := CheckSignatures
			if f.Check == "immutable" {
				name = CheckImmutability
				c.rep.Annotations = append(c.rep.Annotations, Annotation{File: f.Path, Level: "error", Message: f.Message})
			}
			c.fail(name, f.String())
		}
	}
	c.summarize(CheckSignatures, fmt.Sprintf("%s touching governed paths or %s, all signed by signers allowed at the base", gitops.Count(governed, "commit"), manifests.ConfigFile), fmt.Sprintf("%s not signed by a signer allowed at the base %s", gitops.Count(len(c.items[CheckSignatures].Details), "commit"), gitops.Short(c.base.Hash)))
	c.summarize(CheckImmutability, "no registered version modified or deleted", "registered versions modified or deleted")
	return nil
}

// artifacts checks that the artifacts of added versions are in the store.
func (c *checkRun) artifacts(ctx context.Context, changed []changedPath) error {
	n, added, modified, reached := 0, 0, 0, false
	seen := map[manifests.Digest]bool{}
	for _, ch := range changed {
		parts := strings.Split(ch.Path, "/")
		if ch.Deleted || len(parts) != 4 || parts[0] != manifests.ModelsDir || parts[2] != "versions" || !strings.HasSuffix(ch.Path, ".yaml") {
			continue
		}
		v, err := c.r.ReadVersion(c.head.Hash, ch.Path)
		if err != nil {
			continue // reported by the manifests check
		}
		// A version the base already registers is modified, not new (the
		// immutability check fails it); its artifacts are checked all the
		// same.
		if _, err := c.r.Repo().ReadFile(c.mergeBase.Hash, ch.Path); err == nil {
			modified++
		} else {
			added++
		}
		if !reached {
			// A store that cannot be read at all (CI from a fresh clone:
			// a file:// store inside another clone, or a registry without
			// credentials) is not a store missing every blob.
			reached = true
			if err := store.Reach(ctx, c.r.Store()); err != nil {
				if !errors.Is(err, store.ErrUnreachable) {
					return fmt.Errorf("checking the store: %w", err)
				}
				c.fail(CheckArtifacts, err.Error())
				c.rep.Annotations = append(c.rep.Annotations, Annotation{File: ch.Path, Level: "error", Message: err.Error()})
				c.items[CheckArtifacts].Summary = "cannot reach the store " + c.r.Store().URL() + ": the artifacts were not checked"
				return nil
			}
		}
		var firstErr error
		v.Manifest.Artifacts.Each(func(kind string, a *manifests.Artifact) {
			if firstErr != nil || seen[a.Digest] {
				return
			}
			seen[a.Digest] = true
			n++
			msg, err := c.r.checkBlob(ctx, a.Digest, a.MediaType, false)
			if err != nil {
				firstErr = fmt.Errorf("checking %s %s of %s: %w", kind, a.Digest, ch.Path, err)
				return
			}
			if msg != "" {
				c.fail(CheckArtifacts, fmt.Sprintf("%s: %s %s: %s", ch.Path, kind, a.Digest, msg))
				c.rep.Annotations = append(c.rep.Annotations, Annotation{File: ch.Path, Level: "error", Message: fmt.Sprintf("%s %s: %s", kind, a.Digest, msg)})
			}
		})
		if firstErr != nil {
			return firstErr
		}
	}
	if added+modified == 0 {
		c.skip(CheckArtifacts, "no version added")
		return nil
	}
	var of []string
	if added > 0 {
		of = append(of, gitops.Count(added, "new version"))
	}
	if modified > 0 {
		of = append(of, gitops.Count(modified, "modified registered version"))
	}
	c.summarize(CheckArtifacts, fmt.Sprintf("%s of %s found in the store", gitops.Count(n, "artifact"), strings.Join(of, " and ")), "artifacts missing from the store")
	return nil
}

// rendered checks rendered/ and clusters/ at the head, and, for an OCI
// store, the storage URIs of the changed releases (see pins).
func (c *checkRun) rendered(ctx context.Context, changed []changedPath) error {
	if err := c.pins(ctx, changed); err != nil {
		return err
	}
	if err := c.localURIs(changed); err != nil {
		return err
	}
	envs := c.renderedEnvs(changed)
	if envs != nil && len(envs) == 0 {
		c.skip(CheckRendered, "nothing the pull request changes is rendered")
		return nil
	}
	stale, err := c.headReg.StaleRenderedAt(c.head.Hash, envs)
	if err != nil {
		c.fail(CheckRendered, "rendering the head: "+err.Error())
		c.items[CheckRendered].Summary = "the releases at the head do not render"
		if fes := manifests.AsFileErrors(err); len(fes) > 0 {
			c.annotate("", err)
		}
		return nil
	}
	for _, s := range stale {
		what := s.Problem()
		c.fail(CheckRendered, s.Path+" "+what)
		c.rep.Annotations = append(c.rep.Annotations, Annotation{File: s.Path, Level: "error", Message: "stale generated file: " + what + "; run modelgit render and commit the result"})
	}
	if len(stale) == 0 && c.items[CheckRendered].Status == CheckFail {
		if c.localURI {
			c.summarize(CheckRendered, "", "a storage URI names a store inside a clone, which no cluster can read")
		}
		c.summarize(CheckRendered, "", "a storage URI is not the pin of the version released: re-run modelgit promote")
	}
	c.summarize(CheckRendered, "rendered/ and clusters/ are in sync with the releases", fmt.Sprintf("%s out of sync: run modelgit render and commit", gitops.Count(len(stale), "generated file")))
	return nil
}

// pins checks, for an OCI store, that every release the pull request
// changes (its release or its rendered file) pins each version's storage
// URI to the OCI manifest computed from the committed version, and that
// its rendered file deploys only those (checkPins): a hand-edited
// oci://…@sha256:… would otherwise deploy what Git never registered. It
// fails the rendered check.
func (c *checkRun) pins(ctx context.Context, changed []changedPath) error {
	type key struct{ env, model string }
	seen := map[key]bool{}
	for _, ch := range changed {
		parts := strings.Split(ch.Path, "/")
		if ch.Deleted || len(parts) != 3 || (parts[0] != manifests.EnvironmentsDir && parts[0] != manifests.RenderedDir) || !strings.HasSuffix(parts[2], ".yaml") {
			continue
		}
		k := key{parts[1], strings.TrimSuffix(parts[2], ".yaml")}
		if seen[k] || c.headReg.CheckEnv(k.env) != nil || manifests.ValidName(k.model) != nil {
			continue
		}
		seen[k] = true
		problems, err := c.r.CheckPins(ctx, c.head.Hash, k.env, k.model)
		if err != nil {
			return fmt.Errorf("checking the storage URIs of %s: %w", manifests.ReleaseFile(k.env, k.model), err)
		}
		for _, p := range problems {
			loc := p.File
			if p.Line > 0 {
				loc = fmt.Sprintf("%s:%d", p.File, p.Line)
			}
			c.fail(CheckRendered, loc+": "+p.Message)
			c.rep.Annotations = append(c.rep.Annotations, Annotation{File: p.File, Line: p.Line, Level: "error", Message: p.Message})
		}
	}
	return nil
}

// renderedEnvs returns the environments whose rendered files the change
// can affect: those whose releases, rendered/ or clusters' files it
// changes (a cluster's environment by the base's and the head's
// modelgit.yaml); nil (all) when it changes modelgit.yaml or a model's
// manifest, which every environment renders from.
func (c *checkRun) renderedEnvs(changed []changedPath) map[string]bool {
	envs := map[string]bool{}
	clusterEnv := map[string][]string{}
	for _, reg := range []*gitops.Repository{c.baseReg, c.headReg} {
		for _, cl := range reg.Config().Clusters {
			clusterEnv[cl.Name] = append(clusterEnv[cl.Name], cl.Environment)
		}
	}
	for _, ch := range changed {
		parts := strings.Split(ch.Path, "/")
		switch {
		case ch.Path == manifests.ConfigFile:
			return nil
		case parts[0] == manifests.ModelsDir && len(parts) == 3 && parts[2] == "model.yaml":
			return nil
		case (parts[0] == manifests.EnvironmentsDir || parts[0] == manifests.RenderedDir) && len(parts) > 2:
			envs[parts[1]] = true
		case parts[0] == manifests.ClustersDir && len(parts) > 2:
			for _, e := range clusterEnv[parts[1]] {
				envs[e] = true
			}
		}
	}
	return envs
}

// localURIs fails the rendered check for every storage URI, in the
// rendered file of a release the pull request changes, that names a
// directory inside a clone (a relative file:// URL like the default
// store's, or one under this clone): no cluster can load it. The head's
// modelgit.yaml says what to do (render.LocalStoreProblem) (#13).
func (c *checkRun) localURIs(changed []changedPath) error {
	seen := map[string]bool{}
	for _, ch := range changed {
		parts := strings.Split(ch.Path, "/")
		if ch.Deleted || len(parts) != 3 || (parts[0] != manifests.EnvironmentsDir && parts[0] != manifests.RenderedDir) || !strings.HasSuffix(parts[2], ".yaml") {
			continue
		}
		env, model := parts[1], strings.TrimSuffix(parts[2], ".yaml")
		rendered := manifests.RenderedFile(env, model)
		if seen[rendered] || c.headReg.CheckEnv(env) != nil || manifests.ValidName(model) != nil {
			continue
		}
		seen[rendered] = true
		raw, err := c.r.Repo().ReadFile(c.head.Hash, rendered)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		uris, lines := render.LocalStorageURIs(raw, c.r.Root())
		why := render.LocalStoreProblem(c.headReg.Config(), env, c.r.Root())
		if why == "" {
			why = fmt.Sprintf("set store: in modelgit.yaml to a shared oci://REGISTRY/REPO, or declare where the clusters of %q read the store (environments[].clusterStore), then run modelgit promote again", env)
		}
		for i, uri := range uris {
			msg := fmt.Sprintf("storage URI %s names a directory inside a clone, which no cluster can read: %s", uri, why)
			c.fail(CheckRendered, fmt.Sprintf("%s:%d: %s", rendered, lines[i], msg))
			c.rep.Annotations = append(c.rep.Annotations, Annotation{File: rendered, Line: lines[i], Level: "error", Message: msg})
			c.localURI = true
		}
	}
	return nil
}

package register

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/gitops/repo"
	"github.com/modelgit/modelgit/gitops/signing"
	"github.com/modelgit/modelgit/gitops/store"
	"github.com/modelgit/modelgit/manifests"
)

// Media types of artifacts. Weights and code follow the CNCF ModelPack
// model-spec; the feature schema and inference config have no standard
// type there, so modelgit names its own.
const (
	MediaTypeWeights         = "application/vnd.cncf.model.weight.v1.raw"
	MediaTypePipeline        = "application/vnd.cncf.model.code.v1.raw"
	MediaTypeFeatureSchema   = "application/vnd.modelgit.feature-schema.v1+json"
	MediaTypeInferenceConfig = "application/vnd.modelgit.inference-config.v1+yaml"
)

// RegisterOptions describe a model version to register.
type RegisterOptions struct {
	Model string
	// Paths of the artifacts. Weights is required; Weights and Pipeline
	// may be directories (a sharded checkpoint), Schema and Config must be
	// files.
	Weights, Pipeline, Schema, Config string
	// Metrics and Params are paths of JSON or YAML files.
	Metrics, Params string
	// Data is the training data (a directory or a file): hashed, not
	// stored. DataSource says where it came from.
	Data, DataSource string
	// Version overrides the proposed version.
	Version string
	// Framework is "name" or "name=version"; Libraries map name to version.
	Framework string
	Libraries map[string]string
	Targets   []string
	TrainedAt *time.Time
	// Owner and Labels are used when the model is registered for the first
	// time (they go into models/<model>/model.yaml).
	Owner  string
	Labels map[string]string
	// Identity is who registers (name and email of the commit).
	Identity object.Signature
	// Signer signs the commit; nil makes an unsigned commit.
	Signer signing.Signer
	// DryRun hashes and proposes a version without storing or committing.
	DryRun bool
	// AllowRemoval registers a version without an artifact kind the
	// latest version has (a major version). Without it that is refused
	// with ErrArtifactRemoved, before anything is stored.
	AllowRemoval bool
}

// RegisterResult says what Register did.
type RegisterResult struct {
	// Version is the new version, or the latest one when nothing changed.
	Version  *gitops.VersionRef
	Previous *gitops.VersionRef
	Proposal manifests.Proposal
	// Remembered names the inputs taken from the model's register: block
	// (models/<model>/model.yaml), as "--weights PATH".
	Remembered []string
	// RememberedUpdated is true when the commit updates that block.
	RememberedUpdated bool
	// Unchanged is true when nothing differs from the latest version: no
	// commit was made.
	Unchanged bool
	Commit    plumbing.Hash
	Artifacts []StoredArtifact
}

// StoredArtifact is one artifact as hashed and stored.
type StoredArtifact struct {
	Kind string `json:"kind"`
	manifests.Artifact
	// Files is the number of files of a directory artifact.
	Files int `json:"files"`
}

type input struct {
	kind, flag, path, mediaType string
	fileOnly                    bool
}

// ErrNoWeights is wrapped by Register when no weights are given and the
// model remembers none.
var ErrNoWeights = errors.New("--weights is required")

// Register hashes and stores the artifacts, proposes the next version,
// writes models/<model>/versions/<version>.yaml and commits it, signed,
// with trailers. Re-running it with the same inputs converges: it reports
// that nothing changed.
func (r *repository) Register(ctx context.Context, opts RegisterOptions) (*RegisterResult, error) {
	if err := manifests.ValidName(opts.Model); err != nil {
		return nil, fmt.Errorf("registering: model name: %w", err)
	}
	res := &RegisterResult{}
	remembered, err := r.remembered(opts.Model)
	if err != nil {
		return nil, err
	}
	opts, res.Remembered = r.withRemembered(opts, remembered)
	if opts.Weights == "" {
		return nil, fmt.Errorf("registering %q: %w (the first time; %s then remembers it under register:)", opts.Model, ErrNoWeights, manifests.ModelFile(opts.Model))
	}
	if opts.Identity.Email == "" {
		return nil, fmt.Errorf("registering %q: no committer identity: set git config user.name and user.email", opts.Model)
	}
	if err := checkFlags(opts); err != nil {
		return nil, fmt.Errorf("registering %q: %w", opts.Model, err)
	}
	if opts.Signer != nil && !opts.DryRun {
		if err := r.checkSigner(opts); err != nil {
			return nil, err
		}
	}
	inputs := []input{
		{manifests.ArtifactWeights, "--weights", opts.Weights, MediaTypeWeights, false},
		{manifests.ArtifactPipeline, "--pipeline", opts.Pipeline, MediaTypePipeline, false},
		{manifests.ArtifactSchema, "--schema", opts.Schema, MediaTypeFeatureSchema, true},
		{manifests.ArtifactConfig, "--config", opts.Config, MediaTypeInferenceConfig, true},
	}
	cache, err := store.OpenStatCache(filepath.Join(r.Repo().Root, manifests.StateDir, "statcache"))
	if err != nil {
		return nil, err
	}
	h := &store.Hasher{Cache: cache, Progress: r.NewProgress()}
	// Check every input before anything is stored, so bad input costs
	// nothing and leaves nothing behind. The hasher keeps the walk of each
	// directory for hashing it.
	if err := checkInputs(h, opts, inputs,
		input{flag: "--metrics", path: opts.Metrics, fileOnly: true},
		input{flag: "--params", path: opts.Params, fileOnly: true},
		input{flag: "--data", path: opts.Data}); err != nil {
		return nil, err
	}
	if !opts.AllowRemoval {
		if err := r.checkRemoval(opts, inputs); err != nil {
			return nil, err
		}
	}
	candidate, err := readCandidate(opts)
	if err != nil {
		return nil, err
	}
	var explicit manifests.Version
	if opts.Version != "" {
		if explicit, err = manifests.ParseVersion(opts.Version); err != nil {
			return nil, fmt.Errorf("registering %q: --version: %w", opts.Model, err)
		}
		// Refuse a version that cannot be used before storing anything;
		// commitVersion checks again against the tip it commits on.
		if err := r.checkExplicit(opts.Model, explicit); err != nil {
			return nil, err
		}
	}

	if err := r.hashAndStore(ctx, h, opts, inputs, candidate, res); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		err := r.commitVersion(ctx, opts, candidate, explicit, res)
		if errors.Is(err, repo.ErrRefMoved) && attempt < 5 {
			r.Log().Warningf("the branch moved while registering; trying again on its new tip")
			continue
		}
		return res, err
	}
}

// readCandidate starts the version manifest from what register reads
// besides the artifacts: metrics, params, the feature schema, the
// inference interface and the framework.
func readCandidate(opts RegisterOptions) (*manifests.ModelVersion, error) {
	var err error
	candidate := &manifests.ModelVersion{
		APIVersion:   manifests.APIVersion,
		Kind:         manifests.KindModelVersion,
		Model:        opts.Model,
		Libraries:    opts.Libraries,
		Targets:      opts.Targets,
		TrainedAt:    opts.TrainedAt,
		RegisteredBy: gitops.FormatIdentity(opts.Identity),
	}
	if opts.Metrics != "" {
		if candidate.Metrics, err = ReadMetrics(opts.Metrics); err != nil {
			return nil, fmt.Errorf("--metrics: %w", err)
		}
	}
	if opts.Params != "" {
		if candidate.Params, err = ReadParams(opts.Params); err != nil {
			return nil, fmt.Errorf("--params: %w", err)
		}
	}
	if opts.Schema != "" {
		if candidate.Features, err = ReadFeatures(opts.Schema); err != nil {
			return nil, fmt.Errorf("--schema: %w", err)
		}
	}
	if opts.Config != "" {
		in, out, err := ReadInterface(opts.Config)
		if err != nil {
			return nil, fmt.Errorf("--config: %w", err)
		}
		if in != nil || out != nil {
			candidate.Interface = &manifests.Interface{Inputs: in, Outputs: out}
		}
	}
	if opts.Framework != "" {
		name, ver, _ := strings.Cut(opts.Framework, "=")
		candidate.Framework = &manifests.Framework{Name: name, Version: ver}
	}
	return candidate, nil
}

// hashAndStore hashes the training data, then hashes and stores each
// artifact (only hashes on a dry run), recording them in candidate and
// res.
func (r *repository) hashAndStore(ctx context.Context, h *store.Hasher, opts RegisterOptions, inputs []input, candidate *manifests.ModelVersion, res *RegisterResult) error {
	var err error
	// The training data is hashed first: it is only hashed, never stored,
	// so a problem there (a symlink loop, an unreadable file) fails before
	// any artifact reaches the store.
	if opts.Data != "" {
		r.Log().Actionf("hashing training data %s", opts.Data)
		hr, err := h.Hash(ctx, opts.Data)
		if err != nil {
			return fmt.Errorf("registering %q: --data: %w", opts.Model, err)
		}
		if err := notEmpty("--data", opts.Data, hr); err != nil {
			return err
		}
		name, err := artifactName(opts.Data)
		if err != nil {
			return fmt.Errorf("registering %q: --data %q: %w", opts.Model, opts.Data, err)
		}
		candidate.Data = &manifests.Data{Digest: hr.Digest, Path: name, Files: hr.Files, Size: hr.Size, Source: opts.DataSource}
	}
	for _, in := range inputs {
		if in.path == "" {
			continue
		}
		var hr store.Result
		if opts.DryRun {
			r.Log().Actionf("hashing %s %s", in.kind, in.path)
			hr, err = h.Hash(ctx, in.path)
		} else {
			r.Log().Actionf("storing %s %s", in.kind, in.path)
			hr, err = h.Add(ctx, r.Store(), in.path)
		}
		if err != nil {
			return fmt.Errorf("registering %q: %s: %w", opts.Model, in.flag, err)
		}
		name, err := artifactName(in.path)
		if err != nil {
			return fmt.Errorf("registering %q: %s %q: %w", opts.Model, in.flag, in.path, err)
		}
		art := &manifests.Artifact{Path: name, Digest: hr.Digest, Size: hr.Size, MediaType: in.mediaType}
		if hr.IsDir {
			art.MediaType = manifests.MediaTypeTree
		}
		if err := notEmpty(in.flag, in.path, hr); err != nil {
			return err
		}
		setArtifact(&candidate.Artifacts, in.kind, art)
		res.Artifacts = append(res.Artifacts, StoredArtifact{Kind: in.kind, Artifact: *art, Files: hr.Files})
	}
	if err := h.Cache.Save(); err != nil {
		r.Log().Warningf("saving the hash cache: %v", err)
	}

	return nil
}

// commitVersion proposes the version against the current tip and commits
// it. It is retried from scratch when the branch moves underneath.
func (r *repository) commitVersion(ctx context.Context, opts RegisterOptions, candidate *manifests.ModelVersion, explicit manifests.Version, res *RegisterResult) error {
	head, err := r.Head()
	if err != nil {
		return err
	}
	versions, err := r.VersionsAt(head, opts.Model)
	if err != nil {
		return err
	}
	var latest *manifests.ModelVersion
	if len(versions) > 0 {
		res.Previous = versions[len(versions)-1]
		latest = res.Previous.Manifest
	}
	res.Proposal = manifests.Propose(latest, candidate)
	if explicit.IsZero() && res.Proposal.Bump == manifests.BumpNone {
		res.Unchanged = true
		res.Version = res.Previous
		if err := r.repairWorktree(head, res.Previous); err != nil {
			return err
		}
		if opts.DryRun {
			return nil
		}
		// A crash after the commit may have left the registry without the
		// version's manifest: pushing again is a no-op when it is there.
		return r.publishVersion(ctx, res.Previous)
	}
	candidate.Version = res.Proposal.Version
	if !explicit.IsZero() {
		if err := explicitAgainst(opts.Model, versions, explicit); err != nil {
			return err
		}
		candidate.Version = explicit
	}
	if err := candidate.Version.Valid(); err != nil {
		return fmt.Errorf("registering %q: bumping %s (%s): %w", opts.Model, res.Proposal.Bump, strings.Join(res.Proposal.Reasons, "; "), err)
	}
	candidate.Reason = strings.Join(res.Proposal.Reasons, "; ")
	candidate.RegisteredAt = r.Now().UTC().Truncate(time.Second)
	raw, err := manifests.Marshal(candidate)
	if err != nil {
		return err
	}
	path := manifests.VersionFile(opts.Model, candidate.Version.String())
	// What is committed must read back with the code every command reads
	// it with.
	if _, err := manifests.ParseModelVersion(path, raw); err != nil {
		return fmt.Errorf("registering %q: the version manifest would not read back, so nothing is committed: %w", opts.Model, err)
	}
	res.Version = &gitops.VersionRef{Manifest: candidate, Digest: manifests.FromBytes(raw), Path: path, Raw: raw}
	if opts.DryRun {
		return nil
	}
	files := []repo.File{{Path: path, Content: raw}}
	mf, err := r.modelFile(head, opts, res)
	if err != nil {
		return err
	}
	files = append(files, mf...)
	msg := registerMessage(opts.Model, candidate, res, explicit)
	sig := opts.Identity
	sig.When = candidate.RegisteredAt
	r.Log().Actionf("committing %s", path)
	res.Commit, err = r.Repo().Commit(ctx, repo.CommitRequest{
		Files:          files,
		Message:        msg,
		Author:         sig,
		Committer:      sig,
		Signer:         opts.Signer,
		ExpectedParent: head,
		OnWait:         r.lockWait,
	})
	if err != nil {
		return err
	}
	return r.publishVersion(ctx, res.Version)
}

// registerMessage is the registration commit's message: the reasons for
// the bump, and the trailers audit reads.
func registerMessage(model string, candidate *manifests.ModelVersion, res *RegisterResult, explicit manifests.Version) string {
	trailers := []repo.Trailer{
		{Key: "Model", Value: model},
		{Key: "Model-Version", Value: candidate.Version.String()},
		{Key: "Model-Digest", Value: res.Version.Digest.String()},
	}
	if candidate.Data != nil {
		trailers = append(trailers, repo.Trailer{Key: "Data-Hash", Value: candidate.Data.Digest.String()})
	}
	trailers = append(trailers, repo.Trailer{Key: "Registered-by", Value: candidate.RegisteredBy})
	body := ""
	for _, reason := range res.Proposal.Reasons {
		body += "- " + reason + "\n"
	}
	if !explicit.IsZero() {
		body += fmt.Sprintf("- version %s given explicitly (proposed: %s)\n", explicit, res.Proposal.Version)
	}
	msg := repo.FormatMessage(fmt.Sprintf("Register %s %s", model, candidate.Version), body, trailers)
	return msg
}

// versionPublisher is a store that keeps one manifest per model version
// beside the blobs (an OCI registry).
type versionPublisher interface {
	PushVersion(ctx context.Context, mv *manifests.ModelVersion, manifestYAML []byte) (ocispec.Descriptor, error)
}

// publishVersion pushes v's manifest to a store that keeps one per version,
// after the commit that registers it: re-running register converges.
func (r *repository) publishVersion(ctx context.Context, v *gitops.VersionRef) error {
	p, ok := r.Store().(versionPublisher)
	if !ok || v == nil {
		return nil
	}
	desc, err := p.PushVersion(ctx, v.Manifest, v.Raw)
	if err != nil {
		return fmt.Errorf("%w (the version is committed; run register again to publish it)", err)
	}
	r.Log().Successf("published %s to %s as %s", v.Name(), r.Store().URL(), desc.Digest)
	return nil
}

// modelFile returns models/<model>/model.yaml when the commit must write
// it: new (with the owner, labels and the register: block), or with its
// register: block changed to remember these inputs.
func (r *repository) modelFile(head plumbing.Hash, opts RegisterOptions, res *RegisterResult) ([]repo.File, error) {
	path := manifests.ModelFile(opts.Model)
	rem := r.rememberOf(opts)
	var cur []byte
	if !head.IsZero() {
		var err error
		if cur, err = r.Repo().ReadFile(head, path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	if cur == nil {
		m := &manifests.Model{
			APIVersion: manifests.APIVersion,
			Kind:       manifests.KindModel,
			Name:       opts.Model,
			Owner:      opts.Owner,
			Labels:     opts.Labels,
			Register:   rem,
		}
		raw, err := manifests.Marshal(m)
		if err != nil {
			return nil, err
		}
		res.RememberedUpdated = true
		return []repo.File{{Path: path, Content: raw}}, nil
	}
	m, err := manifests.ParseModel(path, cur)
	if err != nil {
		return nil, err
	}
	if m.Register != nil && *m.Register == *rem {
		return nil, nil
	}
	raw, err := withRegisterBlock(path, cur, rem)
	if err != nil {
		return nil, err
	}
	res.RememberedUpdated = true
	return []repo.File{{Path: path, Content: raw}}, nil
}

// repairWorktree restores the latest version's manifest in the work tree
// and index when a crash left the commit made but the files unwritten.
func (r *repository) repairWorktree(head plumbing.Hash, v *gitops.VersionRef) error {
	if v == nil {
		return nil
	}
	// The version manifest and the model file the first version commits
	// with it.
	stale := r.staleFiles(head, v.Path, manifests.ModelFile(v.Manifest.Model))
	if len(stale) == 0 {
		return nil
	}
	var paths []string
	for _, f := range stale {
		paths = append(paths, f.Path)
	}
	r.Log().Warningf("restoring %s in the work tree and index from %s", strings.Join(paths, ", "), head.String()[:12])
	// Committing the same bytes changes nothing in history and rewrites
	// the work-tree files and their index entries.
	_, err := r.Repo().Commit(context.Background(), repo.CommitRequest{
		Files:          stale,
		ExpectedParent: head,
		OnWait:         r.lockWait,
	})
	return err
}

// indexHas reports whether the index records path with exactly content
// (a crash between moving the branch and updating the index leaves it
// stale even when the work-tree file is right).
func (r *repository) indexHas(path string, content []byte) bool {
	return r.Repo().IndexHas(path, content)
}

// notEmpty refuses an artifact or data set with no bytes: an empty file
// or directory is a pipeline mistake, not a model.
func notEmpty(flag, path string, hr store.Result) error {
	switch {
	case hr.IsDir && hr.Files == 0:
		return fmt.Errorf("%s %q: the directory has no files", flag, path)
	case hr.Size == 0:
		return fmt.Errorf("%s %q: is empty (0 bytes)", flag, path)
	}
	return nil
}

// checkExplicit refuses an explicit version that exists or is not
// greater than the latest at HEAD.
func (r *repository) checkExplicit(model string, v manifests.Version) error {
	head, err := r.Head()
	if err != nil {
		return err
	}
	versions, err := r.VersionsAt(head, model)
	if err != nil {
		return err
	}
	return explicitAgainst(model, versions, v)
}

// explicitAgainst checks an explicit version against the registered ones
// (oldest first).
func explicitAgainst(model string, versions []*gitops.VersionRef, v manifests.Version) error {
	var latest *manifests.ModelVersion
	existing := make([]manifests.Version, len(versions))
	for i, ref := range versions {
		existing[i] = ref.Manifest.Version
		latest = ref.Manifest
	}
	if err := manifests.ValidateExplicit(latest, v, existing); err != nil {
		return fmt.Errorf("registering %q: --version: %w", model, err)
	}
	return nil
}

func setArtifact(a *manifests.Artifacts, kind string, art *manifests.Artifact) {
	switch kind {
	case manifests.ArtifactWeights:
		a.Weights = art
	case manifests.ArtifactPipeline:
		a.Pipeline = art
	case manifests.ArtifactSchema:
		a.Schema = art
	case manifests.ArtifactConfig:
		a.Config = art
	}
}

// checkFlags refuses a framework or target that the manifest could only
// record wrongly, before anything is hashed.
func checkFlags(opts RegisterOptions) error {
	if opts.Framework != "" {
		name, ver, ok := strings.Cut(opts.Framework, "=")
		if !ok || strings.TrimSpace(name) == "" || strings.TrimSpace(ver) == "" || strings.ContainsAny(opts.Framework, " \t\n") {
			return fmt.Errorf("--framework %q: want NAME=VERSION, e.g. pytorch=2.4.1", opts.Framework)
		}
	}
	for _, t := range opts.Targets {
		if err := manifests.ValidName(t); err != nil {
			return fmt.Errorf("--target %q: want the name of a cluster or environment: %w", t, err)
		}
	}
	return nil
}

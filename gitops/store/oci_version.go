package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
	"oras.land/oras-go/v2/errdef"

	"github.com/modelgit/modelgit/manifests"
)

// Media types and annotations of a model version in an OCI registry. The
// manifest follows the CNCF ModelPack model-spec (docs/oci.md says why):
// its artifactType and config are ModelPack's, weights and code are
// ModelPack ".raw" layers (the file's bytes as they are, so the layer
// digest is the file store digest), the other artifacts keep their
// modelgit media types, and the version manifest YAML is one more layer.
const (
	ArtifactTypeModelManifest = "application/vnd.cncf.model.manifest.v1+json"
	MediaTypeModelConfig      = "application/vnd.cncf.model.config.v1+json"
	MediaTypeModelWeight      = "application/vnd.cncf.model.weight.v1.raw"
	MediaTypeModelCode        = "application/vnd.cncf.model.code.v1.raw"
	// MediaTypeVersionManifest is the layer holding the version manifest
	// YAML, byte for byte as committed to Git.
	MediaTypeVersionManifest = "application/vnd.modelgit.version.v1+yaml"

	AnnotationFilepath = "org.cncf.model.filepath"
	AnnotationModel    = "dev.modelgit.model"
	AnnotationVersion  = "dev.modelgit.version"
	// AnnotationDigest is the version digest, the sha256 of the manifest
	// YAML: the digest a release pins.
	AnnotationDigest = "dev.modelgit.digest"
	// AnnotationArtifact is the artifact kind of a layer (weights, …).
	AnnotationArtifact = "dev.modelgit.artifact"
	// AnnotationTree marks a tree listing layer with the directory name.
	AnnotationTree = "dev.modelgit.tree"

	// VersionManifestTitle is the file name `oras pull` gives the version
	// manifest YAML.
	VersionManifestTitle = "modelgit-version.yaml"
)

// TagFor returns the OCI tag of a model version: "<model>-<version>" with
// "+" replaced by "_" (tags cannot hold "+"), e.g. "fraud-1.4.0_data.7".
// The model name is part of the tag because one repository holds every
// model of a store; the version cannot contain "_" or "-", so the tag is
// unambiguous.
func TagFor(model string, v manifests.Version) (string, error) {
	if err := manifests.ValidName(model); err != nil {
		return "", fmt.Errorf("making tag for model %q: %w", model, err)
	}
	if v.IsZero() {
		return "", fmt.Errorf("making tag for model %q: empty version", model)
	}
	tag := strings.ReplaceAll(model+"-"+v.String(), "+", "_")
	if len(tag) > 128 {
		return "", fmt.Errorf("making tag for %s@%s: %q is longer than the 128 characters OCI allows", model, v, tag)
	}
	return tag, nil
}

// modelPackConfig is the ModelPack model config
// (application/vnd.cncf.model.config.v1+json), with the fields modelgit
// knows.
type modelPackConfig struct {
	Descriptor struct {
		CreatedAt *time.Time `json:"createdAt,omitempty"`
		Name      string     `json:"name"`
		Version   string     `json:"version"`
	} `json:"descriptor"`
	Config struct {
		Format string `json:"format,omitempty"`
	} `json:"config"`
	ModelFS struct {
		Type    string          `json:"type"`
		DiffIDs []digest.Digest `json:"diffIds"`
	} `json:"modelfs"`
}

// layerType returns the layer media type of a file of an artifact of kind
// whose recorded media type is mediaType.
func layerType(kind, mediaType string) string {
	switch {
	case mediaType != "" && mediaType != manifests.MediaTypeTree:
		return mediaType
	case kind == manifests.ArtifactWeights:
		return MediaTypeModelWeight
	case kind == manifests.ArtifactPipeline:
		return MediaTypeModelCode
	}
	return "application/octet-stream"
}

func ociDigest(d manifests.Digest) digest.Digest { return digest.Digest(d.String()) }

// versionLayers builds the layers of mv: one per file artifact, and for a
// tree one per file (titled "<dir>/<path>") plus its listing (untitled, so
// `oras pull` skips it), reading tree listings from trees. what names each
// layer for messages.
func versionLayers(ctx context.Context, trees Store, mv *manifests.ModelVersion) (layers []ocispec.Descriptor, what []string, err error) {
	mv.Artifacts.Each(func(kind string, a *manifests.Artifact) {
		if err != nil {
			return
		}
		if a.MediaType != manifests.MediaTypeTree {
			layers = append(layers, ocispec.Descriptor{
				MediaType: layerType(kind, a.MediaType), Digest: ociDigest(a.Digest), Size: a.Size,
				Annotations: map[string]string{ocispec.AnnotationTitle: a.Path, AnnotationFilepath: a.Path, AnnotationArtifact: kind},
			})
			what = append(what, fmt.Sprintf("%s %q", kind, a.Path))
			return
		}
		var t Tree
		if t, err = ReadTree(ctx, trees, a.Digest); err != nil {
			if errors.Is(err, ErrNotFound) {
				err = fmt.Errorf("%s %q: tree listing: %w: copy the version's blobs first", kind, a.Path, err)
			}
			return
		}
		for _, e := range t.Entries {
			p := path.Join(a.Path, e.Path)
			layers = append(layers, ocispec.Descriptor{
				MediaType: layerType(kind, ""), Digest: ociDigest(e.Digest), Size: e.Size,
				Annotations: map[string]string{ocispec.AnnotationTitle: p, AnnotationFilepath: p, AnnotationArtifact: kind},
			})
			what = append(what, fmt.Sprintf("%s file %q", kind, p))
		}
		layers = append(layers, ocispec.Descriptor{
			MediaType: manifests.MediaTypeTree, Digest: ociDigest(a.Digest), Size: int64(len(t.Listing())),
			Annotations: map[string]string{AnnotationTree: a.Path, AnnotationArtifact: kind},
		})
		what = append(what, fmt.Sprintf("%s tree listing %q", kind, a.Path))
	})
	return layers, what, err
}

// checkLayers checks with parallel HEADs that o holds every layer, naming
// each missing or wrong one.
func (o *OCI) checkLayers(ctx context.Context, layers []ocispec.Descriptor, what []string) error {
	errs := make([]error, len(layers))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.opts.Parallel * 4)
	for i, l := range layers {
		g.Go(func() error {
			d := manifests.MustParseDigest(string(l.Digest))
			n, err := o.Stat(gctx, d)
			switch {
			case errors.Is(err, ErrNotFound):
				errs[i] = fmt.Errorf("%s: blob %s is not in %s", what[i], d, o.URL())
			case err != nil:
				return err
			case n != l.Size:
				errs[i] = fmt.Errorf("%s: blob %s is %d bytes in %s, the manifest says %d", what[i], d, n, o.URL(), l.Size)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w\ncopy the version's blobs first (store.CopyBlobs, `modelgit store copy`)", err)
	}
	return nil
}

// dedupeTitles prefixes every title with "<kind>/" when two layers would
// otherwise be pulled to the same file name.
func dedupeTitles(layers []ocispec.Descriptor) {
	seen := map[string]bool{}
	clash := false
	for _, l := range layers {
		t := l.Annotations[ocispec.AnnotationTitle]
		if t == "" {
			continue
		}
		if seen[t] {
			clash = true
		}
		seen[t] = true
	}
	if !clash {
		return
	}
	for _, l := range layers {
		if t, ok := l.Annotations[ocispec.AnnotationTitle]; ok && l.MediaType != MediaTypeVersionManifest {
			l.Annotations[ocispec.AnnotationTitle] = l.Annotations[AnnotationArtifact] + "/" + t
		}
	}
}

// versionManifest is the OCI manifest of a model version, as PushVersion
// pushes it.
type versionManifest struct {
	desc     ocispec.Descriptor
	manifest []byte // the manifest JSON
	config   []byte // the ModelPack config JSON
	layers   []ocispec.Descriptor
	what     []string // names of the artifact layers, for messages
}

// BuildVersionManifest returns the descriptor and bytes of the OCI
// manifest PushVersion makes for model version mv, whose manifest file
// holds manifestYAML, reading tree listings from trees. The bytes depend
// only on mv, manifestYAML and those listings: the digest a release pins
// can be computed without the registry.
func BuildVersionManifest(ctx context.Context, trees Store, mv *manifests.ModelVersion, manifestYAML []byte) (ocispec.Descriptor, []byte, error) {
	vm, err := buildVersionManifest(ctx, trees, mv, manifestYAML)
	if err != nil {
		return ocispec.Descriptor{}, nil, err
	}
	return vm.desc, vm.manifest, nil
}

func buildVersionManifest(ctx context.Context, trees Store, mv *manifests.ModelVersion, manifestYAML []byte) (*versionManifest, error) {
	if mv == nil {
		return nil, fmt.Errorf("no model version")
	}
	if mv.Artifacts.Weights == nil {
		return nil, fmt.Errorf("the version has no weights artifact")
	}
	vd := manifests.FromBytes(manifestYAML)
	layers, what, err := versionLayers(ctx, trees, mv)
	if err != nil {
		return nil, err
	}
	vm := &versionManifest{what: what}
	layers = append(layers, ocispec.Descriptor{
		MediaType: MediaTypeVersionManifest, Digest: ociDigest(vd), Size: int64(len(manifestYAML)),
		Annotations: map[string]string{ocispec.AnnotationTitle: VersionManifestTitle, AnnotationModel: mv.Model, AnnotationVersion: mv.Version.String()},
	})
	dedupeTitles(layers)
	vm.layers = layers

	var cfg modelPackConfig
	created := mv.RegisteredAt.UTC()
	if mv.TrainedAt != nil {
		created = mv.TrainedAt.UTC()
	}
	cfg.Descriptor.CreatedAt = &created
	cfg.Descriptor.Name, cfg.Descriptor.Version = mv.Model, mv.Version.String()
	if mv.Framework != nil {
		cfg.Config.Format = mv.Framework.Name
	}
	cfg.ModelFS.Type = "layers"
	cfg.ModelFS.DiffIDs = []digest.Digest{}
	for _, l := range layers {
		cfg.ModelFS.DiffIDs = append(cfg.ModelFS.DiffIDs, l.Digest)
	}
	if vm.config, err = json.Marshal(cfg); err != nil {
		return nil, err
	}
	m := ocispec.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: ArtifactTypeModelManifest,
		Config:       ocispec.Descriptor{MediaType: MediaTypeModelConfig, Digest: ociDigest(manifests.FromBytes(vm.config)), Size: int64(len(vm.config))},
		Layers:       layers,
		Annotations: map[string]string{
			ocispec.AnnotationTitle:   mv.Model,
			ocispec.AnnotationVersion: mv.Version.String(),
			ocispec.AnnotationCreated: mv.RegisteredAt.UTC().Format(time.RFC3339),
			AnnotationModel:           mv.Model,
			AnnotationVersion:         mv.Version.String(),
			AnnotationDigest:          vd.String(),
		},
	}
	if vm.manifest, err = json.Marshal(m); err != nil {
		return nil, err
	}
	vm.desc = ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, ArtifactType: ArtifactTypeModelManifest, Digest: ociDigest(manifests.FromBytes(vm.manifest)), Size: int64(len(vm.manifest))}
	return vm, nil
}

// PushVersion pushes the OCI manifest of model version mv, whose manifest
// file holds manifestYAML, tagged TagFor(mv.Model, mv.Version). The
// artifact blobs (and every file of a directory artifact) must already be
// in o — copy them with CopyBlobs; PushVersion checks each with a HEAD
// and names any missing one. It uploads the version YAML and the ModelPack
// config, then the manifest. The manifest bytes depend only on mv and
// manifestYAML (BuildVersionManifest), so pushing again is a no-op; a tag
// that already holds anything else (another version, an artifact that is
// not a modelgit version, an edited manifest of this version) is refused
// (versions are immutable) with an error wrapping ErrTagMismatch.
func (o *OCI) PushVersion(ctx context.Context, mv *manifests.ModelVersion, manifestYAML []byte) (ocispec.Descriptor, error) {
	desc, _, err := o.PublishVersion(ctx, mv, manifestYAML)
	return desc, err
}

// PublishVersion is PushVersion, and also reports whether the registry
// already held the manifest under its tag (then nothing was pushed).
func (o *OCI) PublishVersion(ctx context.Context, mv *manifests.ModelVersion, manifestYAML []byte) (desc ocispec.Descriptor, existed bool, err error) {
	if mv == nil {
		return ocispec.Descriptor{}, false, fmt.Errorf("pushing version: no model version")
	}
	name := mv.Model + "@" + mv.Version.String()
	fail := func(err error) (ocispec.Descriptor, bool, error) {
		return ocispec.Descriptor{}, false, fmt.Errorf("pushing %s to %s: %w", name, o.URL(), err)
	}
	tag, err := TagFor(mv.Model, mv.Version)
	if err != nil {
		return fail(err)
	}
	vm, err := buildVersionManifest(ctx, o, mv, manifestYAML)
	if err != nil {
		return fail(err)
	}
	// Every layer but the version YAML, which is uploaded below.
	if err := o.checkLayers(ctx, vm.layers[:len(vm.what)], vm.what); err != nil {
		return fail(err)
	}
	switch old, err := o.fetchManifest(ctx, tag); {
	case err == nil && old.desc.Digest == vm.desc.Digest:
		return vm.desc, true, nil
	case err == nil:
		// No modelgit release ever pushed another layout: whatever else
		// the tag holds, even a manifest claiming this version, was put
		// there by someone else.
		return fail(fmt.Errorf("%w: versions are immutable, so modelgit does not overwrite it; if it should not be there, delete it (oras manifest delete %s) and run again", o.whatTagHolds(old, mv, manifestYAML, vm), o.Reference(tag)))
	case !errors.Is(err, ErrNotFound):
		return fail(err)
	}
	vd := manifests.FromBytes(manifestYAML)
	if err := o.Put(ctx, vd, int64(len(manifestYAML)), bytes.NewReader(manifestYAML)); err != nil {
		return fail(err)
	}
	if err := o.Put(ctx, manifests.FromBytes(vm.config), int64(len(vm.config)), bytes.NewReader(vm.config)); err != nil {
		return fail(err)
	}
	if err := o.repo.Manifests().PushReference(o.scoped(ctx, true), vm.desc, bytes.NewReader(vm.manifest), tag); err != nil {
		return fail(fmt.Errorf("pushing manifest: %w", o.orasError("PUT", err)))
	}
	return vm.desc, false, nil
}

// CheckVersion checks that the tag of model version mv (whose manifest
// file holds manifestYAML) holds modelgit's manifest of that very version
// and returns its descriptor, the digest a release pins: byte for byte
// the manifest BuildVersionManifest computes from the committed version
// (tree listings are read from o). A missing tag wraps ErrNotFound;
// anything else under it, even a manifest of this version with other
// layer titles, file paths or media types, wraps ErrTagMismatch, saying
// what it is.
func (o *OCI) CheckVersion(ctx context.Context, mv *manifests.ModelVersion, manifestYAML []byte) (ocispec.Descriptor, error) {
	if mv == nil {
		return ocispec.Descriptor{}, fmt.Errorf("checking version: no model version")
	}
	fail := func(err error) (ocispec.Descriptor, error) {
		return ocispec.Descriptor{}, fmt.Errorf("checking %s@%s in %s: %w", mv.Model, mv.Version, o.URL(), err)
	}
	tag, err := TagFor(mv.Model, mv.Version)
	if err != nil {
		return fail(err)
	}
	vm, err := buildVersionManifest(ctx, o, mv, manifestYAML)
	if err != nil {
		return fail(err)
	}
	old, err := o.fetchManifest(ctx, tag)
	if err != nil {
		return fail(err)
	}
	if old.desc.Digest != vm.desc.Digest {
		return ocispec.Descriptor{}, o.whatTagHolds(old, mv, manifestYAML, vm)
	}
	return old.desc, nil
}

// fetchedManifest is a manifest as read from the registry.
type fetchedManifest struct {
	desc     ocispec.Descriptor
	raw      []byte
	manifest ocispec.Manifest
}

// fetchManifest reads and digest-checks the manifest tagged tag; a missing
// tag wraps ErrNotFound.
func (o *OCI) fetchManifest(ctx context.Context, tag string) (*fetchedManifest, error) {
	ctx = o.scoped(ctx, false)
	desc, rc, err := o.repo.FetchReference(ctx, tag)
	if errors.Is(err, errdef.ErrNotFound) {
		return nil, fmt.Errorf("%w: tag %q in %s", ErrNotFound, tag, o.URL())
	}
	if err != nil {
		return nil, fmt.Errorf("fetching manifest %q: %w", tag, o.orasError("GET", err))
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, maxManifestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetching manifest %q: %w", tag, o.transportError(err))
	}
	if len(raw) > maxManifestBytes {
		return nil, fmt.Errorf("fetching manifest %q: larger than %d bytes", tag, maxManifestBytes)
	}
	want, err := manifests.ParseDigest(string(desc.Digest))
	if err != nil {
		return nil, fmt.Errorf("fetching manifest %q: registry digest %q: %w", tag, desc.Digest, err)
	}
	if got := manifests.FromBytes(raw); got != want {
		return nil, fmt.Errorf("fetching manifest %q: %w", tag, &DigestMismatchError{Want: want, Got: got, WantSize: desc.Size, GotSize: int64(len(raw))})
	}
	f := &fetchedManifest{desc: desc, raw: raw}
	if desc.MediaType == ocispec.MediaTypeImageManifest || desc.MediaType == "" {
		json.Unmarshal(raw, &f.manifest)
	}
	return f, nil
}

// ResolveVersion returns the descriptor of the manifest of model@v, or an
// error wrapping ErrNotFound.
func (o *OCI) ResolveVersion(ctx context.Context, model string, v manifests.Version) (ocispec.Descriptor, error) {
	tag, err := TagFor(model, v)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc, err := o.repo.Resolve(o.scoped(ctx, false), tag)
	if errors.Is(err, errdef.ErrNotFound) {
		return ocispec.Descriptor{}, fmt.Errorf("resolving %s@%s: %w: tag %q in %s", model, v, ErrNotFound, tag, o.URL())
	}
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("resolving %s@%s in %s: %w", model, v, o.URL(), o.orasError("HEAD", err))
	}
	return desc, nil
}

// OCIVersion is a model version read back from a registry.
type OCIVersion struct {
	// Descriptor is that of the OCI manifest.
	Descriptor ocispec.Descriptor
	Manifest   ocispec.Manifest
	Model      string
	Version    manifests.Version
	// Digest is the version digest (of YAML).
	Digest manifests.Digest
	// YAML is the version manifest, verified against Digest.
	YAML []byte
}

// FetchVersionManifest reads the OCI manifest of model@v, checks that it
// is a modelgit model version (ParseVersionManifest) for that model and
// version, and returns it with the version YAML, verified.
func (o *OCI) FetchVersionManifest(ctx context.Context, model string, v manifests.Version) (*OCIVersion, error) {
	tag, err := TagFor(model, v)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*OCIVersion, error) {
		return nil, fmt.Errorf("fetching %s@%s from %s: %w", model, v, o.Reference(tag), err)
	}
	f, err := o.fetchManifest(ctx, tag)
	if err != nil {
		return fail(err)
	}
	ov, yamlDesc, err := ParseVersionManifest(f.desc.MediaType, f.raw)
	if err != nil {
		return fail(err)
	}
	if ov.Model != model || ov.Version != v {
		return fail(fmt.Errorf("the manifest is for %s@%s, not %s@%s", ov.Model, ov.Version, model, v))
	}
	ov.Descriptor = f.desc
	rc, err := o.Open(ctx, ov.Digest)
	if err != nil {
		return fail(fmt.Errorf("reading version manifest layer: %w", err))
	}
	defer rc.Close()
	if ov.YAML, err = io.ReadAll(io.LimitReader(rc, yamlDesc.Size+1)); err == nil && int64(len(ov.YAML)) > yamlDesc.Size {
		err = fmt.Errorf("version manifest layer is larger than its descriptor says (%d bytes)", yamlDesc.Size)
	}
	if err != nil {
		return fail(fmt.Errorf("reading version manifest layer: %w", err))
	}
	if _, err := io.Copy(io.Discard, rc); err != nil { // reach EOF: verify
		return fail(fmt.Errorf("reading version manifest layer: %w", err))
	}
	return ov, nil
}

// ParseVersionManifest checks that raw, an OCI manifest of media type
// mediaType (empty: read from raw), is a modelgit model version, and
// returns its model, version, version digest and the descriptor of its
// version YAML layer. Anything else gets an error saying what it is
// instead.
func ParseVersionManifest(mediaType string, raw []byte) (*OCIVersion, ocispec.Descriptor, error) {
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, ocispec.Descriptor{}, fmt.Errorf("not a modelgit model version: not an OCI manifest: %w", err)
	}
	if mediaType == "" {
		mediaType = m.MediaType
	}
	if mediaType != ocispec.MediaTypeImageManifest {
		return nil, ocispec.Descriptor{}, fmt.Errorf("not a modelgit model version: media type %q, want %q", mediaType, ocispec.MediaTypeImageManifest)
	}
	if m.ArtifactType != ArtifactTypeModelManifest {
		at := m.ArtifactType
		if at == "" {
			at = m.Config.MediaType
		}
		return nil, ocispec.Descriptor{}, fmt.Errorf("not a modelgit model version: artifact type %q, want %q (was it pushed by modelgit?)", at, ArtifactTypeModelManifest)
	}
	a := m.Annotations
	var missing []string
	for _, k := range []string{AnnotationModel, AnnotationVersion, AnnotationDigest} {
		if a[k] == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, ocispec.Descriptor{}, fmt.Errorf("not a modelgit model version: a ModelPack model without the annotations %q (was it pushed by modelgit?)", missing)
	}
	ov := &OCIVersion{Manifest: m, Model: a[AnnotationModel]}
	var err error
	if ov.Version, err = manifests.ParseVersion(a[AnnotationVersion]); err != nil {
		return nil, ocispec.Descriptor{}, fmt.Errorf("annotation %s: %w", AnnotationVersion, err)
	}
	if ov.Digest, err = manifests.ParseDigest(a[AnnotationDigest]); err != nil {
		return nil, ocispec.Descriptor{}, fmt.Errorf("annotation %s: %w", AnnotationDigest, err)
	}
	var found []ocispec.Descriptor
	for _, l := range m.Layers {
		if l.MediaType == MediaTypeVersionManifest {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		return nil, ocispec.Descriptor{}, fmt.Errorf("not a modelgit model version: %d layers of media type %q, want 1", len(found), MediaTypeVersionManifest)
	}
	if string(found[0].Digest) != ov.Digest.String() {
		return nil, ocispec.Descriptor{}, fmt.Errorf("the version manifest layer is %s but annotation %s says %s", found[0].Digest, AnnotationDigest, ov.Digest)
	}
	if found[0].Size < 0 || found[0].Size > maxManifestBytes {
		return nil, ocispec.Descriptor{}, fmt.Errorf("the version manifest layer claims %d bytes", found[0].Size)
	}
	return ov, found[0], nil
}

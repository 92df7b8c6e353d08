package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/modelgit/modelgit/manifests"
)

// ErrTagMismatch is wrapped when the tag of a model version holds
// something other than modelgit's manifest of that version: an artifact
// pushed over it by another tool, or another version.
var ErrTagMismatch = errors.New("the tag does not hold this version")

// tagMismatch is an error that says what a tag holds instead; it is
// ErrTagMismatch for errors.Is without repeating its text.
type tagMismatch struct{ msg string }

func (e *tagMismatch) Error() string { return e.msg }

func (e *tagMismatch) Is(target error) bool { return target == ErrTagMismatch }

// whatTagHolds says what old, a manifest read from the tag of mv, is
// instead of vm, the manifest computed from the committed version: not a
// modelgit model version, another version's manifest, or a manifest of
// this version that differs from vm (naming the first difference: a
// layer's title, file path, media type, …). The error wraps
// ErrTagMismatch.
func (o *OCI) whatTagHolds(old *fetchedManifest, mv *manifests.ModelVersion, manifestYAML []byte, vm *versionManifest) error {
	tag, _ := TagFor(mv.Model, mv.Version)
	held := fmt.Sprintf("tag %q in %s holds %s", tag, o.URL(), old.desc.Digest)
	vd := manifests.FromBytes(manifestYAML)
	ov, _, err := ParseVersionManifest(old.desc.MediaType, old.raw)
	if err != nil {
		return &tagMismatch{fmt.Sprintf("%s, which is %v", held, err)}
	}
	if ov.Model != mv.Model || ov.Version != mv.Version || ov.Digest != vd {
		return &tagMismatch{fmt.Sprintf("%s, modelgit's manifest of %s@%s with version digest %s, not this version (%s)", held, ov.Model, ov.Version, ov.Digest, vd)}
	}
	var want ocispec.Manifest
	if err := json.Unmarshal(vm.manifest, &want); err != nil {
		return fmt.Errorf("reading the computed manifest: %w", err)
	}
	return &tagMismatch{fmt.Sprintf("%s, a manifest of %s@%s that is not the one computed from the committed version (%s): %s", held, mv.Model, mv.Version, vm.desc.Digest, manifestDiff(ov.Manifest, want, vm.what))}
}

// manifestDiff names the first difference between got, a manifest read
// from a registry, and want, the one computed from Git, whose artifact
// layers what names.
func manifestDiff(got, want ocispec.Manifest, what []string) string {
	if got.MediaType != want.MediaType {
		return fmt.Sprintf("media type %q, want %q", got.MediaType, want.MediaType)
	}
	if got.ArtifactType != want.ArtifactType {
		return fmt.Sprintf("artifact type %q, want %q", got.ArtifactType, want.ArtifactType)
	}
	if d := descriptorDiff(got.Config, want.Config); d != "" {
		return "config: " + d
	}
	if d := annotationDiff(got.Annotations, want.Annotations); d != "" {
		return d
	}
	if len(got.Layers) != len(want.Layers) {
		return fmt.Sprintf("%d layers, want %d", len(got.Layers), len(want.Layers))
	}
	for i := range want.Layers {
		if d := descriptorDiff(got.Layers[i], want.Layers[i]); d != "" {
			name := VersionManifestTitle
			if i < len(what) {
				name = what[i]
			}
			return fmt.Sprintf("layer %d (%s): %s", i+1, name, d)
		}
	}
	return "its bytes differ"
}

// descriptorDiff names the first difference between descriptors got and
// want: media type, digest, size, annotations, then anything else.
func descriptorDiff(got, want ocispec.Descriptor) string {
	switch {
	case got.MediaType != want.MediaType:
		return fmt.Sprintf("media type %q, want %q", got.MediaType, want.MediaType)
	case got.Digest != want.Digest:
		return fmt.Sprintf("digest %s, want %s", got.Digest, want.Digest)
	case got.Size != want.Size:
		return fmt.Sprintf("size %d, want %d", got.Size, want.Size)
	}
	if d := annotationDiff(got.Annotations, want.Annotations); d != "" {
		return d
	}
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !bytes.Equal(g, w) {
		return fmt.Sprintf("descriptor %s, want %s", g, w)
	}
	return ""
}

// annotationDiff names the first annotation (in key order) that got and
// want do not agree on.
func annotationDiff(got, want map[string]string) string {
	keys := slices.Collect(maps.Keys(want))
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		g, gok := got[k]
		w, wok := want[k]
		switch {
		case !gok:
			return fmt.Sprintf("annotation %s missing, want %q", k, w)
		case !wok:
			return fmt.Sprintf("annotation %s %q, want none", k, g)
		case g != w:
			return fmt.Sprintf("annotation %s %q, want %q", k, g, w)
		}
	}
	return ""
}

package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelgit/modelgit/manifests"
)

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func TestOCIBlobs(t *testing.T) {
	reg := startRegistry(t, false)
	ctx := context.Background()
	o := newTestOCI(t, reg, "models/blobs", OCIOptions{ChunkSize: 1 << 20})
	if got, want := o.URL(), "oci://"+reg.addr+"/models/blobs"; got != want {
		t.Errorf("URL() = %q, want %q", got, want)
	}
	tests := []struct {
		name string
		size int
		// declared is the size given to Put; -2 means the real size.
		declared int64
	}{
		{name: "empty", size: 0, declared: -2},
		{name: "small", size: 1000, declared: -2},
		{name: "one chunk exactly", size: 1 << 20, declared: -2},
		{name: "chunked", size: 5<<20 + 123, declared: -2},
		{name: "chunked size unknown", size: 3<<20 + 7, declared: -1},
		{name: "small size unknown", size: 10, declared: -1},
	}
	// A seekable reader of known size is streamed in one PUT; one that
	// cannot seek goes in chunks.
	readers := []struct {
		name string
		wrap func([]byte) io.Reader
	}{
		{name: "seekable", wrap: func(b []byte) io.Reader { return bytes.NewReader(b) }},
		{name: "stream only", wrap: func(b []byte) io.Reader { return io.MultiReader(bytes.NewReader(b)) }},
	}
	for _, rd := range readers {
		for _, tt := range tests {
			t.Run(rd.name+"/"+tt.name, func(t *testing.T) {
				data := randomBytes(t, tt.size)
				d := manifests.FromBytes(data)
				size := tt.declared
				if size == -2 {
					size = int64(len(data))
				}
				if tt.size > 0 { // the empty blob may exist from another run
					if _, err := o.Stat(ctx, d); !errors.Is(err, ErrNotFound) {
						t.Fatalf("Stat before Put: err = %v, want ErrNotFound", err)
					}
				}
				if err := o.Put(ctx, d, size, rd.wrap(data)); err != nil {
					t.Fatalf("Put: %v", err)
				}
				n, err := o.Stat(ctx, d)
				if err != nil || n != int64(len(data)) {
					t.Fatalf("Stat = %d, %v; want %d", n, err, len(data))
				}
				got, err := readBlob(t, o, d)
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("Open: %d bytes, %v; want the %d bytes put", len(got), err, len(data))
				}
				if err := o.Put(ctx, d, int64(len(data)), failReader{t}); err != nil {
					t.Fatalf("Put again: %v", err)
				}
			})
		}
	}
}

func TestOCIPutMismatch(t *testing.T) {
	reg := startRegistry(t, false)
	ctx := context.Background()
	o := newTestOCI(t, reg, "models/mismatch", OCIOptions{ChunkSize: 1 << 20})
	data := randomBytes(t, 3<<20)
	other := randomBytes(t, 3<<20)
	tests := []struct {
		name string
		d    manifests.Digest
		size int64
		r    []byte
	}{
		{name: "wrong bytes small", d: manifests.FromBytes(data[:100]), size: 100, r: other[:100]},
		{name: "wrong bytes chunked", d: manifests.FromBytes(data), size: int64(len(data)), r: other},
		{name: "too short", d: manifests.FromBytes(data), size: int64(len(data)), r: data[:len(data)-1]},
		{name: "too long", d: manifests.FromBytes(data[:200]), size: 200, r: data[:201]},
		{name: "too long chunked", d: manifests.FromBytes(data[:2<<20]), size: 2 << 20, r: data[:2<<20+1]},
		{name: "wrong size declared", d: manifests.FromBytes(data), size: 5, r: data},
		{name: "unknown size wrong bytes", d: manifests.FromBytes(data), size: -1, r: other},
	}
	for _, seekable := range []bool{true, false} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/seekable=%t", tt.name, seekable), func(t *testing.T) {
				var r io.Reader = bytes.NewReader(tt.r)
				if !seekable {
					r = io.MultiReader(r)
				}
				err := o.Put(ctx, tt.d, tt.size, r)
				var dm *DigestMismatchError
				if !errors.As(err, &dm) {
					t.Fatalf("Put: err = %v, want a *DigestMismatchError", err)
				}
				if _, err := o.Stat(ctx, tt.d); !errors.Is(err, ErrNotFound) {
					t.Fatalf("Stat after a failed Put: %v, want ErrNotFound: nothing may be stored", err)
				}
			})
		}
	}
}

func TestOCIHasherAndRestore(t *testing.T) {
	reg := startRegistry(t, false)
	ctx := context.Background()
	o := newTestOCI(t, reg, "models/tree", OCIOptions{ChunkSize: 1 << 20})
	src := t.TempDir()
	files := map[string][]byte{
		"config.json":              []byte(`{"layers": 2}`),
		"shards/model-00001.bin":   randomBytes(t, 2<<20+5),
		"shards/model-00002.bin":   randomBytes(t, 1<<10),
		"shards/same-as-first.bin": nil,
	}
	files["shards/same-as-first.bin"] = files["shards/model-00002.bin"]
	for p, b := range files {
		full := filepath.Join(src, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var h Hasher
	res, err := h.Add(ctx, o, src)
	if err != nil {
		t.Fatalf("Hasher.Add: %v", err)
	}
	want, err := h.Hash(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest != want.Digest {
		t.Fatalf("digest through the OCI store %s, hashing alone %s: must be the same", res.Digest, want.Digest)
	}
	dest := filepath.Join(t.TempDir(), "out")
	if err := Restore(ctx, o, res.Digest, manifests.MediaTypeTree, dest); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	for p, b := range files {
		got, err := os.ReadFile(filepath.Join(dest, filepath.FromSlash(p)))
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("restored %s: %d bytes, %v; want %d bytes", p, len(got), err, len(b))
		}
	}
}

func TestOCICorruptBlobInRegistry(t *testing.T) {
	reg := startRegistry(t, false)
	ctx := context.Background()
	o := newTestOCI(t, reg, "models/corrupt", OCIOptions{})
	data := randomBytes(t, 100_000)
	d := manifests.FromBytes(data)
	if err := o.Put(ctx, d, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	p := reg.blobData(d.Hex())
	stored, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("the blob is not where distribution stores it: %v", err)
	}
	stored[len(stored)/2] ^= 0xff
	if err := os.WriteFile(p, stored, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = readBlob(t, o, d)
	var dm *DigestMismatchError
	if !errors.As(err, &dm) || dm.Want != d {
		t.Fatalf("Open of an altered blob: err = %v, want a *DigestMismatchError for %s", err, d)
	}
	err = Restore(ctx, o, d, "", filepath.Join(t.TempDir(), "weights.bin"))
	if !errors.As(err, &dm) {
		t.Fatalf("Restore of an altered blob: err = %v, want a *DigestMismatchError", err)
	}
}

func TestOCIErrors(t *testing.T) {
	ctx := context.Background()
	d := manifests.FromBytes([]byte("x"))

	t.Run("unreachable", func(t *testing.T) {
		addr := freeAddr(t)
		o, err := NewOCI("oci://"+addr+"/models/x", OCIOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = o.Stat(ctx, d)
		if !errors.Is(err, ErrRegistryUnreachable) || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "unreachable") {
			t.Fatalf("Stat: err = %v, want ErrRegistryUnreachable naming %s", err, addr)
		}
		err = o.Put(ctx, d, 1, strings.NewReader("x"))
		if !errors.Is(err, ErrRegistryUnreachable) {
			t.Fatalf("Put: err = %v, want ErrRegistryUnreachable", err)
		}
	})

	t.Run("403 denied", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`)
		}))
		defer srv.Close()
		o, err := NewOCI("oci://"+strings.TrimPrefix(srv.URL, "http://")+"/models/x", OCIOptions{Username: "u", Password: "tok-123456"})
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range []func() error{
			func() error { _, err := o.Stat(ctx, d); return err },
			func() error { _, err := o.Open(ctx, d); return err },
			func() error { return o.Put(ctx, d, 1, strings.NewReader("x")) },
		} {
			err := op()
			if !errors.Is(err, ErrDenied) || !strings.Contains(err.Error(), "lack permission") {
				t.Errorf("err = %v, want ErrDenied saying the credentials lack permission", err)
			}
			if err != nil && strings.Contains(err.Error(), "tok-123456") {
				t.Errorf("the password leaked into %q", err)
			}
		}
	})

	t.Run("repository name the registry rejects", func(t *testing.T) {
		reg := startRegistry(t, false)
		o := newTestOCI(t, reg, "models/"+strings.Repeat("a", 300), OCIOptions{})
		err := o.Put(ctx, d, 1, strings.NewReader("x"))
		if !errors.Is(err, ErrRepositoryName) {
			t.Fatalf("Put: err = %v, want ErrRepositoryName", err)
		}
	})
}

func TestParseOCIRef(t *testing.T) {
	tests := []struct {
		ref, wantReg, wantRepo, wantErr string
	}{
		{ref: "oci://ghcr.io/acme/models", wantReg: "ghcr.io", wantRepo: "acme/models"},
		{ref: "localhost:5000/m", wantReg: "localhost:5000", wantRepo: "m"},
		{ref: "oci://[::1]:5000/m", wantReg: "[::1]:5000", wantRepo: "m"},
		{ref: "oci://ghcr.io/acme/models:v1", wantErr: `names a repository, not a tag or digest: drop ":v1"`},
		{ref: "oci://ghcr.io/acme/models@sha256:00", wantErr: `not a tag or digest`},
		{ref: "oci://u:hunter2@ghcr.io/acme", wantErr: "credentials in the store URL are not supported"},
		{ref: "oci://ghcr.io/ACME", wantErr: `invalid repository name "ACME"`},
		{ref: "oci://ghcr.io/", wantErr: "want oci://HOST[:PORT]/REPOSITORY"},
		{ref: "oci://bad host/x", wantErr: `invalid registry host "bad host"`},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			r, err := parseOCIRef(tt.ref)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("the password leaked into %q", err)
				}
				return
			}
			if err != nil || r.Registry != tt.wantReg || r.Repository != tt.wantRepo {
				t.Fatalf("= %q %q, %v; want %q %q", r.Registry, r.Repository, err, tt.wantReg, tt.wantRepo)
			}
		})
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost:5000": true, "127.0.0.1:1": true, "127.3.4.5": true, "[::1]:5000": true,
		"ghcr.io": false, "10.0.0.1:5000": false, "localhost.evil.com": false,
	} {
		if got := isLoopback(host); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"0-0", "0-1023", "bytes=0-5", "1-2", "0-", "-", "0--1", "0-99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		end, ok := parseRange(s)
		if ok && end < 0 {
			t.Fatalf("parseRange(%q) = %d, true", s, end)
		}
	})
}

// testVersion stores a weights directory, a pipeline file and a schema file
// in st and returns their model version and its YAML.
func testVersion(t *testing.T, st Store, version string) (*manifests.ModelVersion, []byte, map[string][]byte) {
	t.Helper()
	ctx := context.Background()
	src := t.TempDir()
	files := map[string][]byte{
		"weights/model-00001.safetensors": randomBytes(t, 3<<20+11),
		"weights/sub/model-00002.bin":     randomBytes(t, 4096),
		"weights/config.json":             []byte(`{"hidden": 8}`),
		"pipeline.pkl":                    randomBytes(t, 777),
		"schema.json":                     []byte(`{"age": "int"}`),
	}
	for p, b := range files {
		full := filepath.Join(src, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var h Hasher
	art := func(name, mediaType string) *manifests.Artifact {
		res, err := h.Add(ctx, st, filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if res.IsDir {
			mediaType = manifests.MediaTypeTree
		}
		return &manifests.Artifact{Path: name, Digest: res.Digest, Size: res.Size, MediaType: mediaType}
	}
	mv := &manifests.ModelVersion{
		APIVersion: manifests.APIVersion, Kind: manifests.KindModelVersion,
		Model: "fraud", Version: manifests.MustParseVersion(version),
		Artifacts: manifests.Artifacts{
			Weights:  art("weights", MediaTypeModelWeight),
			Pipeline: art("pipeline.pkl", MediaTypeModelCode),
			Schema:   art("schema.json", "application/vnd.modelgit.feature-schema.v1+json"),
		},
		RegisteredBy: "Ada <ada@example.com>",
		RegisteredAt: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC),
	}
	raw, err := manifests.Marshal(mv)
	if err != nil {
		t.Fatal(err)
	}
	return mv, raw, files
}

func TestOCIPushVersionAndOrasPull(t *testing.T) {
	reg := startRegistry(t, false)
	ctx := context.Background()
	o := newTestOCI(t, reg, "models/versions", OCIOptions{ChunkSize: 1 << 20})
	mv, raw, files := testVersion(t, o, "1.4.0+data.7")

	desc, err := o.PushVersion(ctx, mv, raw)
	if err != nil {
		t.Fatalf("PushVersion: %v", err)
	}
	again, err := o.PushVersion(ctx, mv, raw)
	if err != nil || again.Digest != desc.Digest {
		t.Fatalf("PushVersion again = %s, %v; want the same manifest %s", again.Digest, err, desc.Digest)
	}
	tag, _ := TagFor("fraud", mv.Version)
	if tag != "fraud-1.4.0_data.7" {
		t.Fatalf("TagFor = %q", tag)
	}
	got, err := o.ResolveVersion(ctx, "fraud", mv.Version)
	if err != nil || got.Digest != desc.Digest {
		t.Fatalf("ResolveVersion = %s, %v; want %s", got.Digest, err, desc.Digest)
	}
	ov, err := o.FetchVersionManifest(ctx, "fraud", mv.Version)
	if err != nil {
		t.Fatalf("FetchVersionManifest: %v", err)
	}
	if !bytes.Equal(ov.YAML, raw) || ov.Digest != manifests.FromBytes(raw) || ov.Manifest.ArtifactType != ArtifactTypeModelManifest {
		t.Fatalf("FetchVersionManifest returned other bytes or digest: %s", ov.Digest)
	}
	if _, err := o.ResolveVersion(ctx, "fraud", manifests.MustParseVersion("9.9.9")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ResolveVersion of a missing version: %v, want ErrNotFound", err)
	}

	// oras pull gets every file byte for byte, and the version YAML.
	out := t.TempDir()
	runOras(t, out, "pull", "--plain-http", o.Reference(tag), "-o", out)
	files[VersionManifestTitle] = raw
	for p, b := range files {
		got, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(p)))
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("oras pull: %s: %d bytes, %v; want the %d bytes registered", p, len(got), err, len(b))
		}
	}

	// Versions are immutable: another YAML under the same tag is refused.
	mv2 := *mv
	mv2.Reason = "changed"
	raw2, _ := manifests.Marshal(&mv2)
	if _, err := o.PushVersion(ctx, &mv2, raw2); err == nil || !strings.Contains(err.Error(), "versions are immutable") {
		t.Fatalf("PushVersion over another version: %v, want an immutability error", err)
	}

	// A version whose blobs are not in the registry is refused, naming them.
	other := newTestOCI(t, reg, "models/empty", OCIOptions{})
	mv3 := *mv
	mv3.Artifacts.Weights = &manifests.Artifact{Path: "w.bin", Digest: manifests.FromBytes([]byte("nope")), Size: 4, MediaType: MediaTypeModelWeight}
	mv3.Artifacts.Pipeline, mv3.Artifacts.Schema = nil, nil
	raw3, _ := manifests.Marshal(&mv3)
	_, err = other.PushVersion(ctx, &mv3, raw3)
	if err == nil || !strings.Contains(err.Error(), `weights "w.bin": blob `+mv3.Artifacts.Weights.Digest.String()+" is not in") {
		t.Fatalf("PushVersion with a missing blob: %v", err)
	}
	if _, err := other.ResolveVersion(ctx, "fraud", mv.Version); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a refused push left a tag: %v", err)
	}

	// CopyBlobs moves a version's blobs between stores; then it can be pushed.
	blobs, err := VersionBlobs(ctx, o, mv)
	if err != nil {
		t.Fatal(err)
	}
	if len(blobs) != 6 { // 3 tree files, listing, pipeline, schema
		t.Fatalf("VersionBlobs = %d blobs, want 6: %v", len(blobs), blobs)
	}
	mem := NewMemory()
	if st, err := CopyBlobs(ctx, mem, o, blobs, 0, nil); err != nil || st.Copied != 6 || st.Skipped != 0 {
		t.Fatalf("CopyBlobs to memory = %+v, %v; want 6 copied", st, err)
	}
	if st, err := CopyBlobs(ctx, other, mem, blobs, 2, nil); err != nil || st.Copied != 6 {
		t.Fatalf("CopyBlobs to OCI = %+v, %v; want 6 copied", st, err)
	}
	if st, err := CopyBlobs(ctx, other, mem, blobs, 2, nil); err != nil || st.Copied != 0 || st.Skipped != 6 || st.CopiedBytes != 0 {
		t.Fatalf("CopyBlobs again = %+v, %v; want 0 copied, 6 skipped", st, err)
	}
	if d2, err := other.PushVersion(ctx, mv, raw); err != nil || d2.Digest != desc.Digest {
		t.Fatalf("PushVersion after CopyBlobs = %s, %v; want %s", d2.Digest, err, desc.Digest)
	}
}

func TestOCIOrasPushInterop(t *testing.T) {
	reg := startRegistry(t, false)
	ctx := context.Background()
	o := newTestOCI(t, reg, "models/interop", OCIOptions{})
	dir := t.TempDir()
	data := randomBytes(t, 2<<20+3)
	if err := os.WriteFile(filepath.Join(dir, "model.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	runOras(t, dir, "push", "--plain-http", o.Reference("other-1.0.0"), "model.bin:application/octet-stream")
	d := manifests.FromBytes(data)
	if n, err := o.Stat(ctx, d); err != nil || n != int64(len(data)) {
		t.Fatalf("Stat of what oras pushed = %d, %v", n, err)
	}
	got, err := readBlob(t, o, d)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Open of what oras pushed: %d bytes, %v", len(got), err)
	}
	// A manifest oras made is not a modelgit version.
	_, err = o.FetchVersionManifest(ctx, "other", manifests.MustParseVersion("1.0.0"))
	if err == nil || !strings.Contains(err.Error(), "not a modelgit model version") {
		t.Fatalf("FetchVersionManifest of an oras artifact: %v, want 'not a modelgit model version'", err)
	}
}

func TestParseVersionManifest(t *testing.T) {
	const yamlDigest = "sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
	good := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"` + ArtifactTypeModelManifest + `",
"config":{"mediaType":"` + MediaTypeModelConfig + `","digest":"` + yamlDigest + `","size":1},
"layers":[{"mediaType":"` + MediaTypeVersionManifest + `","digest":"` + yamlDigest + `","size":1}],
"annotations":{"dev.modelgit.model":"fraud","dev.modelgit.version":"1.0.0","dev.modelgit.digest":"` + yamlDigest + `"}}`
	tests := []struct {
		name, raw, wantErr string
	}{
		{name: "good", raw: good},
		{name: "not json", raw: "{", wantErr: "not an OCI manifest"},
		{name: "index", raw: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json"}`, wantErr: `media type "application/vnd.oci.image.index.v1+json"`},
		{name: "container image", raw: `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json"}}`, wantErr: `artifact type "application/vnd.oci.image.config.v1+json"`},
		{name: "modelpack without modelgit", raw: strings.Replace(good, `"dev.modelgit.model":"fraud",`, "", 1), wantErr: `without the annotations ["dev.modelgit.model"]`},
		{name: "bad version", raw: strings.Replace(good, `"1.0.0"`, `"one"`, 1), wantErr: "annotation dev.modelgit.version"},
		{name: "no yaml layer", raw: strings.Replace(good, MediaTypeVersionManifest, "x/y", 1), wantErr: "0 layers of media type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ov, _, err := ParseVersionManifest("", []byte(tt.raw))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || ov.Model != "fraud" || ov.Version.String() != "1.0.0" {
				t.Fatalf("= %+v, %v", ov, err)
			}
		})
	}
}

func FuzzParseVersionManifest(f *testing.F) {
	f.Add(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"` + ArtifactTypeModelManifest + `","annotations":{"dev.modelgit.model":"m","dev.modelgit.version":"1.0.0","dev.modelgit.digest":"sha256:00"}}`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, raw string) {
		ov, layer, err := ParseVersionManifest("", []byte(raw))
		if err == nil && (ov == nil || string(layer.Digest) != ov.Digest.String()) {
			t.Fatalf("accepted %q without a matching version layer", raw)
		}
	})
}

func TestOCIAuth(t *testing.T) {
	reg := startRegistry(t, true)
	ctx := context.Background()
	data := []byte("weights behind basic auth")
	d := manifests.FromBytes(data)
	t.Setenv("DOCKER_CONFIG", t.TempDir()) // no stray credentials

	t.Run("no credentials", func(t *testing.T) {
		o := newTestOCI(t, reg, "models/auth", OCIOptions{})
		_, err := o.Stat(ctx, d)
		if !errors.Is(err, ErrAuthRequired) || !strings.Contains(err.Error(), "none were found") || !strings.Contains(err.Error(), "oras login "+reg.addr) {
			t.Fatalf("Stat: %v, want ErrAuthRequired saying no credentials were found", err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		o := newTestOCI(t, reg, "models/auth", OCIOptions{Username: testRegistryUser, Password: "wrong-guess-42"})
		for _, err := range []error{
			func() error { _, err := o.Stat(ctx, d); return err }(),
			o.Put(ctx, d, int64(len(data)), bytes.NewReader(data)),
		} {
			if !errors.Is(err, ErrAuthRequired) || !strings.Contains(err.Error(), "authentication failed") || !strings.Contains(err.Error(), "401") {
				t.Errorf("err = %v, want an authentication failure (401)", err)
			}
			if err != nil && strings.Contains(err.Error(), "wrong-guess-42") {
				t.Errorf("the password leaked into %q", err)
			}
		}
	})
	t.Run("environment", func(t *testing.T) {
		t.Setenv(EnvRegistryUsername, testRegistryUser)
		t.Setenv(EnvRegistryPassword, testRegistryPassword)
		// Without MODELGIT_REGISTRY_HOST the environment's credentials
		// go to no registry, this one included.
		t.Setenv(EnvRegistryHost, "")
		st, err := Open("oci://"+reg.addr+"/models/auth", "")
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Put(ctx, d, int64(len(data)), bytes.NewReader(data)); !errors.Is(err, ErrAuthRequired) || !strings.Contains(err.Error(), EnvRegistryHost+"="+reg.addr) {
			t.Fatalf("Put without %s: %v, want ErrAuthRequired saying to set it", EnvRegistryHost, err)
		}
		t.Setenv(EnvRegistryHost, reg.addr)
		st, err = Open("oci://"+reg.addr+"/models/auth", "")
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Put(ctx, d, int64(len(data)), bytes.NewReader(data)); err != nil {
			t.Fatalf("Put: %v", err)
		}
		if got, err := readBlob(t, st, d); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("Open: %q, %v", got, err)
		}
	})
	t.Run("oras login registry config", func(t *testing.T) {
		cfg := filepath.Join(t.TempDir(), "config.json")
		runOras(t, t.TempDir(), "login", "--plain-http", "--registry-config", cfg, "-u", testRegistryUser, "-p", testRegistryPassword, reg.addr)
		o := newTestOCI(t, reg, "models/auth", OCIOptions{RegistryConfig: cfg, ChunkSize: 1 << 20})
		big := randomBytes(t, 3<<20)
		if err := o.Put(ctx, manifests.FromBytes(big), int64(len(big)), bytes.NewReader(big)); err != nil {
			t.Fatalf("chunked Put with oras login credentials: %v", err)
		}
		if n, err := o.Stat(ctx, d); err != nil || n != int64(len(data)) {
			t.Fatalf("Stat = %d, %v", n, err)
		}
	})
}

// TestOCIRegistryKilledMidUpload kills the registry (SIGKILL) in the middle
// of a 64 MiB chunked upload and restarts it on the same storage and port:
// Put resumes (or restarts the session) and completes, and what it stored
// verifies.
func TestOCIRegistryKilledMidUpload(t *testing.T) {
	for _, mode := range []string{"streamed", "chunked"} {
		t.Run(mode, func(t *testing.T) { testKilledMidUpload(t, mode == "chunked") })
	}
}

// testKilledMidUpload is TestOCIRegistryKilledMidUpload for a streamed PUT
// (then resumed in chunks) or, with chunked, a chunked upload throughout.
func testKilledMidUpload(t *testing.T, chunked bool) {
	reg := startRegistry(t, false)
	ctx := context.Background()
	data := randomBytes(t, 64<<20)
	d := manifests.FromBytes(data)
	path := filepath.Join(t.TempDir(), "weights.bin")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	restarted := make(chan struct{})
	prog := &addProgress{fn: func(total int64) {
		if total >= 20<<20 {
			once.Do(func() {
				reg.kill()
				go func() { reg.start(); close(restarted) }()
			})
		}
	}}
	o := newTestOCI(t, reg, "models/fault", OCIOptions{ChunkSize: 4 << 20, Progress: prog, Retries: 10})
	o.noStream = chunked
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// As the Hasher calls it: a reader that hides Seek.
	if err := o.Put(ctx, d, int64(len(data)), onlyReader{f}); err != nil {
		t.Fatalf("Put across a registry crash: %v\nregistry log:\n%s", err, reg.Log())
	}
	<-restarted
	if n, err := o.Stat(ctx, d); err != nil || n != int64(len(data)) {
		t.Fatalf("Stat = %d, %v", n, err)
	}
	if got, err := readBlob(t, o, d); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Open after the crash: %d bytes, %v", len(got), err)
	}
	sent := o.sent.Load()
	t.Logf("sent %d MiB for a 64 MiB blob", sent>>20)
	if chunked {
		// The registry was killed between two acknowledged chunks: Put
		// resumes from what it holds, resending at most the chunk that
		// was refused. An upload that starts over sends 20 MiB more.
		if limit := int64(64<<20) + o.opts.ChunkSize; sent > limit {
			t.Fatalf("sent %d bytes for a %d-byte blob, more than a resume allows (%d): the upload restarted instead of resuming", sent, len(data), limit)
		}
	} else if limit := int64(2*64<<20) + o.opts.ChunkSize; sent > limit {
		// A streamed PUT cut mid-body loses distribution's session: Put
		// starts over once (docs/oci.md), never more.
		t.Fatalf("sent %d bytes for a %d-byte blob, more than one restart (%d)", sent, len(data), limit)
	}
}

// TestOCIRerunAfterCrash: the registry dies and stays down, Put fails; after
// a restart the re-run completes, nothing corrupt was referenced, and blobs
// already stored are not uploaded again.
func TestOCIRerunAfterCrash(t *testing.T) {
	reg := startRegistry(t, false)
	ctx := context.Background()
	done := randomBytes(t, 1<<20)
	if err := newTestOCI(t, reg, "models/rerun", OCIOptions{}).Put(ctx, manifests.FromBytes(done), int64(len(done)), bytes.NewReader(done)); err != nil {
		t.Fatal(err)
	}
	data := randomBytes(t, 64<<20)
	d := manifests.FromBytes(data)
	var once sync.Once
	prog := &addProgress{fn: func(total int64) {
		if total >= 16<<20 {
			once.Do(reg.kill)
		}
	}}
	o := newTestOCI(t, reg, "models/rerun", OCIOptions{ChunkSize: 4 << 20, Progress: prog, Retries: 2})
	err := o.Put(ctx, d, int64(len(data)), bytes.NewReader(data))
	if !errors.Is(err, ErrRegistryUnreachable) {
		t.Fatalf("Put with the registry down: %v, want ErrRegistryUnreachable", err)
	}
	reg.start()
	if _, err := o.Stat(ctx, d); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after a failed upload Stat = %v, want ErrNotFound: nothing partial may be referenced", err)
	}
	o2 := newTestOCI(t, reg, "models/rerun", OCIOptions{ChunkSize: 4 << 20})
	if err := o2.Put(ctx, manifests.FromBytes(done), int64(len(done)), failReader{t}); err != nil {
		t.Fatal(err)
	}
	if err := o2.Put(ctx, d, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if got, err := readBlob(t, o2, d); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Open after the re-run: %d bytes, %v", len(got), err)
	}
}

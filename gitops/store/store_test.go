package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelgit/modelgit/manifests"
)

func TestOpenURL(t *testing.T) {
	root := t.TempDir()
	tests := []struct {
		url     string
		wantURL string
		wantErr string
	}{
		{url: "", wantURL: "file://" + filepath.ToSlash(filepath.Join(root, ".modelgit/store"))},
		{url: "file://blobs", wantURL: "file://" + filepath.ToSlash(filepath.Join(root, "blobs"))},
		{url: "file:///srv/models", wantURL: "file:///srv/models"},
		{url: "mem://", wantURL: "mem://"},
		{url: "file://", wantErr: `missing directory`},
		{url: "oci://ghcr.io/acme/models", wantURL: "oci://ghcr.io/acme/models"},
		{url: "oci://user:secret@ghcr.io/acme/models", wantErr: `credentials in the store URL are not supported`},
		{url: "oci://ghcr.io/Acme/models", wantErr: `invalid repository name "Acme/models"`},
		{url: "oci://ghcr.io", wantErr: `want oci://HOST[:PORT]/REPOSITORY`},
		{url: "s3://bucket", wantErr: `unknown scheme "s3", want file://DIR, oci://REGISTRY/REPO or mem://`},
		{url: "https://user:secret@example.com/x?token=abc", wantErr: `unknown scheme "https"`},
		{url: "/srv/models", wantErr: `not a URL`},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			st, err := Open(tt.url, root)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Open(%q) error = %v, want it to contain %q", tt.url, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "abc") {
					t.Errorf("error leaks credentials: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := st.URL(); got != tt.wantURL {
				t.Errorf("URL() = %q, want %q", got, tt.wantURL)
			}
		})
	}
}

// stores returns one fresh store of each kind.
func stores(t *testing.T) map[string]Store {
	return map[string]Store{"file": NewFile(t.TempDir()), "memory": NewMemory()}
}

// failReader fails the test if it is read.
type failReader struct{ t *testing.T }

func (r failReader) Read([]byte) (int, error) {
	r.t.Error("reader was read, want dedup to skip it")
	return 0, io.EOF
}

func readBlob(t *testing.T, st Store, d manifests.Digest) ([]byte, error) {
	t.Helper()
	rc, err := st.Open(context.Background(), d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func TestStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	data := []byte("hello, model\n")
	d := manifests.FromBytes(data)
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			if _, err := st.Stat(ctx, d); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Stat before Put: err = %v, want ErrNotFound", err)
			}
			if _, err := st.Open(ctx, d); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), d.String()) {
				t.Fatalf("Open before Put: err = %v, want ErrNotFound naming the digest", err)
			}
			if err := st.Put(ctx, d, int64(len(data)), bytes.NewReader(data)); err != nil {
				t.Fatal(err)
			}
			if size, err := st.Stat(ctx, d); err != nil || size != int64(len(data)) {
				t.Fatalf("Stat = %d, %v; want %d", size, err, len(data))
			}
			got, err := readBlob(t, st, d)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("Open read %q, %v; want %q", got, err, data)
			}
			// Dedup: an existing blob is not read again.
			if err := st.Put(ctx, d, int64(len(data)), failReader{t}); err != nil {
				t.Fatal(err)
			}
			// Ingest of the same bytes returns the same digest.
			in := st.(Ingester)
			gd, n, err := in.Ingest(ctx, bytes.NewReader(data))
			if err != nil || gd != d || n != int64(len(data)) {
				t.Fatalf("Ingest = %s, %d, %v; want %s, %d", gd, n, err, d, len(data))
			}
		})
	}
}

func TestPutMismatch(t *testing.T) {
	ctx := context.Background()
	data := []byte("actual bytes")
	other := manifests.FromBytes([]byte("declared bytes"))
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			err := st.Put(ctx, other, int64(len(data)), bytes.NewReader(data))
			var mm *DigestMismatchError
			if !errors.As(err, &mm) || mm.Want != other || mm.Got != manifests.FromBytes(data) {
				t.Fatalf("Put wrong digest: err = %v, want DigestMismatchError", err)
			}
			// Right digest, wrong size.
			d := manifests.FromBytes(data)
			if err := st.Put(ctx, d, 3, bytes.NewReader(data)); !errors.As(err, &mm) || mm.WantSize != 3 {
				t.Fatalf("Put wrong size: err = %v, want DigestMismatchError", err)
			}
			if _, err := st.Stat(ctx, other); !errors.Is(err, ErrNotFound) {
				t.Errorf("a mismatched blob was stored: Stat err = %v", err)
			}
			if _, err := st.Stat(ctx, d); !errors.Is(err, ErrNotFound) {
				t.Errorf("a blob of the wrong size was stored: Stat err = %v", err)
			}
		})
	}
}

// blobFiles lists every file under the store's blob directory.
func blobFiles(t *testing.T, st *File) []string {
	t.Helper()
	entries, err := os.ReadDir(st.blobDir())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestFileBlobLayoutAndMode(t *testing.T) {
	ctx := context.Background()
	st := NewFile(t.TempDir())
	data := []byte("weights")
	d, _, err := st.Ingest(ctx, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(st.Dir(), "blobs", "sha256", d.Hex())
	fi, err := os.Stat(want)
	if err != nil {
		t.Fatalf("blob not at %s: %v", want, err)
	}
	if fi.Mode().Perm() != 0o444 {
		t.Errorf("blob mode = %v, want 0444", fi.Mode().Perm())
	}
	// Dedup: ingesting again leaves the blob untouched and no temp file.
	before := fi.ModTime()
	time.Sleep(10 * time.Millisecond)
	if _, _, err := st.Ingest(ctx, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if fi2, _ := os.Stat(want); !fi2.ModTime().Equal(before) {
		t.Errorf("dedup rewrote the blob")
	}
	if got := blobFiles(t, st); len(got) != 1 || got[0] != d.Hex() {
		t.Errorf("blob dir = %v, want only %s", got, d.Hex())
	}
}

func TestFileCorruptBlobCaughtOnOpen(t *testing.T) {
	ctx := context.Background()
	st := NewFile(t.TempDir())
	data := bytes.Repeat([]byte("0123456789"), 100_000)
	d := manifests.FromBytes(data)
	if err := st.Put(ctx, d, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		corrupt []byte
	}{
		{"flipped byte", append([]byte("X"), data[1:]...)},
		{"truncated", data[:len(data)/2]},
		{"appended", append(append([]byte{}, data...), '!')},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := st.Path(d)
			if err := os.Chmod(p, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, tc.corrupt, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := readBlob(t, st, d)
			var mm *DigestMismatchError
			if !errors.As(err, &mm) {
				t.Fatalf("reading a corrupt blob: err = %v, want *DigestMismatchError", err)
			}
			if mm.Want != d || mm.Got != manifests.FromBytes(tc.corrupt) || mm.GotSize != int64(len(tc.corrupt)) {
				t.Errorf("mismatch = %+v", mm)
			}
			if !strings.Contains(err.Error(), "digest mismatch: want "+d.String()) {
				t.Errorf("message = %q", err)
			}
		})
	}
}

func TestFileConcurrentPutSameBlob(t *testing.T) {
	ctx := context.Background()
	st := NewFile(t.TempDir())
	data := bytes.Repeat([]byte("concurrent "), 300_000) // > one ingest buffer
	d := manifests.FromBytes(data)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 8 {
		wg.Go(func() { errs <- st.Put(ctx, d, int64(len(data)), bytes.NewReader(data)) })
		wg.Go(func() {
			_, _, err := st.Ingest(ctx, bytes.NewReader(data))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	got, err := readBlob(t, st, d)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("reading blob after concurrent puts: %v", err)
	}
	if files := blobFiles(t, st); len(files) != 1 {
		t.Errorf("blob dir = %v, want exactly the blob (no temp files)", files)
	}
}

// halfReader returns n bytes then fails, like a network stream cut halfway.
type halfReader struct {
	r io.Reader
	n int
}

var errCut = errors.New("connection reset")

func (h *halfReader) Read(p []byte) (int, error) {
	if h.n <= 0 {
		return 0, errCut
	}
	p = p[:min(len(p), h.n)]
	n, err := h.r.Read(p)
	h.n -= n
	return n, err
}

func TestFileInterruptedWriteLeavesNoBlob(t *testing.T) {
	ctx := context.Background()
	data := bytes.Repeat([]byte("abcdefgh"), 2_000_000) // 16 MB, several buffers
	d := manifests.FromBytes(data)
	st := NewFile(t.TempDir())
	err := st.Put(ctx, d, int64(len(data)), &halfReader{bytes.NewReader(data), len(data) / 2})
	if !errors.Is(err, errCut) {
		t.Fatalf("Put from a failing reader: err = %v, want it to wrap %v", err, errCut)
	}
	if _, _, err := st.Ingest(ctx, &halfReader{bytes.NewReader(data), len(data) / 2}); !errors.Is(err, errCut) {
		t.Fatalf("Ingest from a failing reader: err = %v", err)
	}
	if files := blobFiles(t, st); len(files) != 0 {
		t.Errorf("blob dir after failed writes = %v, want empty", files)
	}
	// A cancelled context also stops the write cleanly.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := st.Put(cctx, d, int64(len(data)), bytes.NewReader(data)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with cancelled context: err = %v", err)
	}
	if files := blobFiles(t, st); len(files) != 0 {
		t.Errorf("blob dir after cancelled write = %v, want empty", files)
	}
}

func TestFileRemovesStaleTemps(t *testing.T) {
	st := NewFile(t.TempDir())
	if err := os.MkdirAll(st.blobDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(st.blobDir(), tempPrefix+"crashed")
	fresh := filepath.Join(st.blobDir(), tempPrefix+"writing")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Ingest(context.Background(), strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale temp file still there: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh temp file removed: %v", err)
	}
	// Temp files are never mistaken for blobs.
	if _, err := st.Stat(context.Background(), manifests.FromBytes([]byte("partial"))); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stat found a temp file: %v", err)
	}
}

func TestFileIngestSizes(t *testing.T) {
	ctx := context.Background()
	st := NewFile(t.TempDir())
	for _, size := range []int{0, 1, 4095, 4096, 4097, ingestBufSize, ingestBufSize + 1, 3*ingestBufSize - 4096, 9<<20 + 123} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(i*7 + size)
		}
		d, n, err := st.Ingest(ctx, bytes.NewReader(data))
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if d != manifests.FromBytes(data) || n != int64(size) {
			t.Fatalf("size %d: Ingest = %s, %d", size, d, n)
		}
		got, err := os.ReadFile(st.Path(d))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("size %d: stored bytes differ (%d bytes read, %v)", size, len(got), err)
		}
	}
}

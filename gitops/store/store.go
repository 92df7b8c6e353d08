package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/modelgit/modelgit/manifests"
)

// ErrNotFound is wrapped, with the digest, by every error about a blob that
// is not in a store. Test for it with errors.Is.
var ErrNotFound = errors.New("blob not found")

// DigestMismatchError reports bytes that do not match the digest and size
// they were stored or requested under. A size of -1 means unknown.
type DigestMismatchError struct {
	Want, Got         manifests.Digest
	WantSize, GotSize int64
}

// Error explains the mismatch.
func (e *DigestMismatchError) Error() string {
	msg := fmt.Sprintf("digest mismatch: want %s", e.Want)
	if e.WantSize >= 0 {
		msg += fmt.Sprintf(" (%d bytes)", e.WantSize)
	}
	msg += fmt.Sprintf(", got %s (%d bytes)", e.Got, e.GotSize)
	return msg + ": the content is corrupt, truncated or not what was declared"
}

// Store is a content-addressed blob store. Implementations are safe for
// concurrent use.
type Store interface {
	// URL names the store, e.g. "file:///srv/models" or "mem://".
	URL() string
	// Stat returns the size of the blob d, or an error wrapping
	// ErrNotFound when it is absent.
	Stat(ctx context.Context, d manifests.Digest) (size int64, err error)
	// Open returns the blob d. The reader verifies digest and size: at the
	// end of the blob Read returns a *DigestMismatchError instead of io.EOF
	// when the bytes are not those of d.
	Open(ctx context.Context, d manifests.Digest) (io.ReadCloser, error)
	// Put stores the bytes of r under d, verifying them while writing
	// (size -1 means unknown). When d is already stored Put writes nothing
	// and does not read r.
	Put(ctx context.Context, d manifests.Digest, size int64, r io.Reader) error
}

// Ingester is the optional fast path of a Store: it hashes and stores r in
// one read, and returns the digest and size of what it stored.
type Ingester interface {
	Ingest(ctx context.Context, r io.Reader) (manifests.Digest, int64, error)
}

// DefaultURL is the store used when modelgit.yaml names none: a file store
// inside the repository, relative to its root.
const DefaultURL = "file://.modelgit/store"

// Open returns the store named by rawURL. A relative file:// directory is
// taken relative to root; an empty rawURL means DefaultURL.
func Open(rawURL, root string) (Store, error) {
	return OpenWithOptions(rawURL, root, OCIOptionsFromEnv())
}

// OpenWithOptions is Open with explicit options for an oci:// store
// (credentials file, plain HTTP).
func OpenWithOptions(rawURL, root string, oci OCIOptions) (Store, error) {
	if rawURL == "" {
		rawURL = DefaultURL
	}
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return nil, fmt.Errorf("opening store %q: not a URL, want file://DIR, oci://REGISTRY/REPO or mem://", sanitize(rawURL))
	}
	switch scheme {
	case "file":
		if rest == "" {
			return nil, fmt.Errorf("opening store %q: missing directory, want file://DIR", rawURL)
		}
		dir := filepath.FromSlash(rest)
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(root, dir)
		}
		return NewFile(dir), nil
	case "mem":
		return NewMemory(), nil
	case "oci":
		return NewOCI(rest, oci)
	default:
		return nil, fmt.Errorf("opening store %q: unknown scheme %q, want file://DIR, oci://REGISTRY/REPO or mem://", sanitize(rawURL), scheme)
	}
}

// sanitize strips credentials, query and fragment from a URL before it
// reaches a message.
func sanitize(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		if i := strings.IndexAny(rawURL, "?#@"); i >= 0 {
			return rawURL[:i] + "…"
		}
		return rawURL
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	u.RawQuery, u.Fragment = "", ""
	return u.String()
}

// verifyReader passes r through, hashing it, and at EOF returns a
// *DigestMismatchError instead of io.EOF unless the bytes match want (and
// size, when size >= 0).
type verifyReader struct {
	r    io.Reader
	dg   *manifests.Digester
	want manifests.Digest
	size int64
	err  error // sticky result once EOF was seen
}

func newVerifyReader(r io.Reader, want manifests.Digest, size int64) *verifyReader {
	return &verifyReader{r: r, dg: manifests.NewDigester(), want: want, size: size}
}

func (v *verifyReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.r.Read(p)
	v.dg.Write(p[:n])
	if err == io.EOF {
		got := v.dg.Digest()
		if got != v.want || (v.size >= 0 && v.dg.Size() != v.size) {
			err = &DigestMismatchError{Want: v.want, Got: got, WantSize: v.size, GotSize: v.dg.Size()}
		}
		v.err = err
	}
	return n, err
}

// Seek lets an uploader that sends the blob as one streamed request learn
// its position and rewind it to retry: Seek(0, io.SeekCurrent), and
// Seek(0, io.SeekStart), which starts the verification over. It fails
// when r cannot seek, and for any other offset (a verification cannot
// start in the middle).
func (v *verifyReader) Seek(offset int64, whence int) (int64, error) {
	s, ok := v.r.(io.Seeker)
	if !ok || offset != 0 || (whence != io.SeekCurrent && whence != io.SeekStart) {
		return 0, fmt.Errorf("seeking a verified blob: %w", errors.ErrUnsupported)
	}
	if whence == io.SeekCurrent {
		return s.Seek(0, io.SeekCurrent)
	}
	pos, err := s.Seek(0, io.SeekStart)
	if err != nil {
		return pos, err
	}
	v.dg, v.err = manifests.NewDigester(), nil
	return pos, nil
}

// readSeekCloser is a verified file: it can rewind (see verifyReader.Seek).
type readSeekCloser struct {
	*verifyReader
	io.Closer
}

// readCloser joins a reader with the Close of what it reads.
type readCloser struct {
	io.Reader
	io.Closer
}

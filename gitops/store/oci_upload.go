package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/modelgit/modelgit/manifests"
)

// Put stores r under d unless the registry already has d (a HEAD first),
// in which case r is not read. A blob of known size whose reader can seek
// (a file) goes up as one streamed PUT, as `oras push` does; any other
// blob larger than one chunk is uploaded in chunks (PATCH with
// Content-Range). When the connection drops, Put asks the registry how much
// it holds and resumes from there in chunks (re-hashing the part already
// sent from r), or, when the registry lost the upload, starts over
// (re-reading r if it can seek). The bytes are hashed while read and the
// upload is cancelled before it completes unless they match d and size, so
// nothing corrupt is ever stored under d (the registry checks the digest
// too).
func (o *OCI) Put(ctx context.Context, d manifests.Digest, size int64, r io.Reader) error {
	if d.IsZero() {
		return fmt.Errorf("storing blob: empty digest")
	}
	got, err := o.Stat(ctx, d)
	if err == nil {
		if size >= 0 && got != size {
			return fmt.Errorf("storing blob %s: %w", d, &DigestMismatchError{Want: d, Got: d, WantSize: size, GotSize: got})
		}
		return nil
	}
	if !errors.Is(err, ErrNotFound) {
		return err // "statting blob <d>: …" names the blob and the registry
	}
	u := &upload{o: o, d: d, size: size, r: r, dg: manifests.NewDigester()}
	if or, ok := r.(onlyReader); ok {
		r = or.Reader // the hasher hides Seek; we want it back
	}
	if s, ok := r.(io.Seeker); ok {
		if pos, err := s.Seek(0, io.SeekCurrent); err == nil {
			u.seeker, u.start, u.r = s, pos, r
		}
	}
	u.mono = size >= 0 && size <= o.opts.ChunkSize
	u.stream = !u.mono && size >= 0 && u.seeker != nil && !o.noStream
	if err := u.run(ctx); err != nil {
		return fmt.Errorf("storing blob %s in %s: %w", d, o.URL(), err)
	}
	return nil
}

// upload is one blob upload session and the state needed to resume it.
type upload struct {
	o      *OCI
	d      manifests.Digest
	size   int64
	r      io.Reader
	seeker io.Seeker // nil when r cannot be re-read
	start  int64     // position of r when Put was called
	mono   bool      // the whole blob in one PUT, from memory
	stream bool      // the whole blob in one PUT, streamed from r (first attempt)

	dg       *manifests.Digester
	loc      *url.URL // upload location; nil before POST
	off      int64    // bytes the registry acknowledged
	buf      []byte   // the current chunk: bytes [bufStart, bufStart+len(buf))
	bufStart int64
	eof      bool // r is exhausted
	chunk    []byte
	reported int64 // bytes reported to Progress: resent bytes are not reported twice
}

// errRetry marks an error after which the upload may be resumed.
type errRetry struct{ err error }

func (e errRetry) Error() string { return e.err.Error() }
func (e errRetry) Unwrap() error { return e.err }

func retryable(err error) bool {
	var r errRetry
	return errors.As(err, &r)
}

// run drives the upload to completion, resuming after retryable errors.
func (u *upload) run(ctx context.Context) error {
	attempt := 0
	resume := false
	for {
		var err error
		if resume {
			err = u.recover(ctx)
		}
		done := false
		if err == nil {
			done, err = u.step(ctx)
		}
		if err == nil {
			if done {
				return nil
			}
			attempt, resume = 0, false
			continue
		}
		if ctx.Err() != nil || !retryable(err) || attempt >= u.o.opts.Retries {
			u.abort()
			if retryable(err) && attempt > 0 {
				return fmt.Errorf("giving up after %d attempts to resume: %w (run again: finished blobs are not uploaded twice)", attempt, err)
			}
			return err
		}
		attempt++
		wait := min(250*time.Millisecond<<(attempt-1), 5*time.Second)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			u.abort()
			return ctx.Err()
		}
		resume = true
	}
}

// step makes one request: opens the session, sends one chunk, or
// completes the upload (done).
func (u *upload) step(ctx context.Context) (done bool, err error) {
	if u.loc == nil {
		return false, u.begin(ctx)
	}
	if u.stream {
		return true, u.putStream(ctx)
	}
	if u.off == u.bufStart+int64(len(u.buf)) && !u.eof {
		if err := u.fill(); err != nil {
			return false, err
		}
	}
	if u.mono {
		return true, u.finish(ctx, u.buf[u.off-u.bufStart:])
	}
	if rest := u.buf[u.off-u.bufStart:]; len(rest) > 0 {
		return false, u.patch(ctx, rest)
	}
	return true, u.finish(ctx, nil)
}

// fill reads the next chunk (the whole blob in mono mode) and hashes it;
// at EOF it checks digest and size.
func (u *upload) fill() error {
	n := u.o.opts.ChunkSize
	if u.mono {
		n = u.size
	}
	if int64(cap(u.chunk)) < n {
		u.chunk = make([]byte, n)
	}
	b := u.chunk[:n]
	got, err := io.ReadFull(u.r, b)
	u.bufStart, u.buf = u.off, b[:got]
	u.dg.Write(u.buf)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		u.eof = true
	case err != nil:
		return fmt.Errorf("reading: %w", err)
	case u.mono:
		// The declared size was read; anything more is a mismatch.
		if m, _ := copyBuf(u.dg, u.r); m > 0 {
			return u.mismatch()
		}
		u.eof = true
	}
	if u.size >= 0 && u.dg.Size() > u.size {
		copyBuf(u.dg, u.r)
		return u.mismatch()
	}
	if u.eof && (u.dg.Digest() != u.d || (u.size >= 0 && u.dg.Size() != u.size)) {
		return u.mismatch()
	}
	return nil
}

func (u *upload) mismatch() error {
	return &DigestMismatchError{Want: u.d, Got: u.dg.Digest(), WantSize: u.size, GotSize: u.dg.Size()}
}

// begin starts a session (POST) and records its location.
func (u *upload) begin(ctx context.Context) error {
	o := u.o
	base := fmt.Sprintf("%s://%s/v2/%s/blobs/uploads/", o.scheme(), o.ref.Host(), o.ref.Repository)
	req, err := http.NewRequestWithContext(o.scoped(ctx, true), http.MethodPost, base, nil)
	if err != nil {
		return err
	}
	resp, err := o.upload.Do(req)
	if err != nil {
		return u.netError("starting upload", err)
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusAccepted {
		return u.respError("starting upload", resp)
	}
	return u.setLocation(resp)
}

// setLocation takes the next upload URL from resp, refusing one on another
// host or a downgrade from HTTPS (credentials would follow it).
func (u *upload) setLocation(resp *http.Response) error {
	loc, err := resp.Location()
	if err != nil {
		return fmt.Errorf("reading upload location: %w", err)
	}
	if !sameUploadHost(loc, resp.Request.URL) {
		return fmt.Errorf("registry sent an upload location on another host %q: refused", loc.Host)
	}
	if resp.Request.URL.Scheme == "https" && loc.Scheme != "https" {
		return fmt.Errorf("registry sent an upload location that downgrades HTTPS to %s: refused", loc.Scheme)
	}
	u.loc = loc
	return nil
}

// sameUploadHost compares host and port, with default ports made explicit.
func sameUploadHost(a, b *url.URL) bool {
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		if u.Scheme == "https" {
			return "443"
		}
		return "80"
	}
	return a.Hostname() == b.Hostname() && port(a) == port(b)
}

// patch sends p, the bytes from u.off on.
func (u *upload) patch(ctx context.Context, p []byte) error {
	o := u.o
	req, err := http.NewRequestWithContext(o.scoped(ctx, true), http.MethodPatch, u.loc.String(), &countingReader{bytes.NewReader(p), o})
	if err != nil {
		return err
	}
	req.ContentLength = int64(len(p))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(&countingReader{bytes.NewReader(p), o}), nil }
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-Range", fmt.Sprintf("%d-%d", u.off, u.off+int64(len(p))-1))
	resp, err := o.upload.Do(req)
	if err != nil {
		return u.netError("uploading chunk", err)
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusNoContent {
		return u.respError("uploading chunk", resp)
	}
	if err := u.setLocation(resp); err != nil {
		return err
	}
	u.off += int64(len(p))
	u.progress(u.off)
	return nil
}

// finish completes the upload with PUT ?digest=, sending p (the rest of a
// monolithic upload, or nothing).
func (u *upload) finish(ctx context.Context, p []byte) error {
	o := u.o
	loc := *u.loc
	q := loc.Query()
	q.Set("digest", u.d.String())
	loc.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(o.scoped(ctx, true), http.MethodPut, loc.String(), &countingReader{bytes.NewReader(p), o})
	if err != nil {
		return err
	}
	req.ContentLength = int64(len(p))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(&countingReader{bytes.NewReader(p), o}), nil }
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := o.upload.Do(req)
	if err != nil {
		return u.netError("completing upload", err)
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusNoContent {
		return u.respError("completing upload", resp)
	}
	u.progress(u.off + int64(len(p)))
	return nil
}

// progress reports the bytes up to end as sent, those not reported yet.
func (u *upload) progress(end int64) {
	if end > u.reported {
		u.o.opts.Progress.Add(end - u.reported)
		u.reported = end
	}
}

// putStream sends the whole blob, read from r, in one PUT ?digest= with a
// Content-Length; the body withholds its last bytes unless digest and size
// match, so a wrong input never completes the upload.
func (u *upload) putStream(ctx context.Context) error {
	o := u.o
	loc := *u.loc
	q := loc.Query()
	q.Set("digest", u.d.String())
	loc.RawQuery = q.Encode()
	body := &streamBody{u: u}
	req, err := http.NewRequestWithContext(o.scoped(ctx, true), http.MethodPut, loc.String(), body)
	if err != nil {
		return err
	}
	req.ContentLength = u.size
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := o.upload.Do(req)
	// The transport may read the body after Do returns (when the
	// registry answers before the body is sent): stop it before r is
	// touched again.
	body.stop()
	if body.err != nil {
		// The input is wrong (or unreadable): the request failed because
		// of it, and no retry can help.
		return body.err
	}
	if err != nil {
		return u.netError("uploading", err)
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusNoContent {
		return u.respError("uploading", resp)
	}
	u.progress(u.size)
	return nil
}

// streamBody is the body of a streamed PUT: r read with a large buffer and
// hashed ahead of what is sent. The last buffer is released only after the
// digest and size are checked.
type streamBody struct {
	mu   sync.Mutex
	u    *upload
	done bool   // stopped: Read fails
	buf  []byte // pooled read buffer; buf[pos:end] is not sent yet
	pos  int
	end  int
	read int64 // bytes read from r
	sent int64 // bytes handed to the transport
	err  error // an input error: wrong bytes or a failed read
}

func (b *streamBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return 0, b.err
	}
	if b.done {
		return 0, errStreamStopped
	}
	if b.pos == b.end {
		if b.read == b.u.size {
			return 0, io.EOF
		}
		if err := b.fill(); err != nil {
			b.err = err
			b.release()
			return 0, err
		}
	}
	n := copy(p, b.buf[b.pos:b.end])
	b.pos += n
	b.sent += int64(n)
	b.u.o.sent.Add(int64(n))
	if b.sent-b.u.reported >= 1<<20 || b.sent == b.u.size {
		b.u.progress(b.sent)
	}
	if b.sent == b.u.size {
		b.release()
	}
	return n, nil
}

// fill reads the next buffer and hashes it; when it ends the blob, it
// checks digest and size (and that r holds nothing more).
func (b *streamBody) fill() error {
	u := b.u
	if b.buf == nil {
		b.buf = *bufPool.Get().(*[]byte)
	}
	want := min(int64(len(b.buf)), u.size-b.read)
	n, err := io.ReadFull(u.r, b.buf[:want])
	u.dg.Write(b.buf[:n])
	b.read += int64(n)
	b.pos, b.end = 0, n
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return u.mismatch() // shorter than size
	case err != nil:
		return fmt.Errorf("reading: %w", err)
	}
	if b.read < u.size {
		return nil
	}
	if m, _ := copyBuf(u.dg, u.r); m > 0 {
		return u.mismatch() // longer than size
	}
	if u.dg.Digest() != u.d {
		return u.mismatch()
	}
	return nil
}

// errStreamStopped is what the body of a streamed PUT returns once Put has
// moved on.
var errStreamStopped = errors.New("upload stopped")

// stop makes every later Read fail and frees the buffer; it waits for a
// Read in progress.
func (b *streamBody) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done = true
	b.release()
}

// release returns the read buffer to the pool.
func (b *streamBody) release() {
	if b.buf != nil {
		// Put a pointer to a copy of the slice header: &b.buf would alias
		// the field set to nil just below, leaving a nil buffer in the pool
		// for the next Get (ingestSmall's (*bp)[:size+1] then panics).
		buf := b.buf
		bufPool.Put(&buf)
		b.buf = nil
		b.pos, b.end = 0, 0
	}
}

// netError wraps a transport error as retryable.
func (u *upload) netError(doing string, err error) error {
	err = u.o.transportError(err)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrAuthRequired) {
		return fmt.Errorf("%s: %w", doing, err)
	}
	return errRetry{fmt.Errorf("%s: %w", doing, err)}
}

// respError describes an unexpected response, retryable when the upload
// can be resumed or restarted after it.
func (u *upload) respError(doing string, resp *http.Response) error {
	err := fmt.Errorf("%s: %w", doing, u.o.statusError(resp))
	switch s := resp.StatusCode; {
	case s >= 500, s == http.StatusRequestTimeout, s == http.StatusTooManyRequests,
		s == http.StatusRequestedRangeNotSatisfiable:
		return errRetry{err}
	case s == http.StatusNotFound || s == http.StatusBadRequest:
		// BLOB_UPLOAD_UNKNOWN / BLOB_UPLOAD_INVALID: the session is gone.
		if msg := err.Error(); strings.Contains(msg, "blob_upload") || strings.Contains(msg, "digest_invalid") {
			return errRetry{err}
		}
	}
	return err
}

// countingReader counts the bytes sent, for tests.
type countingReader struct {
	r *bytes.Reader
	o *OCI
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.o.sent.Add(int64(n))
	return n, err
}

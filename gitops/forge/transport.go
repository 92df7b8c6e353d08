package forge

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// retryTransport retries idempotent requests (GET, HEAD) on 5xx answers,
// network errors and per-attempt timeouts, a bounded number of times with
// exponential backoff. Other methods get exactly one attempt: a merge is
// never re-sent blindly (GitHub.Merge reads the PR back instead).
type retryTransport struct {
	base     http.RoundTripper
	attempts int           // total attempts for idempotent requests
	timeout  time.Duration // per attempt; 0 means none
	backoff  time.Duration // before the second attempt; doubles after
}

// attemptTimeoutError is a per-attempt timeout that is not the caller's
// deadline.
type attemptTimeoutError struct{}

func (attemptTimeoutError) Error() string   { return "request timed out" }
func (attemptTimeoutError) Timeout() bool   { return true }
func (attemptTimeoutError) Temporary() bool { return true }
func (attemptTimeoutError) Unwrap() error   { return ErrTimeout }

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	n := 1
	if req.Method == http.MethodGet || req.Method == http.MethodHead {
		n = max(t.attempts, 1)
	}
	wait := t.backoff
	for i := 1; ; i++ {
		resp, err := t.once(req)
		if i >= n || req.Context().Err() != nil || !retryable(resp, err) {
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		select {
		case <-req.Context().Done():
			return nil, req.Context().Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}

func retryable(resp *http.Response, err error) bool {
	if err != nil {
		return true
	}
	switch resp.StatusCode {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

func (t *retryTransport) once(req *http.Request) (*http.Response, error) {
	if t.timeout <= 0 {
		return t.base.RoundTrip(req)
	}
	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	resp, err := t.base.RoundTrip(req.Clone(ctx))
	if err != nil {
		cancel()
		if req.Context().Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, attemptTimeoutError{}
		}
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelBody releases the attempt's context when the body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// Origin returns the origin of an http or https URL, "scheme://host:port"
// in lower case with the scheme's default port written out, so that two
// URLs of one origin compare equal; "" for any other URL. The forge token
// goes to the forge's origin only: another port on the same host is
// another service, and plain HTTP is readable by anyone on the path.
func Origin(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	return originOf(u)
}

func originOf(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	switch {
	case scheme != "http" && scheme != "https", u.Hostname() == "":
		return ""
	case port == "" && scheme == "http":
		port = "80"
	case port == "":
		port = "443"
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// originOnly sends the Authorization header only to requests for origin.
// go-github sets the token on every request its client sends, and the
// client follows redirects through the same transport: a redirect to
// another host, port or scheme would carry the token there.
type originOnly struct {
	base   http.RoundTripper
	origin string
}

func (t originOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Authorization") != "" && originOf(req.URL) != t.origin {
		req = req.Clone(req.Context())
		req.Header.Del("Authorization")
	}
	return t.base.RoundTrip(req)
}

package forge

import (
	"context"
	"errors"
	"io"
	"net/http"
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

package prom

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// DefaultTimeout bounds one query when the caller's context has no
// deadline of its own.
const DefaultTimeout = 15 * time.Second

// ErrUnreachable wraps every failure to talk to Prometheus at all:
// connection refused, DNS, timeouts, TLS.
var ErrUnreachable = errors.New("prometheus is unreachable")

// QueryError is a query Prometheus answered with an error: bad PromQL, an
// execution error or a timeout inside Prometheus, or a result that is not
// one number.
type QueryError struct {
	// Query is the PromQL that failed.
	Query string
	// Type is Prometheus's errorType ("bad_data", "execution", …), or
	// "result" when the answer could not be reduced to one number.
	Type string
	// Msg is what Prometheus (or modelgit) said.
	Msg string
}

// Error implements error.
func (e *QueryError) Error() string {
	return fmt.Sprintf("querying Prometheus for %q: %s: %s", e.Query, e.Type, e.Msg)
}

// Result is an instant query's answer reduced to one number.
type Result struct {
	// Value is the number; meaningful only when Empty is false.
	Value float64
	// Empty is true when the query matched no series (no data), or its
	// value is NaN.
	Empty bool
	// Warnings are Prometheus's warnings about the query.
	Warnings []string
}

// Client queries one Prometheus server. It is safe for concurrent use.
type Client struct {
	api     v1.API
	address string
}

// New returns a client for the Prometheus at address
// ("http://127.0.0.1:9090"). Nothing is sent until Query.
func New(address string) (*Client, error) {
	u, err := url.Parse(address)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("parsing the Prometheus address %q: want http://HOST:PORT or https://HOST:PORT", redactAddress(address))
	}
	c, err := api.NewClient(api.Config{Address: address})
	if err != nil {
		return nil, fmt.Errorf("creating the Prometheus client for %q: %s", redactAddress(address), Redact(err.Error()))
	}
	return &Client{api: v1.NewAPI(c), address: address}, nil
}

// Address returns the server's address without credentials or query.
func (c *Client) Address() string { return redactAddress(c.address) }

// Query evaluates query at the instant at (never "now" implicitly, so
// results do not slide) and reduces the answer to one number: a scalar,
// or a vector of at most one series. A vector of several series is a
// *QueryError: aggregate them in the query (avg, sum, max).
func (c *Client) Query(ctx context.Context, query string, at time.Time) (Result, error) {
	if at.IsZero() {
		return Result{}, &QueryError{Query: query, Type: "request", Msg: "no evaluation time given"}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	v, warnings, _, err := c.api.Query(ctx, query, at)
	res := Result{Warnings: warnings}
	if err != nil {
		var apiErr *v1.Error
		if errors.As(err, &apiErr) {
			msg := apiErr.Msg
			if apiErr.Type == v1.ErrClient && apiErr.Detail != "" && !strings.Contains(msg, apiErr.Detail) {
				msg += ": " + strings.TrimSpace(apiErr.Detail)
			}
			return res, &QueryError{Query: query, Type: string(apiErr.Type), Msg: msg}
		}
		return res, fmt.Errorf("querying %s: %w: %s", c.Address(), ErrUnreachable, Redact(err.Error()))
	}
	switch v := v.(type) {
	case *model.Scalar:
		res.Value = float64(v.Value)
	case model.Vector:
		switch len(v) {
		case 0:
			res.Empty = true
			return res, nil
		case 1:
			res.Value = float64(v[0].Value)
		default:
			return res, &QueryError{Query: query, Type: "result", Msg: fmt.Sprintf("%d series (%s, …); want one: aggregate them, e.g. avg(…) or sum(…)", len(v), v[0].Metric)}
		}
	default:
		return res, &QueryError{Query: query, Type: "result", Msg: fmt.Sprintf("a %s; want an instant vector or a scalar", v.Type())}
	}
	if math.IsNaN(res.Value) {
		res.Empty = true
	}
	return res, nil
}

// Redact strips user information and the query string from URLs in s, so
// that credentials in a Prometheus address never reach a message; also
// from a URL that does not parse ("http://bob:pw@host:port9090").
func Redact(s string) string {
	fields := strings.Fields(s)
	for _, f := range fields {
		trimmed := strings.Trim(f, `"':,()`)
		u, err := url.Parse(trimmed)
		switch {
		case err == nil && u.Host != "" && (u.User != nil || u.RawQuery != ""):
		case strings.Contains(trimmed, "://") && strings.ContainsAny(trimmed, "@?"):
		default:
			continue
		}
		s = strings.ReplaceAll(s, trimmed, redactAddress(trimmed))
	}
	return s
}

// redactAddress strips user information and the query string from one
// address, also one url.Parse refuses or reads without a host
// ("bob:pw@localhost:9090"): everything before the last "@" of the part
// that names the host goes.
func redactAddress(a string) string {
	if u, err := url.Parse(a); err == nil && u.Host != "" {
		u.User, u.RawQuery, u.ForceQuery = nil, "", false
		return u.String()
	}
	scheme, rest := "", a
	if i := strings.Index(a, "://"); i >= 0 {
		scheme, rest = a[:i+3], a[i+3:]
	}
	host := rest
	if j := strings.IndexAny(rest, "/?#"); j >= 0 {
		host = rest[:j]
	}
	if k := strings.LastIndex(host, "@"); k >= 0 {
		rest = rest[k+1:]
	}
	if j := strings.IndexByte(rest, '?'); j >= 0 {
		rest = rest[:j]
	}
	return scheme + rest
}

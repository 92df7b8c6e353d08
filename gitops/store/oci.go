package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
	"oras.land/oras-go/v2/registry/remote/errcode"
	"oras.land/oras-go/v2/registry/remote/retry"

	"github.com/modelgit/modelgit/manifests"
)

// Environment variables read by OCIOptionsFromEnv.
const (
	EnvRegistryUsername  = "MODELGIT_REGISTRY_USERNAME"
	EnvRegistryPassword  = "MODELGIT_REGISTRY_PASSWORD"
	EnvRegistryHost      = "MODELGIT_REGISTRY_HOST"
	EnvRegistryConfig    = "MODELGIT_REGISTRY_CONFIG"
	EnvRegistryPlainHTTP = "MODELGIT_REGISTRY_PLAIN_HTTP"
)

const (
	// DefaultOCIChunkSize is the size of one PATCH of a chunked upload.
	DefaultOCIChunkSize = 16 << 20
	// DefaultOCIRetries is how many times an interrupted upload is resumed.
	DefaultOCIRetries = 6
	// DefaultOCIParallel is how many blobs CopyBlobs and PushVersion move
	// at once.
	DefaultOCIParallel = 4
	// maxManifestBytes bounds what is read of a manifest or error body.
	maxManifestBytes = 4 << 20
)

// Errors wrapped by the OCI store, for errors.Is.
var (
	// ErrRegistryUnreachable: no connection to the registry could be made.
	ErrRegistryUnreachable = errors.New("registry unreachable")
	// ErrAuthRequired: the registry answered 401 (no or wrong credentials).
	ErrAuthRequired = errors.New("authentication required")
	// ErrDenied: the registry answered 403 (credentials lack permission).
	ErrDenied = errors.New("access denied")
	// ErrRepositoryName: the registry (or the parser) rejected the
	// repository name.
	ErrRepositoryName = errors.New("invalid repository name")
)

// OCIOptions configure an OCI store. The zero value reads credentials from
// the Docker / oras credential store.
type OCIOptions struct {
	// PlainHTTP talks HTTP instead of HTTPS. It is implied for localhost,
	// 127.0.0.0/8 and ::1; anything else needs it set explicitly.
	PlainHTTP bool
	// RegistryConfig is the path of a Docker config.json holding
	// credentials (auths, credsStore, credHelpers); what it holds for a
	// registry wins over Username and Password. Empty means Username and
	// Password when set, else $DOCKER_CONFIG/config.json or
	// ~/.docker/config.json, which is where `oras login` and `docker
	// login` write.
	RegistryConfig string
	// Username and Password are used instead of the default credential
	// store, and for registries RegistryConfig has nothing for, but only
	// for the registry Host names when it is set. A Password without
	// Username is sent as an identity token, which registries with HTTP
	// Basic auth do not accept.
	Username, Password string
	// Host is the registry, HOST[:PORT], that Username and Password
	// belong to: they are sent to no other, as docker and oras keep each
	// credential with its registry. Empty means the registry of the store
	// opened, which is safe only when the caller chose that store; the
	// options of OCIOptionsFromEnv send credentials without a Host to no
	// registry (the store URL comes from a repository's modelgit.yaml,
	// which a clone does not choose for the user).
	Host string
	// hostRequired: Username and Password came from the environment and
	// are sent only to Host (none when it is empty).
	hostRequired bool
	// UserAgent is sent with every request; empty means "modelgit".
	UserAgent string
	// ChunkSize is the size of one upload chunk; 0 means
	// DefaultOCIChunkSize. Blobs no larger than one chunk go in one PUT
	// from memory; larger ones of known size whose reader can seek are
	// streamed in one PUT, and sent in chunks only after a failure.
	ChunkSize int64
	// Retries is how many times an interrupted upload is resumed (or
	// restarted) before Put fails; 0 means DefaultOCIRetries, negative
	// means none.
	Retries int
	// Parallel is how many blobs CopyBlobs and PushVersion move at once;
	// 0 means DefaultOCIParallel.
	Parallel int
	// Progress, when set, receives the bytes uploaded (Add only: whoever
	// starts the operation calls Start and Done).
	Progress Progress
	// Transport is the HTTP transport; nil means a clone of
	// http.DefaultTransport.
	Transport http.RoundTripper
}

// OCIOptionsFromEnv returns options filled from the environment:
// MODELGIT_REGISTRY_USERNAME and MODELGIT_REGISTRY_PASSWORD (credentials),
// sent only to the registry MODELGIT_REGISTRY_HOST names (HOST[:PORT];
// without it they are sent nowhere), MODELGIT_REGISTRY_CONFIG (a Docker
// config.json) and MODELGIT_REGISTRY_PLAIN_HTTP (true to allow plain
// HTTP to any host).
func OCIOptionsFromEnv() OCIOptions {
	plain, _ := strconv.ParseBool(os.Getenv(EnvRegistryPlainHTTP))
	return OCIOptions{
		Username:       os.Getenv(EnvRegistryUsername),
		Password:       os.Getenv(EnvRegistryPassword),
		Host:           os.Getenv(EnvRegistryHost),
		hostRequired:   true,
		RegistryConfig: os.Getenv(EnvRegistryConfig),
		PlainHTTP:      plain,
	}
}

// credentialsFor reports whether Username and Password may be sent to
// the registry host (HOST[:PORT]).
func (opts OCIOptions) credentialsFor(host string) bool {
	if opts.Host == "" {
		return !opts.hostRequired
	}
	return normalizeHost(opts.Host) == normalizeHost(host)
}

// withheld reports whether Username or Password are set but not for host.
func (opts OCIOptions) withheld(host string) bool {
	return (opts.Username != "" || opts.Password != "") && !opts.credentialsFor(host)
}

// normalizeHost lowercases HOST[:PORT] and drops a scheme or trailing
// slash written around it. The port stays: another port is another
// service, which may belong to someone else.
func normalizeHost(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	for _, p := range []string{"oci://", "https://", "http://"} {
		h = strings.TrimPrefix(h, p)
	}
	return strings.TrimRight(h, "/")
}

// OCI is a Store in an OCI registry repository ("oci://HOST[:PORT]/REPO"):
// every blob is an OCI blob under its sha256 digest, so digests are the
// same as in the file store. Stat is a HEAD, Open a verified GET, Put a
// HEAD and, when the blob is missing, one streamed PUT (a file) or a
// chunked upload, resuming in chunks after a dropped connection. Model versions are OCI image manifests (PushVersion).
// Credentials and tokens never appear in its errors.
type OCI struct {
	ref       registry.Reference // Reference empty
	plainHTTP bool
	opts      OCIOptions
	client    *auth.Client // with retries, for short requests
	upload    *auth.Client // without retries: uploads retry themselves
	repo      *remote.Repository
	credsUsed atomic.Bool // a credential was found and sent
	// sent counts the bytes uploaded, for tests.
	sent atomic.Int64
	// noStream makes Put upload seekable input in chunks too, for tests.
	noStream bool
}

var _ Store = (*OCI)(nil)

// NewOCI returns the store for ref, "HOST[:PORT]/REPO" (an "oci://" prefix
// is accepted). Nothing is contacted until the first operation.
func NewOCI(ref string, opts OCIOptions) (*OCI, error) {
	r, err := parseOCIRef(ref)
	if err != nil {
		return nil, err
	}
	cred, err := credentialFunc(opts)
	if err != nil {
		return nil, fmt.Errorf("opening store %q: %w", "oci://"+r.Registry+"/"+r.Repository, err)
	}
	o := &OCI{ref: r, opts: opts, plainHTTP: opts.PlainHTTP || isLoopback(r.Registry)}
	if o.opts.ChunkSize <= 0 {
		o.opts.ChunkSize = DefaultOCIChunkSize
	}
	if o.opts.Retries == 0 {
		o.opts.Retries = DefaultOCIRetries
	}
	if o.opts.Parallel <= 0 {
		o.opts.Parallel = DefaultOCIParallel
	}
	if o.opts.Progress == nil {
		o.opts.Progress = NoProgress
	}
	base := opts.Transport
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.DialContext = (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		t.MaxIdleConnsPerHost = 32
		t.ResponseHeaderTimeout = 5 * time.Minute
		base = t
	}
	recording := func(ctx context.Context, host string) (auth.Credential, error) {
		c, err := cred(ctx, host)
		if err == nil && c != auth.EmptyCredential {
			o.credsUsed.Store(true)
		}
		return c, err
	}
	ua := opts.UserAgent
	if ua == "" {
		ua = "modelgit"
	}
	cache := auth.NewCache()
	o.client = &auth.Client{Client: &http.Client{Transport: retry.NewTransport(base)}, Credential: recording, Cache: cache}
	o.client.SetUserAgent(ua)
	o.upload = &auth.Client{Client: &http.Client{Transport: base}, Credential: recording, Cache: cache}
	o.upload.SetUserAgent(ua)
	o.repo = &remote.Repository{Client: o.client, Reference: r, PlainHTTP: o.plainHTTP}
	return o, nil
}

// parseOCIRef parses "[oci://]HOST[:PORT]/REPO" without tag or digest,
// refusing credentials in the URL without echoing them.
func parseOCIRef(ref string) (registry.Reference, error) {
	raw := strings.TrimPrefix(ref, "oci://")
	if host, _, ok := strings.Cut(raw, "/"); ok && strings.Contains(host, "@") || !ok && strings.Contains(raw, "@") {
		return registry.Reference{}, fmt.Errorf("opening store %q: credentials in the store URL are not supported: use `oras login`, a Docker config.json or %s/%s", sanitize("oci://"+raw), EnvRegistryUsername, EnvRegistryPassword)
	}
	name := "oci://" + raw
	host, repo, ok := strings.Cut(raw, "/")
	if !ok || host == "" || repo == "" {
		return registry.Reference{}, fmt.Errorf("opening store %q: want oci://HOST[:PORT]/REPOSITORY", name)
	}
	if strings.ContainsAny(repo, ":@") {
		return registry.Reference{}, fmt.Errorf("opening store %q: the store URL names a repository, not a tag or digest: drop %q", name, repo[strings.IndexAny(repo, ":@"):])
	}
	r := registry.Reference{Registry: host, Repository: repo}
	if err := r.ValidateRegistry(); err != nil {
		return registry.Reference{}, fmt.Errorf("opening store %q: invalid registry host %q", name, host)
	}
	if err := r.ValidateRepository(); err != nil {
		return registry.Reference{}, fmt.Errorf("opening store %q: %w %q: use lowercase letters, digits and separators (. _ - /), e.g. acme/models", name, ErrRepositoryName, repo)
	}
	return r, nil
}

// credentialFunc resolves credentials: the Docker config file named by
// RegistryConfig when it has some for the host (an explicit file wins over
// the environment), else explicit Username/Password, else the default
// Docker config file (and its credential helpers).
func credentialFunc(opts OCIOptions) (auth.CredentialFunc, error) {
	var explicit auth.CredentialFunc
	if opts.Username != "" || opts.Password != "" {
		c := auth.Credential{Username: opts.Username, Password: opts.Password}
		if opts.Username == "" {
			c = auth.Credential{RefreshToken: opts.Password}
		}
		explicit = func(_ context.Context, host string) (auth.Credential, error) {
			if !opts.credentialsFor(host) {
				return auth.EmptyCredential, nil
			}
			return c, nil
		}
	}
	if opts.RegistryConfig != "" {
		st, err := credentials.NewStore(opts.RegistryConfig, credentials.StoreOptions{})
		if err != nil {
			return nil, fmt.Errorf("reading registry config %q: %w", opts.RegistryConfig, err)
		}
		fromFile := credentials.Credential(st)
		if explicit == nil {
			return fromFile, nil
		}
		return func(ctx context.Context, host string) (auth.Credential, error) {
			c, err := fromFile(ctx, host)
			if err != nil || c != auth.EmptyCredential {
				return c, err
			}
			return explicit(ctx, host)
		}, nil
	}
	if explicit != nil {
		return explicit, nil
	}
	st, err := credentials.NewStoreFromDocker(credentials.StoreOptions{})
	if err != nil {
		// An unreadable default config is not fatal: go anonymous.
		return func(context.Context, string) (auth.Credential, error) { return auth.EmptyCredential, nil }, nil
	}
	return credentials.Credential(st), nil
}

// isLoopback reports whether host[:port] is localhost or a loopback IP.
func isLoopback(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// URL returns "oci://HOST/REPO".
func (o *OCI) URL() string { return "oci://" + o.ref.Registry + "/" + o.ref.Repository }

// Registry returns the registry host[:port].
func (o *OCI) Registry() string { return o.ref.Registry }

// Repository returns the repository name.
func (o *OCI) Repository() string { return o.ref.Repository }

// Reference returns "HOST/REPO:tag", the name oras and KServe use.
func (o *OCI) Reference(tag string) string {
	return o.ref.Registry + "/" + o.ref.Repository + ":" + tag
}

func (o *OCI) scheme() string {
	if o.plainHTTP {
		return "http"
	}
	return "https"
}

// blobURL returns the URL of blob d.
func (o *OCI) blobURL(d manifests.Digest) string {
	return fmt.Sprintf("%s://%s/v2/%s/blobs/%s", o.scheme(), o.ref.Host(), o.ref.Repository, d)
}

// scoped adds the repository scope (pull, and push when push is set) that
// token-auth registries need.
func (o *OCI) scoped(ctx context.Context, push bool) context.Context {
	if push {
		return auth.AppendRepositoryScope(ctx, o.ref, auth.ActionPull, auth.ActionPush)
	}
	return auth.AppendRepositoryScope(ctx, o.ref, auth.ActionPull)
}

// Stat returns the size of blob d (a HEAD request).
func (o *OCI) Stat(ctx context.Context, d manifests.Digest) (int64, error) {
	if d.IsZero() {
		return 0, fmt.Errorf("statting blob: empty digest")
	}
	req, err := http.NewRequestWithContext(o.scoped(ctx, false), http.MethodHead, o.blobURL(d), nil)
	if err != nil {
		return 0, fmt.Errorf("statting blob %s: %w", d, err)
	}
	resp, err := o.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("statting blob %s: %w", d, o.transportError(err))
	}
	defer drain(resp)
	switch resp.StatusCode {
	case http.StatusOK:
		if resp.ContentLength < 0 {
			return 0, fmt.Errorf("statting blob %s in %s: the registry sent no Content-Length", d, o.URL())
		}
		return resp.ContentLength, nil
	case http.StatusNotFound:
		return 0, fmt.Errorf("%w: %s in %s", ErrNotFound, d, o.URL())
	}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusBadRequest {
		// A HEAD response has no body: ask again with GET for the
		// registry's explanation.
		if req, err := http.NewRequestWithContext(o.scoped(ctx, false), http.MethodGet, o.blobURL(d), nil); err == nil {
			if get, err := o.upload.Do(req); err == nil {
				defer drain(get)
				if get.StatusCode == resp.StatusCode {
					return 0, fmt.Errorf("statting blob %s: %w", d, o.statusError(get))
				}
			}
		}
	}
	return 0, fmt.Errorf("statting blob %s: %w", d, o.statusError(resp))
}

// Open returns blob d (a GET request); the reader verifies digest and size
// at EOF.
func (o *OCI) Open(ctx context.Context, d manifests.Digest) (io.ReadCloser, error) {
	if d.IsZero() {
		return nil, fmt.Errorf("opening blob: empty digest")
	}
	req, err := http.NewRequestWithContext(o.scoped(ctx, false), http.MethodGet, o.blobURL(d), nil)
	if err != nil {
		return nil, fmt.Errorf("opening blob %s: %w", d, err)
	}
	resp, err := o.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("opening blob %s: %w", d, o.transportError(err))
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return readCloser{newVerifyReader(bodyReader{resp.Body, o}, d, resp.ContentLength), resp.Body}, nil
	case http.StatusNotFound:
		drain(resp)
		return nil, fmt.Errorf("%w: %s in %s", ErrNotFound, d, o.URL())
	}
	defer drain(resp)
	return nil, fmt.Errorf("opening blob %s: %w", d, o.statusError(resp))
}

// bodyReader turns transport errors of a body read (which may carry a
// redirect URL with a signature) into sanitized ones.
type bodyReader struct {
	r io.Reader
	o *OCI
}

func (b bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = b.o.transportError(err)
	}
	return n, err
}

// drain discards a little of the body so the connection can be reused,
// and closes it.
func drain(resp *http.Response) {
	io.CopyN(io.Discard, resp.Body, 64<<10)
	resp.Body.Close()
}

// transportError describes a failed round trip without its URL (which may
// hold an upload state or a signed redirect) and marks connection failures
// with ErrRegistryUnreachable.
func (o *OCI) transportError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, auth.ErrBasicCredentialNotFound) {
		return o.authError(http.StatusUnauthorized, false, "")
	}
	// oras-go says this (after the request's method and URL, which must
	// not be echoed) when the credential cannot answer the challenge: an
	// identity token for basic auth, or a username without password.
	if msg := err.Error(); strings.HasSuffix(msg, "missing username or password for basic auth") {
		return fmt.Errorf("%w: %s asks for a username and password (HTTP Basic), and the credential found has no username or no password (a password alone is used as an identity token): set %s as well, or use `oras login %s` / --registry-config", ErrAuthRequired, o.ref.Registry, EnvRegistryUsername, o.ref.Registry)
	} else if strings.HasSuffix(msg, "missing username or password for bearer auth") {
		return fmt.Errorf("%w: %s asks for a token and the credential found has a username without password: set %s as well, or use `oras login %s` / --registry-config", ErrAuthRequired, o.ref.Registry, EnvRegistryPassword, o.ref.Registry)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	var oe *net.OpError
	var de *net.DNSError
	switch {
	case errors.As(err, &de):
		return fmt.Errorf("%w: cannot resolve host %q of %s: %v", ErrRegistryUnreachable, de.Name, o.URL(), de.Err)
	case errors.As(err, &oe) && oe.Op == "dial":
		return fmt.Errorf("%w: cannot connect to %s (%s): %v", ErrRegistryUnreachable, o.ref.Registry, o.URL(), oe.Err)
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("%w: %s timed out: %v", ErrRegistryUnreachable, o.ref.Registry, err)
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return fmt.Errorf("%s speaks plain HTTP, not HTTPS: if that is intended, allow it with --plain-http or %s=true (OCIOptions.PlainHTTP)", o.ref.Registry, EnvRegistryPlainHTTP)
	}
	return fmt.Errorf("talking to %s: %w", o.ref.Registry, err)
}

// registryErrors is the error body of the distribution spec.
type registryErrors struct {
	Errors []struct {
		Code    string          `json:"code"`
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail,omitempty"`
	} `json:"errors"`
}

// statusError describes an unexpected response (not 2xx, not the expected
// 404), reading the registry's error body. It never quotes the request URL.
func (o *OCI) statusError(resp *http.Response) error {
	var body registryErrors
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	json.Unmarshal(b, &body)
	var codes []string
	var msgs []string
	for _, e := range body.Errors {
		codes = append(codes, e.Code)
		if e.Code == "UNKNOWN" && isNameError(e.Detail) {
			// distribution 2.x reports a name it cannot store (too long)
			// as an unknown error with this detail.
			codes = append(codes, "NAME_INVALID")
			e.Message = "the registry cannot store this repository name"
		}
		if e.Message != "" {
			msgs = append(msgs, strings.ToLower(e.Code)+": "+e.Message)
		} else {
			msgs = append(msgs, strings.ToLower(e.Code))
		}
	}
	if len(body.Errors) == 0 && resp.StatusCode == http.StatusNotFound && resp.Request.Method == http.MethodPost {
		// No route for the upload URL: the registry refuses the name.
		codes = append(codes, "NAME_INVALID")
		msgs = append(msgs, strings.TrimSpace(string(b)))
	}
	return o.classify(resp.Request.Method, resp.StatusCode, codes, strings.Join(msgs, "; "))
}

// isNameError reports whether an error detail is distribution's
// ErrRepositoryNameInvalid ({"Name": …, "Reason": …}).
func isNameError(detail json.RawMessage) bool {
	var d map[string]json.RawMessage
	if json.Unmarshal(detail, &d) != nil {
		return false
	}
	_, name := d["Name"]
	_, reason := d["Reason"]
	return name && reason && len(d) == 2
}

// classify turns a status and error codes into an error wrapping the
// matching sentinel.
func (o *OCI) classify(method string, status int, codes []string, detail string) error {
	has := func(c string) bool {
		for _, x := range codes {
			if x == c {
				return true
			}
		}
		return false
	}
	switch {
	case status == http.StatusUnauthorized:
		return o.authError(status, o.credsUsed.Load(), detail)
	case status == http.StatusForbidden || has("DENIED"):
		return fmt.Errorf("%w: the credentials lack permission to %s in %s (403%s)", ErrDenied, verbOf(method), o.URL(), suffix(detail))
	case has("NAME_INVALID"):
		return fmt.Errorf("%w: registry %s rejected repository %q (%d%s)", ErrRepositoryName, o.ref.Registry, o.ref.Repository, status, suffix(detail))
	case has("NAME_UNKNOWN"):
		return fmt.Errorf("%w: repository %q does not exist in %s and was not created (%d%s)", ErrRepositoryName, o.ref.Repository, o.ref.Registry, status, suffix(detail))
	}
	if detail == "" {
		detail = http.StatusText(status)
	}
	return fmt.Errorf("registry %s answered %s %d: %s", o.ref.Registry, method, status, detail)
}

func suffix(detail string) string {
	if detail == "" {
		return ""
	}
	return ": " + detail
}

func verbOf(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead:
		return "pull"
	case http.MethodDelete:
		return "delete"
	}
	return "push"
}

// authError explains a 401: no credentials at all, or rejected ones.
func (o *OCI) authError(status int, sent bool, detail string) error {
	if !sent && o.opts.withheld(o.ref.Registry) {
		named := "is not set"
		if o.opts.Host != "" {
			named = fmt.Sprintf("names %s", o.opts.Host)
		}
		return fmt.Errorf("%w: %s needs credentials; %s and %s are sent only to the registry %s names, and it %s: set %s=%s if they are for this registry, or run `oras login %s` (%d%s)",
			ErrAuthRequired, o.ref.Registry, EnvRegistryUsername, EnvRegistryPassword, EnvRegistryHost, named, EnvRegistryHost, o.ref.Registry, o.ref.Registry, status, suffix(detail))
	}
	if !sent {
		return fmt.Errorf("%w: %s needs credentials and none were found: run `oras login %s`, pass --registry-config FILE (a Docker config.json), or set %s and %s with %s=%s (%d%s)",
			ErrAuthRequired, o.ref.Registry, o.ref.Registry, EnvRegistryUsername, EnvRegistryPassword, EnvRegistryHost, o.ref.Registry, status, suffix(detail))
	}
	return fmt.Errorf("%w: authentication failed: %s rejected the credentials: check them (`oras login %s`, the --registry-config file, or %s and %s) (%d%s)",
		ErrAuthRequired, o.ref.Registry, o.ref.Registry, EnvRegistryUsername, EnvRegistryPassword, status, suffix(detail))
}

// orasError converts an error of an oras-go call into one of ours.
func (o *OCI) orasError(method string, err error) error {
	var er *errcode.ErrorResponse
	if errors.As(err, &er) {
		var codes, msgs []string
		for _, e := range er.Errors {
			codes = append(codes, e.Code)
			msgs = append(msgs, strings.ToLower(e.Code)+": "+e.Message)
		}
		return o.classify(er.Method, er.StatusCode, codes, strings.Join(msgs, "; "))
	}
	return o.transportError(err)
}

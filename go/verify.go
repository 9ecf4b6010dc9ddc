// Package verify checks OCI artifacts and container images before a Go
// controller uses them, with the verify core (Rust) embedded through cgo or
// reached over the HTTPS verify API.
//
// It is shaped like source-controller's internal/oci verifier contract: a
// constructor taking options, then Verify(ctx, name.Reference) returning a
// VerificationResult and an error. Options mirror OCIRepository's and
// HelmChart's .spec.verify (provider cosign; matchOIDCIdentity pairs;
// public keys from a Secret's *.pub entries; keyless with the public-good
// Sigstore root or a trusted_root.json), registry credentials come from a
// go-containerregistry authn.Keychain, resolved for each call and passed to
// the core with that call only.
//
// Two backends implement Verifier: NewCgo (build with cgo, linking
// crates/verify-ffi's static library) and NewHTTPS (for CGO_ENABLED=0
// binaries, calling `verify-admission api` with mTLS). Both send the same
// JSON and get the same answers.
package verify

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// VerificationResult is the outcome of a verification, as in
// source-controller's internal/oci package.
type VerificationResult string

const (
	// VerificationResultSuccess: a signature verified.
	VerificationResultSuccess VerificationResult = "verified"
	// VerificationResultFailed: no signature verified, or verification
	// could not be done (the error says which).
	VerificationResultFailed VerificationResult = "unverified"
	// VerificationResultIgnored: nothing was checked.
	VerificationResultIgnored VerificationResult = "ignored"
)

// Verification is what a successful verification established.
type Verification struct {
	// Name is the repository, registry/repository.
	Name string
	// Digest is the manifest digest verified (the tag's, for a tag
	// reference), sha256:<hex>.
	Digest string
	// Cached is true when the verdict came from the engine's cache.
	Cached bool
	// Raw is the core's JSON answer (with WithSignatures, the verified
	// signatures as cosign prints them).
	Raw json.RawMessage
}

// Verifier verifies OCI artifacts and images by reference. It is safe for
// concurrent use; Close releases it and every later call fails with
// ErrClosed.
type Verifier interface {
	// Verify returns VerificationResultSuccess when a signature by one of
	// the configured signers verified, else VerificationResultFailed and
	// an *Error (or ErrClosed, or the context's error).
	Verify(ctx context.Context, ref name.Reference) (VerificationResult, error)
	// VerifyImage is Verify with the verified digest.
	VerifyImage(ctx context.Context, ref name.Reference) (*Verification, error)
	// Close releases the verifier.
	Close() error
}

// ErrClosed is returned by a Verifier used after Close.
var ErrClosed = errors.New("verify: verifier is closed")

// Error is a verification failure with the core's stable reason code
// (e.g. no-signatures, no-matching-signatures, identity-mismatch,
// registry-not-allowed, deadline-exceeded, cancelled).
type Error struct {
	// Code is the core's reason code.
	Code string
	// Message says why.
	Message string
	// Failures lists why each candidate signature was rejected.
	Failures []CandidateFailure
}

// CandidateFailure is one rejected signature.
type CandidateFailure struct {
	Origin  string `json:"origin"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	return e.Message
}

// Is matches another *Error with the same code (errors.Is(err,
// &verify.Error{Code: "no-signatures"})).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Identity is one matchOIDCIdentity pair: RE2 patterns searched
// (unanchored) in the certificate's OIDC issuer and in its subject (SAN).
// Pairs are OR-ed.
type Identity struct {
	Issuer  string
	Subject string
}

type options struct {
	provider     string
	publicKeys   [][]byte
	identities   []Identity
	trustedRoot  []byte
	keychain     authn.Keychain
	registryCA   [][]byte
	insecureHTTP bool
	allowed      []string
	cacheSize    int
	timeout      time.Duration
	signatures   bool
	proxy        *url.URL
	noProxy      []string
	rekorURL     string
}

// Option configures a Verifier.
type Option func(*options)

// WithProvider sets .spec.verify.provider; only "cosign" (the default) is
// supported.
func WithProvider(provider string) Option {
	return func(o *options) { o.provider = provider }
}

// WithPublicKey adds a PEM public key; keys are tried in turn and the first
// that verifies wins (key mode ignores the transparency log, as Flux does).
func WithPublicKey(pem []byte) Option {
	return func(o *options) { o.publicKeys = append(o.publicKeys, pem) }
}

// WithSecretData adds every entry of a Secret's data whose name ends in
// ".pub" as a public key, in name order (source-controller ranges over the
// map; a fixed order makes the result reproducible).
func WithSecretData(data map[string][]byte) Option {
	return func(o *options) {
		keys := make([]string, 0, len(data))
		for k := range data {
			if strings.HasSuffix(k, ".pub") {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			o.publicKeys = append(o.publicKeys, data[k])
		}
	}
}

// WithIdentities sets the matchOIDCIdentity pairs for keyless verification
// (ignored when public keys are given, as in Flux). None: any identity the
// trust root's Fulcio certifies.
func WithIdentities(identities []Identity) Option {
	return func(o *options) { o.identities = identities }
}

// WithTrustedRoot replaces the public-good Sigstore root with a
// trusted_root.json (trustedRootSecretRef). The cgo backend builds its
// engine on it; the HTTPS backend sends it with every request (the server
// parses it once and keeps it by hash; its size is bounded by the server's
// limits.max_trusted_root_bytes, 1 MiB by default).
func WithTrustedRoot(trustedRootJSON []byte) Option {
	return func(o *options) { o.trustedRoot = trustedRootJSON }
}

// WithKeychain resolves registry credentials for each call
// (secretRef/provider/serviceAccountName in Flux). The credentials go to
// the core with that call only, for the reference's registry only.
func WithKeychain(keychain authn.Keychain) Option {
	return func(o *options) { o.keychain = keychain }
}

// WithRegistryCA trusts extra CA certificates (PEM) for registries (cgo
// backend; the HTTPS API uses its server's configuration).
func WithRegistryCA(pem []byte) Option {
	return func(o *options) { o.registryCA = append(o.registryCA, pem) }
}

// WithInsecureHTTP speaks plain HTTP to registries (.spec.insecure; loopback
// registries are always spoken to in plain HTTP).
func WithInsecureHTTP(insecure bool) Option {
	return func(o *options) { o.insecureHTTP = insecure }
}

// WithAllowedRegistries bounds the registries (host[:port]) or repository
// prefixes (host[:port]/path) the engine fetches from (cgo backend).
func WithAllowedRegistries(allowed ...string) Option {
	return func(o *options) { o.allowed = append(o.allowed, allowed...) }
}

// WithProxy sends every registry (and Rekor) request through this proxy
// (cgo backend; what source-controller's proxySecretRef resolves to, or
// http.ProxyFromEnvironment's answer for the registry). As Go's
// http.ProxyURL it applies to loopback registries too; hosts given to
// WithNoProxy are reached directly. User information in the URL
// (http://user:password@host:port) becomes Proxy-Authorization, sent to the
// proxy only. Without WithProxy the engine connects directly: it does not
// read HTTPS_PROXY itself. The HTTPS API uses its server's proxy.
func WithProxy(proxy *url.URL) Option {
	return func(o *options) { o.proxy = proxy }
}

// WithNoProxy lists hosts reached without the proxy (NO_PROXY syntax:
// hosts, .domain suffixes, IPs, CIDRs).
func WithNoProxy(hosts ...string) Option {
	return func(o *options) { o.noProxy = append(o.noProxy, hosts...) }
}

// WithRekorURL looks up, in this Rekor log, the entry of a signature that
// carries no transparency-log evidence (cosign's --rekor-url; off by
// default, when such signatures fail). cgo backend: the HTTPS API looks up
// in the log its server is configured with, if any, so that callers cannot
// make it fetch from URLs of their choosing.
func WithRekorURL(rekorURL string) Option {
	return func(o *options) { o.rekorURL = rekorURL }
}

// WithCacheSize sets the number of verdicts the engine keeps (cgo backend;
// 0: the default 10,000; negative: no cache).
func WithCacheSize(n int) Option {
	return func(o *options) { o.cacheSize = n }
}

// WithSignatures asks for the verified signatures in Verification.Raw
// (cosign's JSON); without it the answer carries the verdict only, which
// keeps a cached verification short.
func WithSignatures() Option {
	return func(o *options) { o.signatures = true }
}

// WithTimeout bounds each call whose context has no deadline (default 60 s).
func WithTimeout(d time.Duration) Option {
	return func(o *options) { o.timeout = d }
}

func buildOptions(opts []Option) (*options, error) {
	o := &options{provider: "cosign", timeout: 60 * time.Second}
	for _, opt := range opts {
		opt(o)
	}
	if o.provider != "cosign" {
		return nil, fmt.Errorf("unsupported verification provider: %s", o.provider)
	}
	if o.proxy != nil && o.proxy.Scheme != "http" && o.proxy.Scheme != "https" {
		return nil, fmt.Errorf("verify: proxy %s: the scheme must be http or https", o.proxy.Redacted())
	}
	if o.rekorURL != "" {
		if u, err := url.Parse(o.rekorURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("verify: Rekor URL %q is not an http(s) URL", o.rekorURL)
		}
	}
	for _, id := range o.identities {
		if _, err := regexp.Compile(id.Issuer); err != nil {
			return nil, fmt.Errorf("malformed issuer in identity: %s : %w", id.Issuer, err)
		}
		if _, err := regexp.Compile(id.Subject); err != nil {
			return nil, fmt.Errorf("malformed subject in identity: %s : %w", id.Subject, err)
		}
	}
	return o, nil
}

// ProviderName is the provider as source-controller names it in its
// messages: "cosign keyless" for cosign without public keys.
func (o *options) providerName() string {
	if len(o.publicKeys) == 0 {
		return "cosign keyless"
	}
	return "cosign"
}

// The request JSON (crates/verify-api/src/request.rs).
type imageRequest struct {
	Reference   string       `json:"reference"`
	Signer      signerSpec   `json:"signer"`
	Credentials *credentials `json:"credentials,omitempty"`
	Summary     bool         `json:"summary,omitempty"`
	TrustedRoot string       `json:"trusted_root,omitempty"`
}

type signerSpec struct {
	Keys    []keySpec    `json:"keys,omitempty"`
	Keyless *keylessSpec `json:"keyless,omitempty"`
}

type keySpec struct {
	PEM        string `json:"pem"`
	IgnoreTlog bool   `json:"ignore_tlog"`
}

type keylessSpec struct {
	Identities []identitySpec `json:"identities"`
}

type identitySpec struct {
	Issuer  string `json:"issuer"`
	Subject string `json:"subject"`
}

type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// signer is the signer part of every request, built once.
func (o *options) signer() signerSpec {
	if len(o.publicKeys) > 0 {
		keys := make([]keySpec, len(o.publicKeys))
		for i, k := range o.publicKeys {
			keys[i] = keySpec{PEM: string(k), IgnoreTlog: true}
		}
		return signerSpec{Keys: keys}
	}
	ids := make([]identitySpec, len(o.identities))
	for i, id := range o.identities {
		ids[i] = identitySpec{Issuer: id.Issuer, Subject: id.Subject}
	}
	return signerSpec{Keyless: &keylessSpec{Identities: ids}}
}

// credentialsFor resolves the keychain for ref's registry, now.
func credentialsFor(keychain authn.Keychain, ref name.Reference) (*credentials, error) {
	if keychain == nil {
		return nil, nil
	}
	auth, err := keychain.Resolve(ref.Context())
	if err != nil {
		return nil, &Error{Code: "credentials-unavailable", Message: fmt.Sprintf("resolving credentials for %s: %v", ref.Context().RegistryStr(), err)}
	}
	if auth == nil || auth == authn.Anonymous {
		return nil, nil
	}
	cfg, err := authn.Authorization(context.Background(), auth)
	if err != nil {
		return nil, &Error{Code: "credentials-unavailable", Message: fmt.Sprintf("credentials for %s: %v", ref.Context().RegistryStr(), err)}
	}
	switch {
	case cfg.Username != "" || cfg.Password != "":
		return &credentials{Username: cfg.Username, Password: cfg.Password}, nil
	case cfg.Auth != "":
		raw, err := base64.StdEncoding.DecodeString(cfg.Auth)
		if err != nil {
			return nil, &Error{Code: "credentials-unavailable", Message: "credentials: auth is not base64"}
		}
		user, pass, ok := strings.Cut(string(raw), ":")
		if !ok {
			return nil, &Error{Code: "credentials-unavailable", Message: "credentials: auth is not user:password"}
		}
		return &credentials{Username: user, Password: pass}, nil
	case cfg.IdentityToken != "":
		// An OAuth2 refresh token is exchanged by the registry's token
		// service with the conventional user name.
		return &credentials{Username: "<token>", Password: cfg.IdentityToken}, nil
	case cfg.RegistryToken != "":
		return nil, &Error{Code: "credentials-unsupported", Message: "credentials: a bare registry token is not supported; use user name and password"}
	}
	return nil, nil
}

// answer is the core's JSON answer (crates/verify-api/src/report.rs).
type answer struct {
	Verified bool   `json:"verified"`
	Name     string `json:"name"`
	Digest   string `json:"digest"`
	Cached   bool   `json:"cached"`
	Reason   *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"reason"`
	Failures []CandidateFailure `json:"failures"`
}

func decodeAnswer(raw []byte) (*Verification, error) {
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, &Error{Code: "invalid-answer", Message: fmt.Sprintf("unreadable answer from the verify core: %v", err)}
	}
	if !a.Verified {
		if a.Reason == nil {
			return nil, &Error{Code: "invalid-answer", Message: "answer without a verdict"}
		}
		return nil, &Error{Code: a.Reason.Code, Message: a.Reason.Message, Failures: a.Failures}
	}
	return &Verification{Name: a.Name, Digest: a.Digest, Cached: a.Cached, Raw: raw}, nil
}

// backend sends one image request and returns the JSON answer.
type backend interface {
	image(ctx context.Context, request []byte, timeout time.Duration) ([]byte, error)
	close() error
}

// verifier is the Verifier both backends share.
type verifier struct {
	opts    *options
	backend backend
	// requestTail is the JSON of the request fields that are the same in
	// every call (signer, summary, and the trust root the HTTPS backend
	// sends), marshalled once: `,"signer":{...}...}`. A call only encodes
	// its reference and credentials in front of it, so a cached
	// verification does not re-encode public keys or a trust root of up
	// to 1 MiB each time.
	requestTail []byte
}

// newVerifier builds the Verifier for o over backend; requestRoot is a
// trust root sent with every request ("" for none).
// On error the backend is closed.
func newVerifier(o *options, b backend, requestRoot string) (Verifier, error) {
	fixed, err := json.Marshal(imageRequest{Signer: o.signer(), Summary: !o.signatures, TrustedRoot: requestRoot})
	// fixed is `{"reference":"","signer":...}`: keep what follows the
	// empty reference, so the tail starts with `,"signer"`.
	tail, ok := bytes.CutPrefix(fixed, []byte(`{"reference":""`))
	if err != nil || !ok {
		_ = b.close()
		return nil, fmt.Errorf("verify: cannot encode the request's fixed fields: %v", err)
	}
	return &verifier{opts: o, backend: b, requestTail: tail}, nil
}

// request is the JSON image request for ref: the fields of
// imageRequest (credentials before the fixed ones), built on the tail.
func (v *verifier) request(ref string, creds *credentials) ([]byte, error) {
	quoted, err := json.Marshal(ref)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(`{"reference":`)+len(quoted)+len(v.requestTail)+96)
	out = append(out, `{"reference":`...)
	out = append(out, quoted...)
	if creds != nil {
		c, err := json.Marshal(creds)
		if err != nil {
			return nil, err
		}
		out = append(out, `,"credentials":`...)
		out = append(out, c...)
	}
	return append(out, v.requestTail...), nil
}

func (v *verifier) VerifyImage(ctx context.Context, ref name.Reference) (*Verification, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	creds, err := credentialsFor(v.opts.keychain, ref)
	if err != nil {
		return nil, err
	}
	request, err := v.request(ref.Name(), creds)
	if err != nil {
		return nil, err
	}
	timeout := v.opts.timeout
	if deadline, ok := ctx.Deadline(); ok {
		timeout = time.Until(deadline)
		if timeout <= 0 {
			return nil, context.DeadlineExceeded
		}
	}
	raw, err := v.backend.image(ctx, request, timeout)
	if err != nil {
		return nil, err
	}
	verification, err := decodeAnswer(raw)
	if err != nil {
		var e *Error
		// A call the context cancelled reports the context's error.
		if errors.As(err, &e) && (e.Code == "cancelled" || e.Code == "deadline-exceeded" || e.Code == "image-deadline-exceeded") && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	return verification, nil
}

func (v *verifier) Verify(ctx context.Context, ref name.Reference) (VerificationResult, error) {
	if _, err := v.VerifyImage(ctx, ref); err != nil {
		return VerificationResultFailed, err
	}
	return VerificationResultSuccess, nil
}

func (v *verifier) Close() error {
	return v.backend.close()
}

// ProviderName is the provider named in source-controller's messages for
// these options: "cosign", or "cosign keyless" without public keys.
func ProviderName(opts ...Option) string {
	o := &options{provider: "cosign"}
	for _, opt := range opts {
		opt(o)
	}
	return o.providerName()
}

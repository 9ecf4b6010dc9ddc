package verify

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

func digestRef(t testing.TB, repo string) name.Reference {
	t.Helper()
	ref, err := name.NewDigest(env.registry+"/"+repo+"@"+env.digests[repo+":v1"], name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func goodIdentity() Option {
	return WithIdentities([]Identity{{Issuer: "^" + regexp.QuoteMeta(env.issuer) + "$", Subject: "^" + regexp.QuoteMeta(env.subject) + "$"}})
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error %v (%#v), want code %s", err, err, code)
	}
}

// The cgo backend's registry traffic goes through the proxy it is given,
// with the proxy's credentials; a host in WithNoProxy is reached directly.
func TestProxyCarriesRegistryTraffic(t *testing.T) {
	p, stop, err := startProxy("flux", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	proxyURL := &url.URL{Scheme: "http", User: url.UserPassword("flux", "s3cret"), Host: p.addr}
	ctx := context.Background()

	v := backends["cgo"](t, goodIdentity(), WithProxy(proxyURL))
	got, err := v.VerifyImage(ctx, digestRef(t, "img/keyless"))
	if err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	if got.Digest != env.digests["img/keyless:v1"] {
		t.Fatalf("digest %s", got.Digest)
	}
	if p.proxied.Load() == 0 || !p.sawHost(env.registry) {
		t.Fatalf("no registry request went through the proxy (%d proxied)", p.proxied.Load())
	}
	if p.refused.Load() != 0 {
		t.Fatalf("%d requests reached the proxy without its credentials", p.refused.Load())
	}

	// Wrong proxy credentials: the proxy refuses, and so does the call.
	wrong := &url.URL{Scheme: "http", User: url.UserPassword("flux", "guess"), Host: p.addr}
	v = backends["cgo"](t, goodIdentity(), WithProxy(wrong))
	if res, err := v.Verify(ctx, digestRef(t, "img/keyless")); err == nil || res != VerificationResultFailed {
		t.Fatalf("wrong proxy credentials verified (%v, %v)", res, err)
	}
	if p.refused.Load() == 0 {
		t.Fatal("the proxy saw no request with the wrong credentials")
	}

	// no_proxy: the loopback registry is reached directly.
	before := p.proxied.Load() + p.refused.Load()
	v = backends["cgo"](t, goodIdentity(), WithProxy(proxyURL), WithNoProxy("127.0.0.1"))
	if _, err := v.Verify(ctx, digestRef(t, "img/keyless")); err != nil {
		t.Fatalf("with no_proxy: %v", err)
	}
	if after := p.proxied.Load() + p.refused.Load(); after != before {
		t.Fatalf("%d requests went through the proxy despite no_proxy", after-before)
	}

	// The HTTPS backend refuses a proxy rather than ignoring it.
	if _, err := NewHTTPS(ctx, env.apiURL, env.clientTLS, nil, WithProxy(proxyURL)); err == nil {
		t.Fatal("NewHTTPS accepted WithProxy")
	}
	if _, err := NewCgo(ctx, WithProxy(&url.URL{Scheme: "socks9", Host: p.addr})); err == nil {
		t.Fatal("NewCgo accepted a socks9 proxy")
	}
}

// A request carries its own trust root to the HTTPS API (whose engine has
// the public-good root): keyless signatures by the test Sigstore verify
// only with it.
func TestHTTPSTrustedRootPerRequest(t *testing.T) {
	ctx := context.Background()
	ref := digestRef(t, "img/keyless")
	bare, err := NewHTTPS(ctx, env.apiURL, env.clientTLS, nil, goodIdentity())
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Close()
	_, err = bare.VerifyImage(ctx, ref)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("the test signature verified against the public-good root: %v", err)
	}
	for name, build := range backends {
		v := build(t, goodIdentity())
		got, err := v.VerifyImage(ctx, ref)
		if err != nil {
			t.Fatalf("%s with the test root: %v", name, err)
		}
		if got.Digest != env.digests["img/keyless:v1"] {
			t.Fatalf("%s: digest %s", name, got.Digest)
		}
	}
	// The public-good answer was not served from the verdict cache.
	_, err = bare.VerifyImage(ctx, ref)
	if !errors.As(err, &e) {
		t.Fatalf("the verdict under the test root answered for the public-good root: %v", err)
	}
	junk, err := NewHTTPS(ctx, env.apiURL, env.clientTLS, nil, goodIdentity(), WithTrustedRoot([]byte(`{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1", "tlogs": [`)))
	if err != nil {
		t.Fatal(err)
	}
	defer junk.Close()
	_, err = junk.VerifyImage(ctx, ref)
	if !errors.As(err, &e) || e.Code == "" {
		t.Fatalf("a truncated trust root: %v", err)
	}
	t.Logf("truncated trust root: %s: %s", e.Code, e.Message)
}

// A signature without log evidence verifies only where a Rekor URL is
// configured, after looking its entry up in the log.
func TestRekorLookupIsOptIn(t *testing.T) {
	ctx := context.Background()
	ref := digestRef(t, "img/unlogged")
	searches := env.rekor.searches.Load()
	off := backends["cgo"](t, goodIdentity())
	_, err := off.VerifyImage(ctx, ref)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("an unlogged signature verified without a log: %v", err)
	}
	offCode := e.Code
	if len(e.Failures) != 1 || e.Failures[0].Code != "tlog-lookup-offline" || !strings.Contains(e.Failures[0].Message, "no log is configured") {
		t.Fatalf("without a log: %s %+v", e.Code, e.Failures)
	}
	if env.rekor.searches.Load() != searches {
		t.Fatal("the log was asked without WithRekorURL")
	}

	on := backends["cgo"](t, goodIdentity(), WithRekorURL(env.rekor.url))
	if _, err := on.VerifyImage(ctx, ref); err != nil {
		t.Fatalf("cgo with the log: %v", err)
	}
	if env.rekor.searches.Load() == searches || env.rekor.fetches.Load() == 0 {
		t.Fatal("cgo: verified without asking the log")
	}

	// HTTPS: the server's configuration decides (apiURL has the log,
	// apiFileURL has none).
	searches = env.rekor.searches.Load()
	v := backends["https"](t, goodIdentity())
	if _, err := v.VerifyImage(ctx, ref); err != nil {
		t.Fatalf("https with the log: %v", err)
	}
	if env.rekor.searches.Load() == searches {
		t.Fatal("https: verified without asking the log")
	}
	noLog, err := NewHTTPS(ctx, env.apiFileURL, env.clientTLS, nil, goodIdentity())
	if err != nil {
		t.Fatal(err)
	}
	defer noLog.Close()
	_, err = noLog.VerifyImage(ctx, ref)
	wantCode(t, err, offCode)
	if _, err := NewHTTPS(ctx, env.apiURL, env.clientTLS, nil, WithRekorURL(env.rekor.url)); err == nil {
		t.Fatal("NewHTTPS accepted WithRekorURL")
	}
	t.Logf("without a log: %s", offCode)
}

// A verified digest is answered from the cache without any registry
// request; a tag costs one request on top (its resolution to the digest),
// and nothing else: the verdict for that digest is the cached one. The
// requests are counted by the proxy they go through.
func TestATagCostsOneRegistryRequestOnTopOfTheCache(t *testing.T) {
	p, stop, err := startProxy("flux", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	proxyURL := &url.URL{Scheme: "http", User: url.UserPassword("flux", "s3cret"), Host: p.addr}
	ctx := context.Background()
	tag, err := name.NewTag(env.registry+"/img/keyless:v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	v := backends["cgo"](t, goodIdentity(), WithProxy(proxyURL))
	first, err := v.VerifyImage(ctx, tag)
	if err != nil {
		t.Fatalf("first verification: %v", err)
	}
	if first.Cached || first.Digest != env.digests["img/keyless:v1"] {
		t.Fatalf("first verification: cached %v, digest %s", first.Cached, first.Digest)
	}
	cold := p.proxied.Load()
	if cold < 2 {
		t.Fatalf("a fresh verification made %d registry requests", cold)
	}

	again, err := v.VerifyImage(ctx, tag)
	if err != nil {
		t.Fatalf("by tag again: %v", err)
	}
	if !again.Cached || again.Digest != first.Digest {
		t.Fatalf("by tag again: cached %v, digest %s", again.Cached, again.Digest)
	}
	if n := p.proxied.Load() - cold; n != 1 {
		t.Fatalf("a cached verification by tag made %d registry requests, want 1", n)
	}

	before := p.proxied.Load()
	byDigest, err := v.VerifyImage(ctx, digestRef(t, "img/keyless"))
	if err != nil || !byDigest.Cached {
		t.Fatalf("by digest: %v (cached %v)", err, byDigest != nil && byDigest.Cached)
	}
	if n := p.proxied.Load() - before; n != 0 {
		t.Fatalf("a cached verification by digest made %d registry requests", n)
	}
}

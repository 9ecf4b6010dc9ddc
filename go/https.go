package verify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"
)

// maxAnswerBytes bounds an answer read from the HTTPS API.
const maxAnswerBytes = 8 << 20

// NewHTTPS builds a Verifier that calls the HTTPS verify API (`verify-admission
// api`) at endpoint (https://host:port), authenticating with the client
// certificate in tlsConfig (mTLS). proxy may be nil (no proxy). The
// server's registry allowlist, proxy and Rekor URL apply, and its trust
// root unless WithTrustedRoot gives one, sent with every request; the
// registry credentials are resolved here, per call, and sent with the
// request.
func NewHTTPS(ctx context.Context, endpoint string, tlsConfig *tls.Config, proxy func(*http.Request) (*url.URL, error), opts ...Option) (Verifier, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	// Refused rather than ignored: a caller must not believe its registry
	// traffic goes through its proxy, or that unlogged signatures are
	// looked up, when the server decides both.
	if o.proxy != nil || len(o.noProxy) > 0 || o.rekorURL != "" {
		return nil, errors.New("verify: the HTTPS API reaches registries and Rekor as its server is configured; WithProxy, WithNoProxy and WithRekorURL are for NewCgo")
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "https" {
		return nil, fmt.Errorf("verify: endpoint %q is not an https URL", endpoint)
	}
	if tlsConfig == nil || (len(tlsConfig.Certificates) == 0 && tlsConfig.GetClientCertificate == nil) {
		return nil, errors.New("verify: the HTTPS API needs a client certificate (tls.Config.Certificates)")
	}
	transport := &http.Transport{
		TLSClientConfig:   tlsConfig.Clone(),
		Proxy:             proxy,
		ForceAttemptHTTP2: false,
		// Calls share a bounded set of kept-alive connections: a burst
		// of calls waits for a connection rather than opening (and
		// handshaking) one each.
		MaxConnsPerHost:     64,
		MaxIdleConnsPerHost: 64,
		// Below the server's 10 s idle limit, so a request never races
		// the server closing an idle connection.
		IdleConnTimeout:     5 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	b := &httpsBackend{
		endpoint: u.JoinPath("v1", "verify", "image").String(),
		client:   &http.Client{Transport: transport},
	}
	return newVerifier(o, b, string(o.trustedRoot))
}

type httpsBackend struct {
	endpoint string
	client   *http.Client
	closed   atomic.Bool
}

func (b *httpsBackend) image(ctx context.Context, request []byte, timeout time.Duration) ([]byte, error) {
	if b.closed.Load() {
		return nil, ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.endpoint, bytes.NewReader(request))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Verify-Timeout-Ms", strconv.FormatInt(timeout.Milliseconds(), 10))
	resp, err := b.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &Error{Code: "api-unreachable", Message: fmt.Sprintf("verify API: %v", err)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &Error{Code: "api-unreachable", Message: fmt.Sprintf("verify API: reading the answer: %v", err)}
	}
	if resp.StatusCode != http.StatusOK && len(raw) == 0 {
		return nil, &Error{Code: "api-error", Message: fmt.Sprintf("verify API: HTTP %d", resp.StatusCode)}
	}
	// Every answer, 200 or not, is the core's JSON.
	return raw, nil
}

func (b *httpsBackend) close() error {
	b.closed.Store(true)
	b.client.CloseIdleConnections()
	return nil
}

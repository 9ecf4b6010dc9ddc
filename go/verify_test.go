package verify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// backends builds a Verifier per backend with the same options.
var backends = map[string]func(t testing.TB, opts ...Option) Verifier{
	"cgo": func(t testing.TB, opts ...Option) Verifier {
		v, err := NewCgo(context.Background(), append([]Option{WithTrustedRoot(env.trustedRoot)}, opts...)...)
		if err != nil {
			t.Fatalf("NewCgo: %v", err)
		}
		t.Cleanup(func() { v.Close() })
		return v
	},
	// The server's engine has the public-good root: the test root travels
	// with every request (trustedRootSecretRef through HTTPS).
	"https": func(t testing.TB, opts ...Option) Verifier {
		v, err := NewHTTPS(context.Background(), env.apiURL, env.clientTLS, nil, append([]Option{WithTrustedRoot(env.trustedRoot)}, opts...)...)
		if err != nil {
			t.Fatalf("NewHTTPS: %v", err)
		}
		t.Cleanup(func() { v.Close() })
		return v
	},
}

// reconcile is the verification step of source-controller's OCIRepository
// reconciler, reduced to its shape: the reference from .spec.url and
// .spec.ref, the verifier from .spec.verify and its Secrets, the
// SourceVerified condition set as source-controller sets it.
func reconcile(ctx context.Context, obj *sourcev1.OCIRepository, secrets map[string]map[string][]byte,
	newVerifier func(opts ...Option) (Verifier, error)) (string, error) {
	if obj.Spec.Verify == nil {
		conditions.Delete(obj, sourcev1.SourceVerifiedCondition)
		return "", nil
	}
	// A False condition is dropped at the start of each reconcile.
	if conditions.IsFalse(obj, sourcev1.SourceVerifiedCondition) {
		conditions.Delete(obj, sourcev1.SourceVerifiedCondition)
	}
	url := strings.TrimPrefix(obj.Spec.URL, "oci://")
	var ref name.Reference
	var err error
	switch {
	case obj.Spec.Reference != nil && obj.Spec.Reference.Digest != "":
		ref, err = name.NewDigest(url+"@"+obj.Spec.Reference.Digest, name.Insecure)
	case obj.Spec.Reference != nil && obj.Spec.Reference.Tag != "":
		ref, err = name.NewTag(url+":"+obj.Spec.Reference.Tag, name.Insecure)
	default:
		ref, err = name.NewTag(url+":latest", name.Insecure)
	}
	if err != nil {
		return "", err
	}
	var secretData, rootData map[string][]byte
	if s := obj.Spec.Verify.SecretRef; s != nil {
		secretData = secrets[s.Name]
	}
	if s := obj.Spec.Verify.TrustedRootSecretRef; s != nil {
		rootData = secrets[s.Name]
	}
	opts, provider, err := OCIRepositoryOptions(obj.Spec.Verify, secretData, rootData)
	if err != nil {
		MarkVerificationFailed(obj, provider, err)
		return "", err
	}
	v, err := newVerifier(append(opts, WithKeychain(authn.DefaultKeychain))...)
	if err != nil {
		MarkVerificationFailed(obj, provider, err)
		return "", err
	}
	defer v.Close()
	verified, err := v.VerifyImage(ctx, ref)
	if err != nil {
		MarkVerificationFailed(obj, provider, err)
		return "", err
	}
	revision := Revision(ref, verified.Digest)
	MarkVerified(obj, revision)
	return revision, nil
}

func ociRepository(repo, tag, digest string, verify *sourcev1.OCIRepositoryVerification) *sourcev1.OCIRepository {
	return &sourcev1.OCIRepository{
		ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: "flux-system", Generation: 3},
		Spec: sourcev1.OCIRepositorySpec{
			URL:       "oci://" + env.registry + "/" + repo,
			Reference: &sourcev1.OCIRepositoryRef{Tag: tag, Digest: digest},
			Verify:    verify,
			Interval:  metav1.Duration{Duration: time.Minute},
		},
	}
}

func keyless(identities ...sourcev1.OIDCIdentityMatch) *sourcev1.OCIRepositoryVerification {
	return &sourcev1.OCIRepositoryVerification{
		Provider:             "cosign",
		MatchOIDCIdentity:    identities,
		TrustedRootSecretRef: &meta.LocalObjectReference{Name: "sigstore-root"},
	}
}

func TestReconcilerSetsSourceVerified(t *testing.T) {
	goodID := sourcev1.OIDCIdentityMatch{
		Issuer:  "^" + regexp.QuoteMeta(env.issuer) + "$",
		Subject: "^" + regexp.QuoteMeta(env.subject) + "$",
	}
	otherID := sourcev1.OIDCIdentityMatch{Issuer: "accounts\\.google\\.com", Subject: "@example\\.com$"}
	cases := []struct {
		name, repo, by   string // by: tag or digest reference
		verify           *sourcev1.OCIRepositoryVerification
		secrets          map[string][]byte
		wantCode         string // "" for success
		wantProvider     string
		wantFailureCodes []string
	}{
		{name: "flux artifact keyless", repo: "flux/keyless", by: "tag", verify: keyless(goodID)},
		{name: "image keyless by digest", repo: "img/keyless", by: "digest", verify: keyless(goodID)},
		{name: "identity pairs are OR-ed", repo: "flux/keyless", by: "tag", verify: keyless(otherID, goodID)},
		{name: "no identity constraint", repo: "flux/wrong-identity", by: "tag", verify: keyless()},
		{name: "unanchored subject", repo: "img/keyless", by: "tag", verify: keyless(sourcev1.OIDCIdentityMatch{Issuer: "actions", Subject: "github"})},
		{name: "flux artifact with a key", repo: "flux/key", by: "tag", verify: &sourcev1.OCIRepositoryVerification{Provider: "cosign", SecretRef: &meta.LocalObjectReference{Name: "keys"}},
			secrets: map[string][]byte{"a-wrong.pub": env.keys["img-key"], "b-right.pub": env.keys["flux-key"], "README": []byte("not a key")}},
		{name: "image with a key by digest", repo: "img/key", by: "digest", verify: &sourcev1.OCIRepositoryVerification{Provider: "cosign", SecretRef: &meta.LocalObjectReference{Name: "keys"}},
			secrets: map[string][]byte{"cosign.pub": env.keys["img-key"]}},
		{name: "unsigned artifact", repo: "flux/unsigned", by: "tag", verify: keyless(goodID), wantCode: "no-signatures", wantProvider: "cosign keyless"},
		{name: "unsigned image by digest", repo: "img/unsigned", by: "digest", verify: keyless(goodID), wantCode: "no-signatures", wantProvider: "cosign keyless"},
		{name: "wrong identity", repo: "flux/wrong-identity", by: "tag", verify: keyless(goodID), wantCode: "no-matching-signatures", wantProvider: "cosign keyless", wantFailureCodes: []string{"identity-mismatch"}},
		{name: "tampered payload", repo: "img/tampered", by: "tag", verify: keyless(goodID), wantCode: "no-matching-signatures", wantProvider: "cosign keyless"},
		{name: "wrong key", repo: "flux/key", by: "tag", verify: &sourcev1.OCIRepositoryVerification{Provider: "cosign", SecretRef: &meta.LocalObjectReference{Name: "keys"}},
			secrets: map[string][]byte{"cosign.pub": env.keys["img-key"]}, wantCode: "no-matching-signatures", wantProvider: "cosign"},
		{name: "keyless signature, key policy", repo: "img/keyless", by: "digest", verify: &sourcev1.OCIRepositoryVerification{Provider: "cosign", SecretRef: &meta.LocalObjectReference{Name: "keys"}},
			secrets: map[string][]byte{"cosign.pub": env.keys["flux-key"]}, wantCode: "no-matching-signatures", wantProvider: "cosign"},
	}
	for backend, build := range backends {
		for _, tc := range cases {
			t.Run(backend+"/"+tc.name, func(t *testing.T) {
				digest := env.digests[tc.repo+":v1"]
				tag, pin := "v1", ""
				if tc.by == "digest" {
					tag, pin = "", digest
				}
				obj := ociRepository(tc.repo, tag, pin, tc.verify)
				secrets := map[string]map[string][]byte{"keys": tc.secrets, "sigstore-root": {"trusted_root.json": env.trustedRoot}}
				newVerifier := func(opts ...Option) (Verifier, error) {
					return build(t, opts...), nil
				}
				revision, err := reconcile(context.Background(), obj, secrets, newVerifier)
				cond := conditions.Get(obj, sourcev1.SourceVerifiedCondition)
				if cond == nil {
					t.Fatalf("no SourceVerified condition (err %v)", err)
				}
				if tc.wantCode == "" {
					if err != nil {
						t.Fatalf("verification failed: %v", err)
					}
					want := "v1@" + digest
					if tc.by == "digest" {
						want = digest
					}
					if revision != want {
						t.Fatalf("revision %q, want %q", revision, want)
					}
					if cond.Status != metav1.ConditionTrue || cond.Reason != meta.SucceededReason || cond.Message != "verified signature of revision "+want {
						t.Fatalf("condition %+v", cond)
					}
					return
				}
				var verr *Error
				if !errors.As(err, &verr) || verr.Code != tc.wantCode {
					t.Fatalf("error %v (%#v), want code %s", err, err, tc.wantCode)
				}
				if !errors.Is(err, &Error{Code: tc.wantCode}) {
					t.Fatalf("errors.Is by code failed")
				}
				for i, code := range tc.wantFailureCodes {
					if i >= len(verr.Failures) || verr.Failures[i].Code != code {
						t.Fatalf("failures %+v, want codes %v", verr.Failures, tc.wantFailureCodes)
					}
				}
				wantMsg := fmt.Sprintf("failed to verify the signature using provider '%s': %s", tc.wantProvider, verr.Message)
				if cond.Status != metav1.ConditionFalse || cond.Reason != sourcev1.VerificationError || cond.Message != wantMsg {
					t.Fatalf("condition %+v, want message %q", cond, wantMsg)
				}
			})
		}
	}
}

func TestVerifyReportsTheDigestOfATag(t *testing.T) {
	for backend, build := range backends {
		t.Run(backend, func(t *testing.T) {
			v := build(t)
			ref, _ := name.NewTag(env.registry+"/img/keyless:v1", name.Insecure)
			got, err := v.VerifyImage(context.Background(), ref)
			if err != nil {
				t.Fatal(err)
			}
			if got.Digest != env.digests["img/keyless:v1"] || got.Name != env.registry+"/img/keyless" {
				t.Fatalf("got %+v", got)
			}
			result, err := v.Verify(context.Background(), ref)
			if result != VerificationResultSuccess || err != nil {
				t.Fatalf("Verify: %v %v", result, err)
			}
		})
	}
}

func TestConcurrentCalls(t *testing.T) {
	for backend, build := range backends {
		t.Run(backend, func(t *testing.T) {
			v := build(t)
			refs := []struct {
				ref string
				ok  bool
			}{
				{env.registry + "/img/keyless@" + env.digests["img/keyless:v1"], true},
				{env.registry + "/flux/keyless:v1", true},
				{env.registry + "/flux/unsigned@" + env.digests["flux/unsigned:v1"], false},
				{env.registry + "/img/wrong-identity:v1", true},
			}
			var wg sync.WaitGroup
			errs := make(chan error, 1000)
			for i := 0; i < 1000; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					r := refs[i%len(refs)]
					ref, err := name.ParseReference(r.ref, name.Insecure)
					if err != nil {
						errs <- err
						return
					}
					ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
					defer cancel()
					result, err := v.Verify(ctx, ref)
					if (result == VerificationResultSuccess) != r.ok {
						errs <- fmt.Errorf("call %d (%s): %v %v", i, r.ref, result, err)
					}
				}(i)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

func TestCancelStopsACallQuickly(t *testing.T) {
	for backend, build := range backends {
		t.Run(backend, func(t *testing.T) {
			v := build(t)
			// A registry that accepts the connection and never answers.
			ref, _ := name.NewTag(env.silent+"/app:v1", name.Insecure)
			ctx, cancel := context.WithCancel(context.Background())
			var cancelledAt time.Time
			go func() {
				time.Sleep(300 * time.Millisecond)
				cancelledAt = time.Now()
				cancel()
			}()
			_, err := v.Verify(ctx, ref)
			returned := time.Now()
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("error %v, want context.Canceled", err)
			}
			if cancelledAt.IsZero() {
				t.Fatal("returned before the cancel")
			}
			if d := returned.Sub(cancelledAt); d > 100*time.Millisecond {
				t.Fatalf("returned %v after the cancel", d)
			}
		})
	}
}

func TestUseAfterCloseIsAnError(t *testing.T) {
	for backend, build := range backends {
		t.Run(backend, func(t *testing.T) {
			v := build(t)
			if err := v.Close(); err != nil {
				t.Fatal(err)
			}
			if err := v.Close(); err != nil {
				t.Fatal("a second Close:", err)
			}
			ref, _ := name.NewTag(env.registry+"/img/keyless:v1", name.Insecure)
			result, err := v.Verify(context.Background(), ref)
			if result != VerificationResultFailed || !errors.Is(err, ErrClosed) {
				t.Fatalf("after Close: %v %v", result, err)
			}
		})
	}
}

func TestHTTPSRefusesClientsWithoutTheCA(t *testing.T) {
	body := strings.NewReader(`{"reference": "` + env.registry + `/img/keyless:v1", "signer": {"keyless": {}}}`)
	for name, config := range map[string]*tls.Config{
		"no client certificate": {RootCAs: env.clientTLS.RootCAs},
		"another CA's client":   env.rogueTLS,
	} {
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: config}}
		resp, err := client.Post(env.apiURL+"/v1/verify/image", "application/json", body)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("%s: got HTTP %d, want a refused handshake", name, resp.StatusCode)
		}
	}
	// The client with a certificate from the CA gets answers; the registry
	// allowlist bounds what the server fetches.
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: env.clientTLS}}
	resp, err := client.Post(env.apiURL+"/v1/verify/image", "application/json",
		strings.NewReader(`{"reference": "ghcr.io/evil/app:v1", "signer": {"keyless": {}}}`))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(raw), `"registry-not-allowed"`) {
		t.Fatalf("HTTP %d %s", resp.StatusCode, raw)
	}
	// Truncated JSON and oversized bodies are refused.
	resp, err = client.Post(env.apiURL+"/v1/verify/image", "application/json", strings.NewReader(`{"reference": `))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(raw), `"invalid-request"`) {
		t.Fatalf("HTTP %d %s", resp.StatusCode, raw)
	}
	// The server may answer 413 and close before the client has written the
	// whole body: the client then sees the connection closed under its write
	// (broken pipe, reset). Either is a refusal; an answer other than 413 is not.
	resp, err = client.Post(env.apiURL+"/v1/verify/image", "application/json", strings.NewReader(strings.Repeat(" ", 2<<20)))
	if err != nil {
		if msg := err.Error(); !strings.Contains(msg, "broken pipe") && !strings.Contains(msg, "connection reset") {
			t.Fatalf("oversized body: %v", err)
		}
		return
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Fatalf("oversized body: HTTP %d", resp.StatusCode)
	}
}

func TestBadOptions(t *testing.T) {
	if _, err := NewCgo(context.Background(), WithProvider("notation")); err == nil || err.Error() != "unsupported verification provider: notation" {
		t.Fatalf("notation: %v", err)
	}
	if _, err := NewCgo(context.Background(), WithIdentities([]Identity{{Issuer: "(", Subject: "x"}})); err == nil || !strings.HasPrefix(err.Error(), "malformed issuer in identity: ( : ") {
		t.Fatalf("bad pattern: %v", err)
	}
	if _, err := NewCgo(context.Background(), WithTrustedRoot([]byte("{"))); err == nil {
		t.Fatal("a truncated trusted root was accepted")
	}
	if _, err := NewHTTPS(context.Background(), env.apiURL, &tls.Config{}, nil); err == nil {
		t.Fatal("HTTPS without a client certificate was accepted")
	}
	_, _, err := OCIRepositoryOptions(&sourcev1.OCIRepositoryVerification{Provider: "cosign", SecretRef: &meta.LocalObjectReference{Name: "keys"}}, map[string][]byte{"x": nil}, nil)
	if err == nil || err.Error() != "no public keys found in secret 'keys'" {
		t.Fatalf("no keys: %v", err)
	}
}

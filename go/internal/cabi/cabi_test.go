package cabi

import (
	"encoding/json"
	"strings"
	"testing"
)

// code is the reason code of an answer, failing the test when the answer
// is not the JSON failure the C ABI promises.
func code(t *testing.T, answer string) string {
	t.Helper()
	var a struct {
		Verified *bool `json:"verified"`
		Reason   struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"reason"`
	}
	if err := json.Unmarshal([]byte(answer), &a); err != nil {
		t.Fatalf("answer %q is not JSON: %v", answer, err)
	}
	if a.Verified == nil || *a.Verified || a.Reason.Code == "" || a.Reason.Message == "" {
		t.Fatalf("answer %q is not a failure with a reason", answer)
	}
	return a.Reason.Code
}

func want(t *testing.T, what, answer, wantCode string) {
	t.Helper()
	if got := code(t, answer); got != wantCode {
		t.Fatalf("%s: code %s, want %s (answer %s)", what, got, wantCode, answer)
	}
}

var (
	invalidUTF8 = []byte("{\"reference\": \"127.0.0.1:5000/a\xff\xfe\"}")
	digestRef   = "127.0.0.1:1/app@sha256:" + strings.Repeat("ab", 32)
	goodRequest = []byte(`{"reference": "` + digestRef + `", "signer": {"keyless": {}}}`)
)

func TestEngineNewRejectsBadConfigs(t *testing.T) {
	cases := []struct {
		name   string
		config []byte
		code   string
	}{
		{"null config", nil, "null-pointer"},
		{"invalid UTF-8", []byte("{\"trust_root\": {\"file\": \"\xc3\x28\"}}"), "invalid-utf8"},
		{"truncated JSON", []byte(`{"trust_root": {"builtin": tr`), "invalid-config"},
		{"unknown field", []byte(`{"trust_roots": {}}`), "invalid-config"},
		{"truncated inline root", []byte(`{"trust_root": {"json": "{\"mediaType\": "}}`), ""},
		{"bad proxy", []byte(`{"registry": {"proxy": {"url": "::not a url"}}}`), "invalid-config"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, errJSON := EngineNew(tc.config, true)
			if e != nil {
				e.Free()
				t.Fatal("an engine was built")
			}
			got := code(t, errJSON)
			if tc.code != "" && got != tc.code {
				t.Fatalf("code %s, want %s (%s)", got, tc.code, errJSON)
			}
		})
	}
	// A NULL error_out is allowed: the failure is only the NULL engine.
	if e, _ := EngineNew(nil, false); e != nil {
		t.Fatal("an engine was built from NULL")
	}
}

func TestCallsRejectBadInput(t *testing.T) {
	e, errJSON := EngineNew([]byte(`{}`), true)
	if e == nil {
		t.Fatalf("engine: %s", errJSON)
	}
	defer e.Free()
	var null *Engine
	want(t, "image, NULL engine", null.Image(goodRequest, 1000), "null-pointer")
	want(t, "artifact, NULL engine", null.Artifact([]byte(`{}`), 1000), "null-pointer")
	want(t, "trust root, NULL engine", null.SetTrustedRoot([]byte(`{}`)), "null-pointer")
	want(t, "image, NULL request", e.Image(nil, 1000), "null-pointer")
	want(t, "artifact, NULL request", e.Artifact(nil, 1000), "null-pointer")
	want(t, "trust root, NULL root", e.SetTrustedRoot(nil), "null-pointer")
	want(t, "image, invalid UTF-8", e.Image(invalidUTF8, 1000), "invalid-utf8")
	want(t, "artifact, invalid UTF-8", e.Artifact([]byte("{\"kind\": \"blob\xff\"}"), 1000), "invalid-utf8")
	want(t, "trust root, invalid UTF-8", e.SetTrustedRoot([]byte("{\"a\": \"\xff\"}")), "invalid-utf8")
	for n := 1; n < len(goodRequest); n += 7 {
		want(t, "image, truncated JSON", e.Image(goodRequest[:n], 1000), "invalid-request")
	}
	want(t, "artifact, truncated JSON", e.Artifact([]byte(`{"kind": "blob", "artifact_sha256": "ab`), 1000), "invalid-request")
	want(t, "image, not JSON", e.Image([]byte("\x01\x02"), 1000), "invalid-request")
	want(t, "image, empty", e.Image([]byte{}, 1000), "invalid-request")
	if got := code(t, e.SetTrustedRoot([]byte(`{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1", "tlogs": [`))); got == "" {
		t.Fatal("a truncated trust root was accepted")
	}
	// The engine still works after all that: a cancelled call answers
	// cancelled (no registry is reached).
	want(t, "image, cancelled", e.ImageCancelled(goodRequest), "cancelled")
	NullsAreIgnored()
	if v := Version(); v == "" {
		t.Fatal("no version")
	}
}

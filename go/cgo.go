//go:build cgo

package verify

/*
#cgo CFLAGS: -I${SRCDIR}/../crates/verify-ffi/include
#include <stdlib.h>
#include "verify.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// NewCgo builds a Verifier on the embedded core (crates/verify-ffi's static
// library: ../target/release/libverify_ffi.a, or ../target/debug's with
// the build tag verify_debug; see link_*.go). The
// engine, its trust root and verdict cache are built once and shared by
// every call.
func NewCgo(ctx context.Context, opts ...Option) (Verifier, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	config, err := json.Marshal(engineConfig(o))
	if err != nil {
		return nil, err
	}
	cConfig := C.CString(string(config))
	defer C.free(unsafe.Pointer(cConfig))
	var cErr *C.char
	engine := C.verify_engine_new(cConfig, &cErr)
	if engine == nil {
		defer C.verify_string_free(cErr)
		_, err := decodeAnswer([]byte(C.GoString(cErr)))
		return nil, err
	}
	return newVerifier(o, &cgoBackend{engine: engine}, "")
}

// engineConfig is the engine's JSON configuration
// (crates/verify-api/src/config.rs).
func engineConfig(o *options) map[string]any {
	trustRoot := map[string]any{"builtin": true}
	if len(o.trustedRoot) > 0 {
		trustRoot = map[string]any{"json": string(o.trustedRoot)}
	}
	registry := map[string]any{"allow_http": o.insecureHTTP}
	if len(o.allowed) > 0 {
		registry["allowed"] = o.allowed
	}
	if len(o.registryCA) > 0 {
		cas := make([]string, len(o.registryCA))
		for i, ca := range o.registryCA {
			cas[i] = string(ca)
		}
		registry["ca_pem"] = cas
	}
	if o.proxy != nil {
		proxy := map[string]any{"url": o.proxy.String()}
		if len(o.noProxy) > 0 {
			proxy["no_proxy"] = strings.Join(o.noProxy, ",")
		}
		registry["proxy"] = proxy
	}
	config := map[string]any{"trust_root": trustRoot, "registry": registry}
	if o.rekorURL != "" {
		config["rekor_url"] = o.rekorURL
	}
	switch {
	case o.cacheSize > 0:
		config["cache"] = map[string]any{"capacity": o.cacheSize}
	case o.cacheSize < 0:
		config["cache"] = map[string]any{"capacity": 0}
	}
	return config
}

// cgoBackend owns one engine handle. Calls hold the read lock for their
// duration, Close the write lock: the handle is freed only once no call
// uses it, and never used after.
type cgoBackend struct {
	mu     sync.RWMutex
	engine *C.verify_engine
}

func (b *cgoBackend) image(ctx context.Context, request []byte, timeout time.Duration) ([]byte, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.engine == nil {
		return nil, ErrClosed
	}
	cRequest := C.CString(string(request))
	defer C.free(unsafe.Pointer(cRequest))
	token := C.verify_cancel_new()
	// The context's cancel reaches the core through the token, from
	// whatever goroutine cancels; the token is freed only after that
	// callback has finished.
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		C.verify_cancel_cancel(token)
		close(fired)
	})
	ms := timeout.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	out := C.verify_image(b.engine, cRequest, C.uint64_t(ms), token)
	if !stop() {
		<-fired
	}
	C.verify_cancel_free(token)
	defer C.verify_string_free(out)
	return []byte(C.GoString(out)), nil
}

func (b *cgoBackend) close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.engine != nil {
		C.verify_engine_free(b.engine)
		b.engine = nil
	}
	return nil
}

// setTrustedRoot passes a trusted_root.json the host fetched (e.g. through
// TUF) to the engine.
func (b *cgoBackend) setTrustedRoot(root []byte) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.engine == nil {
		return ErrClosed
	}
	cRoot := C.CString(string(root))
	defer C.free(unsafe.Pointer(cRoot))
	out := C.verify_engine_set_trusted_root(b.engine, cRoot)
	defer C.verify_string_free(out)
	var a struct {
		OK bool `json:"ok"`
	}
	raw := []byte(C.GoString(out))
	if err := json.Unmarshal(raw, &a); err == nil && a.OK {
		return nil
	}
	_, err := decodeAnswer(raw)
	return err
}

// SetTrustedRoot replaces the trust root of a Verifier built by NewCgo.
func SetTrustedRoot(v Verifier, trustedRootJSON []byte) error {
	if impl, ok := v.(*verifier); ok {
		if b, ok := impl.backend.(*cgoBackend); ok {
			return b.setTrustedRoot(trustedRootJSON)
		}
	}
	return &Error{Code: "unsupported", Message: "SetTrustedRoot needs a verifier built by NewCgo"}
}

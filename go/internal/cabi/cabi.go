//go:build cgo

// Package cabi calls the C ABI (crates/verify-ffi/include/verify.h) with
// exactly the bytes it is given, null pointers included: the Go tests use
// it to check what a careless C caller gets (null pointers, invalid UTF-8,
// truncated JSON), which the verify package never sends.
package cabi

/*
#cgo CFLAGS: -I${SRCDIR}/../../../crates/verify-ffi/include
#include <stdlib.h>
#include "verify.h"
*/
import "C"

import "unsafe"

// Engine is an engine handle, or nil.
type Engine struct {
	p *C.verify_engine
}

// cString copies b into C memory with a terminating NUL; nil is NULL.
func cString(b []byte) *C.char {
	if b == nil {
		return nil
	}
	p := C.malloc(C.size_t(len(b) + 1))
	buf := unsafe.Slice((*byte)(p), len(b)+1)
	copy(buf, b)
	buf[len(b)] = 0
	return (*C.char)(p)
}

func take(s *C.char) string {
	if s == nil {
		return ""
	}
	defer C.verify_string_free(s)
	return C.GoString(s)
}

// EngineNew calls verify_engine_new with config (nil: NULL). withErr false
// passes a NULL error_out. It returns the engine (nil on failure) and the
// error JSON.
func EngineNew(config []byte, withErr bool) (*Engine, string) {
	c := cString(config)
	defer C.free(unsafe.Pointer(c))
	var errOut *C.char
	var e *C.verify_engine
	if withErr {
		e = C.verify_engine_new(c, &errOut)
	} else {
		e = C.verify_engine_new(c, nil)
	}
	if e == nil {
		return nil, take(errOut)
	}
	return &Engine{p: e}, ""
}

func (e *Engine) ptr() *C.verify_engine {
	if e == nil {
		return nil
	}
	return e.p
}

// Free calls verify_engine_free (a nil Engine passes NULL).
func (e *Engine) Free() {
	C.verify_engine_free(e.ptr())
}

// Image calls verify_image with request (nil: NULL) and no cancel token.
func (e *Engine) Image(request []byte, timeoutMs uint64) string {
	c := cString(request)
	defer C.free(unsafe.Pointer(c))
	return take(C.verify_image(e.ptr(), c, C.uint64_t(timeoutMs), nil))
}

// Artifact calls verify_artifact with request (nil: NULL).
func (e *Engine) Artifact(request []byte, timeoutMs uint64) string {
	c := cString(request)
	defer C.free(unsafe.Pointer(c))
	return take(C.verify_artifact(e.ptr(), c, C.uint64_t(timeoutMs), nil))
}

// SetTrustedRoot calls verify_engine_set_trusted_root with root (nil: NULL).
func (e *Engine) SetTrustedRoot(root []byte) string {
	c := cString(root)
	defer C.free(unsafe.Pointer(c))
	return take(C.verify_engine_set_trusted_root(e.ptr(), c))
}

// ImageCancelled calls verify_image with a token cancelled before the call.
func (e *Engine) ImageCancelled(request []byte) string {
	c := cString(request)
	defer C.free(unsafe.Pointer(c))
	token := C.verify_cancel_new()
	defer C.verify_cancel_free(token)
	C.verify_cancel_cancel(token)
	return take(C.verify_image(e.ptr(), c, 0, token))
}

// NullsAreIgnored calls the functions documented to ignore NULL.
func NullsAreIgnored() {
	C.verify_string_free(nil)
	C.verify_cancel_cancel(nil)
	C.verify_cancel_free(nil)
	C.verify_engine_free(nil)
}

// Version is verify_version().
func Version() string {
	return C.GoString(C.verify_version())
}

//go:build cgo && verify_debug

package cabi

// #cgo LDFLAGS: ${SRCDIR}/../../../target/debug/libverify_ffi.a -ldl -lm -lpthread
import "C"

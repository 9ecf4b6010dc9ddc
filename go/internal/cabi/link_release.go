//go:build cgo && !verify_debug

package cabi

// #cgo LDFLAGS: ${SRCDIR}/../../../target/release/libverify_ffi.a -ldl -lm -lpthread
import "C"

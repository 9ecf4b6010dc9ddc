//go:build cgo && verify_debug

package verify

// The debug build of the core (go test -tags verify_debug): cargo build -p verify-ffi.

// #cgo LDFLAGS: ${SRCDIR}/../target/debug/libverify_ffi.a -ldl -lm -lpthread
import "C"

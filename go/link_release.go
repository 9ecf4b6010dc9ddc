//go:build cgo && !verify_debug

package verify

// The release build of the core: cargo build --release -p verify-ffi.

// #cgo LDFLAGS: ${SRCDIR}/../target/release/libverify_ffi.a -ldl -lm -lpthread
import "C"

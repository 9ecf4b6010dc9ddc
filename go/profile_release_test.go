//go:build !verify_debug

package verify

const buildProfile = "release"

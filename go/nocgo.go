//go:build !cgo

package verify

import (
	"context"
	"errors"
)

// NewCgo needs cgo; this binary was built with CGO_ENABLED=0: use NewHTTPS.
func NewCgo(ctx context.Context, opts ...Option) (Verifier, error) {
	return nil, errors.New("verify: built without cgo; use NewHTTPS")
}

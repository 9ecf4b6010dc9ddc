package verify

import (
	"context"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

// Benchmarks: ns per verification of a keyless-signed image by digest,
// cached (the verdict is in the engine's cache) and fresh (no cache: the
// signature manifest and payload are fetched from the loopback registry and
// verified), through cgo and through HTTPS (one kept-alive connection per
// parallel caller).
//
//	go test -run XXX -bench . -benchtime 2000x

func benchVerify(b *testing.B, v Verifier, ref name.Reference) {
	ctx := context.Background()
	if _, err := v.Verify(ctx, ref); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.Verify(ctx, ref); err != nil {
			b.Fatal(err)
		}
	}
}

func benchRef(b *testing.B) name.Reference {
	ref, err := name.NewDigest(env.registry+"/img/keyless@"+env.digests["img/keyless:v1"], name.Insecure)
	if err != nil {
		b.Fatal(err)
	}
	return ref
}

func BenchmarkCgoCached(b *testing.B) {
	benchVerify(b, backends["cgo"](b), benchRef(b))
}

func BenchmarkCgoFresh(b *testing.B) {
	benchVerify(b, backends["cgo"](b, WithCacheSize(-1)), benchRef(b))
}

func BenchmarkHTTPSCached(b *testing.B) {
	benchVerify(b, backends["https"](b), benchRef(b))
}

func BenchmarkHTTPSFresh(b *testing.B) {
	v, err := NewHTTPS(context.Background(), env.apiNoCacheURL, env.clientTLS, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	benchVerify(b, v, benchRef(b))
}

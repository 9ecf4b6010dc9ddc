package verify

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

// Benchmarks: ns per verification of a keyless-signed image by digest,
// cached (the verdict is in the engine's cache) and fresh (no cache: the
// signature manifest and payload are fetched from the loopback registry and
// verified), through cgo, through HTTPS (kept-alive connections), and by a
// Rust program calling the engine in-process (the baseline: the same
// engine configuration and request, examples/verify-inprocess-bench).
//
//	go test -run XXX -bench . -benchtime 2000x   (bench/go.sh prints the ratios)

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
	return digestRef(b, "img/keyless")
}

func BenchmarkCgoCached(b *testing.B) {
	benchVerify(b, backends["cgo"](b), benchRef(b))
}

// By tag: the verdict is cached, the tag's resolution is one registry
// request (TestATagCostsOneRegistryRequestOnTopOfTheCache counts it).
func BenchmarkCgoCachedTag(b *testing.B) {
	benchVerify(b, backends["cgo"](b), benchTag(b))
}

func benchTag(b *testing.B) name.Reference {
	tag, err := name.NewTag(env.registry+"/img/keyless:v1", name.Insecure)
	if err != nil {
		b.Fatal(err)
	}
	return tag
}

func BenchmarkCgoFresh(b *testing.B) {
	benchVerify(b, backends["cgo"](b, WithCacheSize(-1)), benchRef(b))
}

// The HTTPS figures use servers holding the test root (apiFileURL,
// apiNoCacheURL), as the cgo engine does: no trust root in the requests.
func BenchmarkHTTPSCached(b *testing.B) {
	benchHTTPS(b, env.apiFileURL)
}

func BenchmarkHTTPSFresh(b *testing.B) {
	benchHTTPS(b, env.apiNoCacheURL)
}

func benchHTTPS(b *testing.B, endpoint string) {
	v, err := NewHTTPS(context.Background(), endpoint, env.clientTLS, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	benchVerify(b, v, benchRef(b))
}

func BenchmarkRustInProcessCached(b *testing.B) {
	benchRust(b, WithTrustedRoot(env.trustedRoot))
}

func BenchmarkRustInProcessFresh(b *testing.B) {
	benchRust(b, WithTrustedRoot(env.trustedRoot), WithCacheSize(-1))
}

// benchRust runs the Rust baseline for b.N verifications with the engine
// configuration and the request the cgo backend builds for these options,
// and reports its time per verification as this benchmark's ns/op.
func benchRust(b *testing.B, opts ...Option) {
	o, err := buildOptions(opts)
	if err != nil {
		b.Fatal(err)
	}
	config, _ := json.Marshal(engineConfig(o))
	request, _ := json.Marshal(imageRequest{Reference: benchRef(b).Name(), Signer: o.signer(), Summary: true})
	dir := b.TempDir()
	configFile, requestFile := filepath.Join(dir, "engine.json"), filepath.Join(dir, "request.json")
	if err := os.WriteFile(configFile, config, 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(requestFile, request, 0o600); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(targetBin(filepath.Join("examples", "verify-inprocess-bench")),
		"--config", configFile, "--request", requestFile, "--iterations", strconv.Itoa(b.N))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("verify-inprocess-bench (build it: cargo build --release -p verify-api --example verify-inprocess-bench): %v", err)
	}
	var result struct {
		NsPerOp float64 `json:"ns_per_op"`
		Cached  bool    `json:"cached"`
	}
	if err := json.Unmarshal(out, &result); err != nil {
		b.Fatalf("verify-inprocess-bench answered %q: %v", out, err)
	}
	if result.Cached != (o.cacheSize >= 0) {
		b.Fatalf("verify-inprocess-bench: cached %v, not what was asked", result.Cached)
	}
	b.ReportMetric(result.NsPerOp, "ns/op")
}

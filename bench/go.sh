#!/usr/bin/env bash
# The Go package's benchmarks side by side: a verification of a keyless-signed
# image by digest, cached and fresh, through cgo, through the HTTPS verify API
# (mTLS, kept-alive connections) and by a Rust program calling the engine
# in-process (the baseline), all on the same registry, signatures and trust root
# in one `go test -bench` run. Prints ns/op and the ratios to the baseline.
#
#   bench/go.sh              (needs the release builds scripts/test.sh makes)
#   BENCHTIME=500x bench/go.sh
set -euo pipefail
cd "$(dirname "$0")/.."
benchtime="${BENCHTIME:-2000x}"
for f in target/release/libverify_ffi.a target/release/verify-testkit \
  target/release/examples/verify-api-server target/release/examples/verify-inprocess-bench; do
  [ -e "$f" ] || { echo "bench/go.sh: $f is missing; cargo build --release -p verify-ffi -p verify-testkit -p verify-api --examples" >&2; exit 2; }
done
out="$(cd go && go test -run XXX -bench . -benchtime "$benchtime" -count 1 .)"
echo "$out" | grep -E '^Benchmark'
echo "$out" | awk '
  /^Benchmark/ { name = $1; sub(/-[0-9]+$/, "", name); sub(/^Benchmark/, "", name); ns[name] = $3 }
  END {
    split("Cached Fresh", kinds, " ")
    for (i = 1; i <= 2; i++) {
      k = kinds[i]; base = ns["RustInProcess" k]
      if (base == "") continue
      printf "%-6s rust in-process %10.0f ns   cgo %10.0f ns (%.2fx, +%.1f us)   https %10.0f ns (%.2fx, +%.1f us)\n", \
        k, base, ns["Cgo" k], ns["Cgo" k] / base, (ns["Cgo" k] - base) / 1000, \
        ns["HTTPS" k], ns["HTTPS" k] / base, (ns["HTTPS" k] - base) / 1000
    }
    if (ns["CgoCachedTag"] != "")
      printf "Tag    cgo cached by tag %10.0f ns (+%.1f us over the digest: one registry request)\n", \
        ns["CgoCachedTag"], (ns["CgoCachedTag"] - ns["CgoCached"]) / 1000
  }'

#!/usr/bin/env bash
# The project's test command (README.md, and what .ci/run calls):
# formatting, lints, the workspace's tests (which start their own registry,
# test Sigstore and HTTPS servers), then the shared conformance cases against
# the release binary. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${SHARED:-../shared}"

scripts/setup.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo build --release (verify, verify-admission)"
# verify-admission too: crates/verify-admission/tests/own_release.rs builds
# our own SBOMs and image from these release binaries (issue 14).
cargo build --release --locked -p verify-cli -p verify-admission
echo "== cargo test"
# cargo's exit status decides; the output is kept in full and summarised.
set +e
cargo test --workspace --locked >target/test-output.txt 2>&1
rc=$?
set -e
grep -E '^(test result|running|error|failures|---- )|panicked' target/test-output.txt || true
if [ "$rc" -ne 0 ]; then
  echo "cargo test failed (exit status $rc); full output in target/test-output.txt" >&2
  grep -A30 -E '^failures:' target/test-output.txt | head -120 >&2 || true
  tail -40 target/test-output.txt >&2
  exit "$rc"
fi
passed=$(grep -E '^test result:' target/test-output.txt | sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\1 \2/' | awk '{p+=$1; f+=$2} END {print p" passed, "f" failed"}')
echo "cargo-test: $passed"

echo "== conformance (Sigstore bundles)"
"$SHARED/conformance/run" --entry target/release/verify --cases "$SHARED/conformance/sigstore/cases" --label sigstore
echo "== conformance (SLSA: verify-artifact and verify-image, slsa-verifier's cases)"
"$SHARED/conformance/run" --entry target/release/verify --cases "$SHARED/conformance/slsa/cases" --label slsa

# -- FIPS build (issue 14) ----------------------------------------------------
# Appended step. The same binaries with `--features fips` (aws-lc-rs on the
# AWS-LC FIPS module, see README "FIPS build"), into the same target dir: only
# the crates whose features differ rebuild. The FIPS binaries are copied to
# target/release/fips/ and the normal ones restored (cargo re-links nothing:
# both feature sets' artifacts stay cached). Then: the non-FIPS aws-lc-sys is
# not linked, the binaries say they are in FIPS mode, both conformance sets
# pass with the FIPS `verify`, and a key the module does not approve is
# refused by the FIPS build only.
scripts/fips-check.sh

# -- Go package (go/): the C ABI through cgo and the HTTPS verify API --------
# Appended step (issue 9). Builds what the Go tests link and start (the static
# library, the test Sigstore's signer, the test verify API server, the Rust
# in-process benchmark baseline), checks
# that the committed C header matches the code, then go vet, gofmt and
# `go test -race` (a real docker-registry on loopback, both backends).
echo "== C header (cbindgen) up to date"
scripts/gen-header.sh --check
echo "== go: build the Rust parts it links and runs"
# (Three invocations: a target flag such as --bin applies to every -p.)
cargo build --release --locked -p verify-ffi
cargo build --release --locked -p verify-testkit --bin verify-testkit
cargo build --release --locked -p verify-api --example verify-api-server --example verify-inprocess-bench
echo "== go vet / gofmt / go test -race"
(
  cd go
  go vet ./...
  unformatted="$(gofmt -l .)"
  if [ -n "$unformatted" ]; then
    echo "gofmt: not formatted: $unformatted" >&2
    exit 1
  fi
  go test -race -count=1 ./...
)

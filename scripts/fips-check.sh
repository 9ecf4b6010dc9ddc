#!/usr/bin/env bash
# The FIPS build and its checks (README, "FIPS build"); scripts/test.sh runs
# it after the normal release build and its conformance runs.
#
# 1. Build `verify` and `verify-admission` with `--features fips` into the
#    same target dir (only crates whose features differ rebuild), copy them to
#    target/release/fips/, and restore the normal binaries (both feature
#    sets' artifacts stay cached, so that is a re-link-free no-op).
# 2. The non-FIPS aws-lc-sys is not linked into the FIPS binaries (it is in
#    the dependency graph, see README, but aws-lc-rs built with `fips` never
#    references it): none of its prefixed symbols may be present, and the
#    FIPS module's must.
# 3. `--version` says `fips: on (AWS-LC FIPS ...)` / `fips: off`.
# 4. Both shared conformance sets with the FIPS `verify`.
# 5. The key gate: an RSA-1024 key is refused by the FIPS build with
#    `algorithm-not-fips-approved`, before any signature check; the normal
#    build does not refuse the algorithm (the signature check itself fails),
#    and an approved (P-256) key-based bundle verifies in both.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${SHARED:-../shared}"
FIPS_DIR=target/release/fips

echo "== cargo build --release --features fips (verify, verify-admission)"
start=$(date +%s)
cargo build --release --locked -p verify-cli -p verify-admission --features fips
echo "fips-build-seconds: $(($(date +%s) - start))"
mkdir -p "$FIPS_DIR"
cp target/release/verify target/release/verify-admission "$FIPS_DIR/"
cargo build --release --locked -p verify-cli -p verify-admission

fail() {
  echo "fips-check: $*" >&2
  exit 1
}

echo "== FIPS binaries: module linked, non-FIPS aws-lc-sys not linked, --version"
for bin in verify verify-admission; do
  syms="$(nm --defined-only "$FIPS_DIR/$bin")"
  nonfips=$(grep -c ' aws_lc_0_' <<<"$syms" || true)
  fips=$(grep -c ' aws_lc_fips_' <<<"$syms" || true)
  [ "$nonfips" -eq 0 ] || fail "$bin: $nonfips symbols of the non-FIPS aws-lc-sys are linked"
  [ "$fips" -gt 0 ] || fail "$bin: no symbol of the AWS-LC FIPS module (aws_lc_fips_*)"
  v="$("$FIPS_DIR/$bin" --version)"
  [[ "$(sed -n 1p <<<"$v")" =~ ^$bin\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "$bin --version: $v"
  grep -qx 'fips: on (AWS-LC FIPS [0-9.]*)' <<<"$(sed -n 2p <<<"$v")" || fail "$bin (FIPS) --version: $v"
  v="$("target/release/$bin" --version)"
  [ "$(sed -n 2p <<<"$v")" = "fips: off" ] || fail "$bin (normal) --version: $v"
  echo "$bin: $fips FIPS-module symbols, 0 non-FIPS; $(sed -n 2p <<<"$("$FIPS_DIR/$bin" --version)")"
done

echo "== conformance with the FIPS verify (Sigstore bundles)"
"$SHARED/conformance/run" --entry "$FIPS_DIR/verify" --cases "$SHARED/conformance/sigstore/cases" --label sigstore-fips
echo "== conformance with the FIPS verify (SLSA)"
"$SHARED/conformance/run" --entry "$FIPS_DIR/verify" --cases "$SHARED/conformance/slsa/cases" --label slsa-fips

echo "== FIPS key gate"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo build --release --locked -p verify-testkit --bin verify-testkit
target/release/verify-testkit gen-example --out "$work"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$work/rsa1024.pem" 2>/dev/null
openssl pkey -in "$work/rsa1024.pem" -pubout -out "$work/rsa1024.pub"
blob() {
  local bin="$1" key="$2"
  set +e
  "$bin" blob --bundle "$work/artifact.key.sigstore.json" --key "$key" \
    --trusted-root "$work/trusted_root.json" -o json "$work/artifact"
  echo "exit=$?"
  set -e
}
out="$(blob "$FIPS_DIR/verify" "$work/key.pub")"
grep -q '"verified":true' <<<"$out" && grep -q '"fips":{"enabled":true' <<<"$out" \
  || fail "FIPS build, P-256 key: $out"
out="$(blob target/release/verify "$work/key.pub")"
grep -q '"verified":true' <<<"$out" && grep -q '"fips":{"enabled":false' <<<"$out" \
  || fail "normal build, P-256 key: $out"
out="$(blob "$FIPS_DIR/verify" "$work/rsa1024.pub")"
grep -q '"code":"algorithm-not-fips-approved"' <<<"$out" && grep -q 'RSA-1024' <<<"$out" \
  && grep -qx 'exit=1' <<<"$(tail -1 <<<"$out")" || fail "FIPS build, RSA-1024 key: $out"
out="$(blob target/release/verify "$work/rsa1024.pub")"
grep -q '"verified":false' <<<"$out" && ! grep -q 'algorithm-not-fips-approved' <<<"$out" \
  || fail "normal build, RSA-1024 key: $out"
echo "fips-check: RSA-1024 refused by the FIPS build only; P-256 verified by both"

#!/usr/bin/env bash
# Build sigstore-rust's own conformance client (crates/sigstore-conformance, not published on
# crates.io) OUTSIDE this repository, for bench/cli.sh to time beside `verify`. Its source is
# read from a checkout of https://github.com/sigstore/sigstore-rust and built against the
# crates.io releases of sigstore-* that verify-core uses (same sigstore-verify underneath),
# with the default release profile, as that project builds it. Nothing is vendored.
#
#   bench/setup-sigstore-rust.sh                  # clone into $WORK, build, print the binary path
#   SIGSTORE_RUST_SRC=/path/to/checkout bench/setup-sigstore-rust.sh
#   SIGSTORE_RUST_WORK=/tmp/srconf bench/setup-sigstore-rust.sh   # where to build (default below)
#
# Then: SIGSTORE_RUST_CONFORMANCE=$WORK/target/release/conformance bench/cli.sh
# Remove $WORK afterwards (its target/ is about 1 GB).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
work="${SIGSTORE_RUST_WORK:-/tmp/sigstore-rust-conformance}"
case "$work" in
    "$repo"/*) echo "setup-sigstore-rust.sh: build outside the repository, not in $work" >&2; exit 2 ;;
esac
# The sigstore-verify version verify-core is built against, from Cargo.lock.
version="$(awk '/^name = "sigstore-verify"$/ {getline; gsub(/[^0-9.]/, ""); print; exit}' "$repo/Cargo.lock")"
[[ -n "$version" ]] || { echo "setup-sigstore-rust.sh: no sigstore-verify in Cargo.lock" >&2; exit 1; }

src="${SIGSTORE_RUST_SRC:-$work/src-checkout}"
if [[ ! -f "$src/crates/sigstore-conformance/src/main.rs" ]]; then
    git clone --depth 1 https://github.com/sigstore/sigstore-rust "$src"
fi
mkdir -p "$work/src"
cp "$src/crates/sigstore-conformance/src/main.rs" "$work/src/main.rs"
# Written against sigstore-* 0.11: rename what 0.15 renamed (see the script's doc).
python3 "$here/port-sigstore-conformance.py" "$work/src/main.rs"
{
    echo '# Bench-only build of sigstore-rust'"'"'s conformance client; see bench/setup-sigstore-rust.sh.'
    echo '[package]'
    echo 'name = "sigstore-conformance"'
    echo 'version = "0.0.0"'
    echo 'edition = "2021"'
    echo 'publish = false'
    echo '[[bin]]'
    echo 'name = "conformance"'
    echo 'path = "src/main.rs"'
    echo '[dependencies]'
    for c in sign verify types crypto fulcio oidc rekor tsa trust-root bundle; do
        echo "sigstore-$c = \"=$version\""
    done
    echo 'tokio = { version = "1.47", features = ["full"] }'
    echo 'serde_json = "1.0"'
    echo 'base64 = "0.22"'
    echo 'hex = "0.4"'
    echo 'x509-cert = { version = "0.2", features = ["builder", "sct"] }'
    echo '[workspace]'
} > "$work/Cargo.toml"
(cd "$work" && cargo build --release --target-dir "$work/target" >&2)
echo "$work/target/release/conformance"

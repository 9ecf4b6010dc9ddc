#!/usr/bin/env bash
# The SPDX 2.3 JSON SBOM of one released binary and feature set.
#
#   scripts/sbom.sh BIN FEATURES OUT [BINARY_FILE]
#
# BIN          verify or verify-admission;
# FEATURES     the cargo features of that build, comma-separated ("" for the
#              default features; e.g. "fips");
# OUT          the SPDX JSON file to write;
# BINARY_FILE  optionally, the built binary, recorded (SHA1, SHA256) as the
#              file the root package generates.
#
# The graph is cargo-cyclonedx's (pinned in scripts/setup.sh): `cargo
# metadata` for the features given and the host target only, without
# dev-dependencies, every crate with its version, declared license, purl and
# Cargo.lock checksum. Build-only crates (build scripts' dependencies, such
# as cc or cmake) are kept and marked: CycloneDX scope "excluded", SPDX
# BUILD_DEPENDENCY_OF. scripts/cdx2spdx.py then writes it as SPDX 2.3 (see
# its doc for the field mapping and the supplier element).
#
# `cargo metadata` resolves features for the whole workspace at once, which
# brings in crates that only other members' features need; `cargo tree -p`
# for the same features and target resolves this one package, and the
# mapping keeps only the crates it lists (see scripts/cdx2spdx.py).
set -euo pipefail

if [ $# -lt 3 ] || [ $# -gt 4 ]; then
  echo "usage: $0 BIN FEATURES OUT [BINARY_FILE]" >&2
  exit 2
fi
BIN="$1"
FEATURES="$2"
OUT="$3"
BINARY_FILE="${4:-}"
case "$BIN" in
  verify) CRATE=verify-cli ;;
  verify-admission) CRATE=verify-admission ;;
  *) echo "sbom.sh: BIN is verify or verify-admission, not $BIN" >&2; exit 2 ;;
esac
if [ -n "$BINARY_FILE" ]; then
  BINARY_FILE="$(realpath "$BINARY_FILE")"
fi
OUT="$(realpath -m "$OUT")"
cd "$(dirname "$0")/.."
command -v cargo-cyclonedx >/dev/null || { echo "sbom.sh: cargo-cyclonedx is needed (scripts/setup.sh)" >&2; exit 2; }

export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"
HOST="$(rustc -vV | sed -n 's/^host: //p')"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/verify-sbom.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# cargo-cyclonedx writes one file next to each workspace member's Cargo.toml
# (it has no option to pick one member); a unique file name, the wanted one
# moved out and the others deleted, keeps the checkout clean.
NAME="sbom-$$-$RANDOM"
trap 'rm -rf "$WORK"; find crates -maxdepth 2 -name "$NAME.json" -delete' EXIT
args=(cyclonedx --manifest-path "crates/$CRATE/Cargo.toml" --format json --spec-version 1.5
  --target "$HOST" --all --override-filename "$NAME" -qq)
if [ -n "$FEATURES" ]; then
  args+=(--features "$FEATURES")
fi
cargo "${args[@]}"
mv "crates/$CRATE/$NAME.json" "$WORK/bom.cdx.json"

tree=(tree --locked --offline -p "$CRATE" -e normal,build --target "$HOST" --prefix none --format '{p}')
if [ -n "$FEATURES" ]; then
  tree+=(--features "$FEATURES")
fi
cargo "${tree[@]}" >"$WORK/resolved.txt"

mkdir -p "$(dirname "$OUT")"
if [ -n "$BINARY_FILE" ]; then
  python3 scripts/cdx2spdx.py "$WORK/bom.cdx.json" "$BIN" "$FEATURES" "$WORK/resolved.txt" "$OUT" "$BINARY_FILE"
else
  python3 scripts/cdx2spdx.py "$WORK/bom.cdx.json" "$BIN" "$FEATURES" "$WORK/resolved.txt" "$OUT"
fi

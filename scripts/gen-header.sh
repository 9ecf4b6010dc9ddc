#!/usr/bin/env bash
# Generate crates/verify-ffi/include/verify.h with cbindgen.
# `scripts/gen-header.sh --check` fails when the committed header is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
crate=crates/verify-ffi
out="$crate/include/verify.h"
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
cbindgen --quiet --config "$crate/cbindgen.toml" --crate verify-ffi --output "$tmp" "$crate"
if [ "${1:-}" = "--check" ]; then
  if ! cmp -s "$tmp" "$out"; then
    echo "gen-header: $out is stale; run scripts/gen-header.sh and commit it" >&2
    diff -u "$out" "$tmp" >&2 || true
    exit 1
  fi
  echo "gen-header: $out is up to date"
else
  mkdir -p "$crate/include"
  cp "$tmp" "$out"
  echo "gen-header: wrote $out"
fi

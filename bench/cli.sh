#!/usr/bin/env bash
# Time the `verify` CLI side by side with sigstore-rust's conformance client (built by
# bench/setup-sigstore-rust.sh, outside the repository), sigstore-python and sigstore-js over the
# shared Sigstore conformance cases, and one happy-path case with hyperfine.
# Peers come from bench/setup-peers.sh; a missing peer is skipped with a hint.
#
#   bench/cli.sh                      # build verify if missing, run everything
#   bench/cli.sh --build              # rebuild verify first (cargo build --release)
#   bench/cli.sh --only ours,rust     # a subset: ours, rust, python, js
#   bench/cli.sh --rounds 3 --peer-rounds 1 --no-hyperfine --json out.json
#
# CONFORMANCE_DIR overrides where the shared cases are (default: ../shared/conformance
# beside the repository), PEERS_DIR where the peers are (default: bench/.peers, as for
# setup-peers.sh); see bench/README.md for what each figure means.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
cd "$repo"

target="${CARGO_TARGET_DIR:-$repo/target}"
bin="$target/release/verify"
build=0
for arg in "$@"; do
    [[ "$arg" == --build ]] && build=1
done
if [[ "$build" == 1 || ! -x "$bin" ]]; then
    command -v cargo >/dev/null 2>&1 || {
        echo "cli.sh: cargo not found and $bin is missing" >&2
        exit 1
    }
    echo "cli.sh: building $bin (cargo build --release -p verify-cli)" >&2
    cargo build --release -p verify-cli >&2
fi

command -v python3 >/dev/null 2>&1 || {
    echo "cli.sh: python3 not found (it runs the conformance runner)" >&2
    exit 1
}
peers="${PEERS_DIR:-$here/.peers}"
if [[ ! -d "$peers/venv" || ! -d "$peers/node/node_modules" ]]; then
    echo "cli.sh: peers are not (all) installed: run bench/setup-peers.sh first to time them too" >&2
fi
VERIFY_BIN="$bin" exec python3 "$here/cli.py" "$@"

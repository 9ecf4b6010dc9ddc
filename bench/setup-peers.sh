#!/usr/bin/env bash
# Install the peer verifiers that bench/cli.sh times side by side with ours:
#   - sigstore-python (PyPI package `sigstore`) into a venv at bench/.peers/venv
#   - sigstore-js (@sigstore/verify and friends, from npm) into bench/.peers/node
# Idempotent: a peer that is already installed (at the pinned version) is left alone.
# Needs python3 (with venv) and node/npm on PATH. bench/.peers/ is git-ignored.
#
# Environment:
#   SIGSTORE_PYTHON_SPEC  pip requirement for sigstore-python (default: sigstore)
#   PEERS_DIR             where to install (default: bench/.peers)
#   FORCE=1               reinstall even if present
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
peers="${PEERS_DIR:-$here/.peers}"
py_spec="${SIGSTORE_PYTHON_SPEC:-sigstore}"
js_pkgs=(@sigstore/verify@4.1.3 @sigstore/bundle @sigstore/protobuf-specs elliptic)

need() {
    command -v "$1" >/dev/null 2>&1 || {
        echo "setup-peers: '$1' not found on PATH; $2" >&2
        exit 1
    }
}

mkdir -p "$peers"

# --- sigstore-python -------------------------------------------------------
venv="$peers/venv"
if [[ "${FORCE:-0}" != 1 && -x "$venv/bin/python" ]] &&
    "$venv/bin/python" -c 'import sigstore' >/dev/null 2>&1; then
    echo "setup-peers: sigstore-python present ($("$venv/bin/python" -m sigstore --version 2>&1 | head -n1))"
else
    need python3 "install Python 3.9+ (Debian: apt-get install python3 python3-venv)"
    echo "setup-peers: creating venv $venv and installing '$py_spec' (pip)"
    rm -rf "$venv"
    python3 -m venv "$venv" || {
        echo "setup-peers: 'python3 -m venv' failed (Debian: apt-get install python3-venv)" >&2
        exit 1
    }
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet "$py_spec"
    "$venv/bin/python" -c 'import sigstore' >/dev/null
    echo "setup-peers: sigstore-python installed ($("$venv/bin/python" -m sigstore --version 2>&1 | head -n1))"
fi

# --- sigstore-js -----------------------------------------------------------
node_dir="$peers/node"
js_ok() {
    command -v node >/dev/null 2>&1 &&
        (cd "$node_dir" 2>/dev/null &&
            node -e 'const v = require("@sigstore/verify/package.json").version;
                     if (v !== "4.1.3") process.exit(1);
                     require("@sigstore/bundle"); require("@sigstore/protobuf-specs"); require("elliptic");' \
                >/dev/null 2>&1)
}
if [[ "${FORCE:-0}" != 1 ]] && js_ok; then
    echo "setup-peers: sigstore-js present (@sigstore/verify 4.1.3)"
else
    need node "install Node.js 18+ (Debian: apt-get install nodejs npm)"
    need npm "install npm (Debian: apt-get install npm)"
    echo "setup-peers: installing ${js_pkgs[*]} into $node_dir (npm)"
    mkdir -p "$node_dir"
    if [[ ! -f "$node_dir/package.json" ]]; then
        printf '{\n  "name": "verify-bench-peers",\n  "private": true\n}\n' >"$node_dir/package.json"
    fi
    (cd "$node_dir" && npm install --no-audit --no-fund --loglevel=error "${js_pkgs[@]}")
    js_ok || {
        echo "setup-peers: sigstore-js did not install correctly under $node_dir" >&2
        exit 1
    }
    echo "setup-peers: sigstore-js installed (@sigstore/verify 4.1.3)"
fi

echo "setup-peers: done. Peers are in $peers; run bench/cli.sh"

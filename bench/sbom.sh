#!/usr/bin/env bash
# SPDX SBOM parse + validation: `verify sbom --file` on generated Syft-shaped
# SBOMs (bench/gen_sbom.py) of 20,000 and 100,000 packages, timing each run
# and measuring peak memory (GNU time's maximum RSS); then Python spdx-tools
# 0.8.5 (`pyspdxtools -i FILE`) on the 20,000-package file, once, with a
# time-out, for comparison.
#
# Goal: at least 100 MB/s of SBOM, and peak memory under 3x the file size.
#
# Usage: bench/sbom.sh [--setup-peer] [--no-peer]
#   --setup-peer  install spdx-tools==0.8.5 into bench/.peers/venv first
#   --no-peer     skip the spdx-tools run
# Environment:
#   SIZES         package counts to generate (default: "20000 100000")
#   RUNS          runs of ours per size, best reported (default: 3)
#   PEER_TIMEOUT  seconds before the spdx-tools run is abandoned (default: 900)
#   VERIFY        the binary (default: target/release/verify, built if absent)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
peers="$here/.peers"
work="$peers/sbom"
venv="$peers/venv"
verify="${VERIFY:-$root/target/release/verify}"
sizes="${SIZES:-20000 100000}"
runs="${RUNS:-3}"
peer_timeout="${PEER_TIMEOUT:-900}"
setup_peer=0
run_peer=1
for arg in "$@"; do
    case "$arg" in
    --setup-peer) setup_peer=1 ;;
    --no-peer) run_peer=0 ;;
    *)
        echo "usage: $0 [--setup-peer] [--no-peer]" >&2
        exit 2
        ;;
    esac
done

command -v /usr/bin/time >/dev/null || {
    echo "sbom.sh: GNU time (/usr/bin/time) is needed for peak memory (Debian: apt-get install time)" >&2
    exit 1
}

if [[ ! -x "$verify" ]]; then
    echo "sbom.sh: building $verify"
    (cd "$root" && cargo build --release -p verify-cli)
fi

if [[ "$setup_peer" == 1 ]]; then
    [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet "spdx-tools==0.8.5"
fi

mkdir -p "$work"

# seconds and KB of one run: "ELAPSED MAXRSS_KB EXIT"
measure() {
    local out
    out="$(mktemp)"
    set +e
    /usr/bin/time -f "%e %M" -o "$out" "$@" >/dev/null 2>&1
    local rc=$?
    set -e
    echo "$(tail -n1 "$out") $rc"
    rm -f "$out"
}

printf '%-10s %10s %10s %10s %12s %10s\n' packages "size (MB)" "time (s)" "MB/s" "peak RSS MB" "RSS/size"
for n in $sizes; do
    file="$work/syft-$n.spdx.json"
    [[ -s "$file" ]] || python3 "$here/gen_sbom.py" "$n" "$file"
    bytes=$(stat -c %s "$file")
    best_t="" best_m=""
    for _ in $(seq "$runs"); do
        read -r t m rc < <(measure "$verify" sbom --file "$file")
        if [[ "$rc" != 0 ]]; then
            echo "sbom.sh: verify sbom failed on $file (exit $rc)" >&2
            exit 1
        fi
        if [[ -z "$best_t" ]] || awk "BEGIN{exit !($t < $best_t)}"; then best_t=$t; fi
        if [[ -z "$best_m" ]] || ((m < best_m)); then best_m=$m; fi
    done
    awk -v n="$n" -v b="$bytes" -v t="$best_t" -v m="$best_m" 'BEGIN{
        mb=b/1e6; rss=m*1024/1e6; tt=(t>0?t:0.01);
        printf "%-10s %10.1f %10.2f %10.0f %12.1f %10.2f\n", n, mb, t, mb/tt, rss, (m*1024)/b }'
done

if [[ "$run_peer" == 1 ]]; then
    peer="$venv/bin/pyspdxtools"
    first=${sizes%% *}
    file="$work/syft-$first.spdx.json"
    if [[ ! -x "$peer" ]]; then
        echo "spdx-tools: not installed (run $0 --setup-peer)"
    else
        echo "spdx-tools $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("spdx-tools"))'): pyspdxtools -i $(basename "$file"), time-out ${peer_timeout}s"
        read -r t m rc < <(measure timeout "$peer_timeout" "$peer" -i "$file")
        if [[ "$rc" == 124 ]]; then
            echo "spdx-tools: did not finish within ${peer_timeout}s (peak RSS so far $((m / 1024)) MB)"
        else
            echo "spdx-tools: ${t}s, peak RSS $((m / 1024)) MB, exit $rc (non-zero: it reported validation messages)"
        fi
    fi
fi

#!/usr/bin/env bash
# Time `verify image` and `verify attestation` against a local registry
# (Debian's docker-registry, started on a free loopback port): a fresh image
# with a keyless cosign signature from the test Sigstore, and a real SLSA
# container generator image with its keyless attestation (production root).
# Each is verified RUNS times (default 200) cold (one process per run) and
# warm (one process, trust root loaded, registry connections reused); the
# median and p99 are printed.
#
#   bench/image.sh            # 200 runs each
#   RUNS=50 bench/image.sh    # a quick look
#
# Needs docker-registry (apt-get install docker-registry) and the shared
# conformance data beside the repository (../shared/conformance).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$(dirname "$here")"

command -v docker-registry >/dev/null 2>&1 || {
    echo "image.sh: docker-registry not found (Debian: apt-get install docker-registry)" >&2
    exit 1
}
exec cargo bench -p verify-cli --bench image

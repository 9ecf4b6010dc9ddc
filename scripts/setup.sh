#!/usr/bin/env bash
# Install what the build and the tests need on a fresh Debian machine with a
# Rust toolchain: system packages (a real OCI registry and skopeo for the image
# tests, openssl and cmake for the build) and the Rust components the checks
# use.
# Idempotent: installs only what is missing.
set -euo pipefail

need=()
command -v docker-registry >/dev/null 2>&1 || [ -x /usr/bin/docker-registry ] || need+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v cmake >/dev/null 2>&1 || need+=(cmake)
# ssh-keygen: the VSA tests check default key IDs against OpenSSH's fingerprints.
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)

if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${need[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt

# python-tuf (the TUF reference implementation): verify-tuf's tests build
# real TUF repositories with it (crates/verify-tuf/tests/tufrepo.py).
if ! python3 -c 'import tuf.api.metadata, securesystemslib.signer, cryptography' >/dev/null 2>&1; then
  echo "setup: installing python-tuf" >&2
  python3 -m pip install -q 'tuf==7.0.1' 'securesystemslib[crypto]==1.6.0' 2>/dev/null \
    || python3 -m pip install -q --break-system-packages 'tuf==7.0.1' 'securesystemslib[crypto]==1.6.0'
fi
# The C header of crates/verify-ffi is generated (and checked) with cbindgen.
command -v cbindgen >/dev/null 2>&1 || cargo install --locked cbindgen
# The Go package (go/) needs Go >= 1.24 (the machine's /usr/local/go; Debian's
# golang-go is too old); its tests start docker-registry (above).
command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ] || echo "setup: Go >= 1.24 is needed for go/ (https://go.dev/dl/)" >&2
# Our own release (issue 14): scripts/image.sh assembles the verify-admission
# OCI image with umoci; scripts/sbom.sh takes the dependency graph from
# cargo-cyclonedx (pinned), whose crates.io install builds it from source.
command -v umoci >/dev/null 2>&1 || {
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends umoci >/dev/null
}
if ! cargo cyclonedx --version 2>/dev/null | grep -q ' 0\.5\.9$'; then
  echo "setup: installing cargo-cyclonedx 0.5.9" >&2
  cargo install --locked cargo-cyclonedx --version 0.5.9
fi
# The FIPS build (`--features fips`, scripts/fips-check.sh): aws-lc-fips-sys
# builds the AWS-LC FIPS module with CMake (above), a C compiler, Go (the
# module's build runs Go tools; /usr/local/go as for go/ above) and perl;
# fips-check.sh reads the binaries' symbols with nm (binutils).
fips_need=()
command -v cc >/dev/null 2>&1 || fips_need+=(gcc g++)
command -v perl >/dev/null 2>&1 || fips_need+=(perl)
command -v nm >/dev/null 2>&1 || fips_need+=(binutils)
if [ ${#fips_need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${fips_need[*]} (FIPS build)" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${fips_need[@]}" >/dev/null
fi
command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ] || echo "setup: Go is needed for the FIPS build (aws-lc-fips-sys)" >&2

#!/usr/bin/env bash
# Build `verify` and verify the bundled example (testdata/example/, signed by
# the project's test Sigstore): keyless, DSSE and key-based bundles, then show
# a tampered artifact being rejected.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -q -p verify-cli
V=target/release/verify
EX=testdata/example
IDENTITY=$(sed -n 1p $EX/identity.txt)
ISSUER=$(sed -n 2p $EX/identity.txt)

echo "# keyless bundle (Fulcio certificate, Rekor SET + inclusion proof + checkpoint, RFC 3161 timestamp)"
$V blob --trusted-root $EX/trusted_root.json --bundle $EX/artifact.sigstore.json \
  --certificate-identity "$IDENTITY" --certificate-oidc-issuer "$ISSUER" $EX/artifact --output json 2>&1
echo "# DSSE in-toto bundle, identity matched by an anchored regexp"
$V blob --trusted-root $EX/trusted_root.json --bundle $EX/dsse.sigstore.json \
  --certificate-identity-regexp '^https://github\.com/example-org/example-repo/' \
  --certificate-oidc-issuer "$ISSUER" $EX/artifact 2>&1
echo "# key-based bundle"
$V blob --trusted-root $EX/trusted_root.json --bundle $EX/artifact.key.sigstore.json --key $EX/key.pub $EX/artifact 2>&1
echo "# a tampered artifact is rejected (exit status 1)"
set +e
$V blob --trusted-root $EX/trusted_root.json --bundle $EX/artifact.sigstore.json \
  --certificate-identity "$IDENTITY" --certificate-oidc-issuer "$ISSUER" \
  sha256:0000000000000000000000000000000000000000000000000000000000000000 2>&1
echo "exit status: $?"

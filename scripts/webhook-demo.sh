#!/usr/bin/env bash
# Start verify-admission locally: a docker-registry on loopback holding a
# Flux source-controller image signed by a test Sigstore made on the spot,
# the bundled policies (deploy/policies) plus one for the local registry,
# and the webhook on https://127.0.0.1:${PORT:-8443}. Ctrl-C stops everything.
#
#   scripts/webhook-demo.sh
#   curl --cacert $DIR/ca.crt -H 'content-type: application/json' \
#        --data @$DIR/review.json https://127.0.0.1:8443/validate
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8443}"
DIR="$(mktemp -d /tmp/verify-admission-demo.XXXXXX)"
REG_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cleanup() { kill "${REG_PID:-}" 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
cat > "$DIR/registry.yml" <<YAML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $DIR/registry}}
http: {addr: 127.0.0.1:$REG_PORT}
YAML
docker-registry serve "$DIR/registry.yml" >/dev/null 2>&1 &
REG_PID=$!
for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$REG_PORT/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
cargo run -q -p verify-admission --example seed -- "127.0.0.1:$REG_PORT" "$DIR" 1
cargo build -q -p verify-admission
echo "webhook: https://127.0.0.1:$PORT  (CA: $DIR/ca.crt; try: curl --cacert $DIR/ca.crt -H 'content-type: application/json' --data @$DIR/review.json https://127.0.0.1:$PORT/validate)"
target/debug/verify-admission serve --listen "127.0.0.1:$PORT" \
  --tls-cert "$DIR/tls.crt" --tls-key "$DIR/tls.key" \
  --policies "$DIR/policies" --trusted-root "$DIR/trusted_root.json"

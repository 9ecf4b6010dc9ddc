#!/usr/bin/env bash
# verify-admission /validate under wrk (Debian's `wrk`: apt install wrk; not
# run by CI), side by side with a no-op server from the same stack
# (`serve --noop`: parse the AdmissionReview, answer allowed). Prints warm
# req/s, p50, p99 and the ratio to the no-op server (16 connections), cold
# p50/p99 (1 connection, each request a digest not yet verified, loopback
# registry), overload p99 (160 connections) and peak RSS; the slowest
# answer of each run against the --budget (8 s: wrk waits up to 10 s, so a
# late answer is measured, not dropped), and the machine's load.
#   bench/webhook.sh [DURATION_SECONDS] [COLD_IMAGES]
# PROFILE=debug uses unoptimised binaries (quick, for a smoke run only).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10}"
COLD="${2:-200}"
command -v wrk >/dev/null || { echo "wrk is needed: apt install wrk" >&2; exit 2; }
DIR="$(mktemp -d /tmp/verify-admission-bench.XXXXXX)"
LOAD_START="$(uptime)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$DIR"; }
trap cleanup EXIT
REG_PORT="$(free_port)"
cat > "$DIR/registry.yml" <<YAML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $DIR/registry}}
http: {addr: 127.0.0.1:$REG_PORT}
YAML
docker-registry serve "$DIR/registry.yml" >/dev/null 2>&1 & PIDS+=($!)
for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$REG_PORT/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
PROFILE="${PROFILE:-release}"
if [ "$PROFILE" = release ]; then
  cargo build -q --release -p verify-admission --bin verify-admission --example seed
else
  cargo build -q -p verify-admission --bin verify-admission --example seed
fi
BIN="target/$PROFILE"
"$BIN/examples/seed" "127.0.0.1:$REG_PORT" "$DIR" "$((COLD + 1))" >/dev/null

start() { # start PORT [extra flags]; the PID is then in $!
  local port=$1; shift
  "$BIN/verify-admission" serve --listen "127.0.0.1:$port" --tls-cert "$DIR/tls.crt" \
    --tls-key "$DIR/tls.key" --policies "$DIR/policies" --trusted-root "$DIR/trusted_root.json" \
    --budget 8 "$@" >/dev/null 2>&1 &
}
WEB_PORT="$(free_port)"; NOOP_PORT="$(free_port)"
start "$WEB_PORT"; WEB_PID=$!; PIDS+=("$WEB_PID")
start "$NOOP_PORT" --noop; PIDS+=($!)
for p in "$WEB_PORT" "$NOOP_PORT"; do
  for _ in $(seq 100); do curl -fsS -k "https://127.0.0.1:$p/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
done

cat > "$DIR/post.lua" <<'LUA'
local files, n, i, once, answered = {}, 0, 0, false, 0
init = function(args)
  for _, f in ipairs(args) do
    if f == "--once" then once = true
    else local h = io.open(f, "rb"); files[#files + 1] = h:read("*a"); h:close() end
  end
  n = #files
end
-- --once: every body is sent once (each a digest not yet verified), then stop.
response = function()
  answered = answered + 1
  if once and answered >= n then wrk.thread:stop() end
end
request = function()
  i = i % n + 1
  return wrk.format("POST", "/validate", {["Content-Type"] = "application/json"}, files[i])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.0f %.3f %.3f %d %.3f\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.timeout + summary.errors.connect + summary.errors.read + summary.errors.write,
    latency.max / 1000))
end
LUA
run() { # run PORT CONNECTIONS DURATION FILES... -> "req/s p50ms p99ms errors maxms"
  local port=$1 c=$2 d=$3; shift 3
  local t=2; [ "$c" -lt 2 ] && t=1
  wrk -t"$t" -c"$c" -d"${d}s" --timeout 10s --latency -s "$DIR/post.lua" "https://127.0.0.1:$port/validate" -- "$@" | awk '/^RESULT/ {print $2, $3, $4, $5, $6}'
}
# Warm the verdict cache.
curl -fsS -k -H 'content-type: application/json' --data @"$DIR/review.json" "https://127.0.0.1:$WEB_PORT/validate" >/dev/null
read -r W_RPS W_P50 W_P99 W_ERR W_MAX < <(run "$WEB_PORT" 16 "$DURATION" "$DIR/review.json")
read -r N_RPS N_P50 N_P99 N_ERR N_MAX < <(run "$NOOP_PORT" 16 "$DURATION" "$DIR/review.json")
COLD_FILES=(); for i in $(seq 1 "$COLD"); do COLD_FILES+=("$DIR/cold/$i.json"); done
read -r C_RPS C_P50 C_P99 C_ERR C_MAX < <(run "$WEB_PORT" 1 "$DURATION" --once "${COLD_FILES[@]}")
read -r O_RPS O_P50 O_P99 O_ERR O_MAX < <(run "$WEB_PORT" 160 "$DURATION" "$DIR/review.json")
RSS=$(awk '/VmHWM/ {print $2}' "/proc/$WEB_PID/status")
LOAD_END="$(uptime)"
printf 'warm (16 conns):    %8s req/s  p50 %6s ms  p99 %6s ms  max %8s ms  errors %s\n' "$W_RPS" "$W_P50" "$W_P99" "$W_MAX" "$W_ERR"
printf 'no-op (16 conns):   %8s req/s  p50 %6s ms  p99 %6s ms  max %8s ms  errors %s\n' "$N_RPS" "$N_P50" "$N_P99" "$N_MAX" "$N_ERR"
printf 'ratio warm/no-op:   %s\n' "$(python3 -c "print(f'{$W_RPS/$N_RPS:.2f}')")"
printf 'cold (1 conn):      %8s req/s  p50 %6s ms  p99 %6s ms  max %8s ms  errors %s  (%s new digests available)\n' "$C_RPS" "$C_P50" "$C_P99" "$C_MAX" "$C_ERR" "$COLD"
printf 'overload (160):     %8s req/s  p50 %6s ms  p99 %6s ms  max %8s ms  errors %s\n' "$O_RPS" "$O_P50" "$O_P99" "$O_MAX" "$O_ERR"
LATE=$(python3 -c "print('none' if max($W_MAX, $C_MAX, $O_MAX) <= 8000 else 'SOME')")
printf 'later than budget:  %s (budget 8000 ms)\n' "$LATE"
printf 'profile:            %s\n' "$PROFILE"
printf 'peak RSS:           %s KiB\n' "$RSS"
printf 'load at start:      %s\n' "$LOAD_START"
printf 'load at end:        %s\n' "$LOAD_END"
printf 'cores:              %s\n' "$(nproc)"

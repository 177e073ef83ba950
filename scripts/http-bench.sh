#!/usr/bin/env bash
# Result lookup by accession number as a pathologist, over HTTPS on loopback, with wrk at
# 64 connections: requests/s and latency percentiles, on SQLite and (with
# LABGUARD_DATABASE_URL set) PostgreSQL. Every lookup is a real audited read: an API-token
# check, the blind-index search, decryption, and an audit entry committed with it.
#
# Then the same lookup at a fixed offered rate (RATE, default 1,000 req/s) with `hey` (50
# workers, each limited to RATE/50 per second), for the latency a lab sees under a realistic
# load rather than at saturation.
#
# usage: scripts/http-bench.sh [seconds]    (LABGUARD_BIN defaults to the release build;
#        CONNECTIONS="8 64" runs several concurrency levels; RATE=0 skips the fixed rate)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${LABGUARD_BIN:-${CARGO_TARGET_DIR:-target}/release/labguard}"
SECS="${1:-20}"
DIR=$(mktemp -d)
PORT="${PORT:-18543}"
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$DIR"' EXIT
"$BIN" --data-dir "$DIR" init >/dev/null
"$BIN" --data-dir "$DIR" demo --seed-only --patients 240 >/dev/null
"$BIN" --data-dir "$DIR" --format json users add --username bench-path --role pathologist >"$DIR/u.json"
"$BIN" --data-dir "$DIR" serve --listen "127.0.0.1:$PORT" --mllp-tls-listen off --mllp-tcp-listen off >/dev/null 2>&1 &
SERVER=$!
for _ in $(seq 1 50); do curl -skf "https://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
get() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$DIR/u.json" "$1"; }
TOKEN=$(python3 scripts/signin.py "https://127.0.0.1:$PORT" "$(get username)" "$(get password)" "$(get totp_secret)")
URL="https://127.0.0.1:$PORT/api/v1/results?accession=A00000010"
curl -skf -H "Authorization: Bearer $TOKEN" "$URL" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)), "results for the accession")'
BACKEND=sqlite
[ -n "${LABGUARD_DATABASE_URL:-}" ] && BACKEND=postgres
for C in ${CONNECTIONS:-64}; do
  echo "==> wrk: 2 threads, $C connections, ${SECS}s (backend: $BACKEND)"
  wrk -t2 -c"$C" -d"${SECS}s" --latency -H "Authorization: Bearer $TOKEN" "$URL"
done
# The machine's limit for an audited read: one durable commit. Measure a synchronous 4 KiB
# write here, in the same run, to compare the latencies against.
SYNC_US=$(python3 - "$DIR/sync.test" <<'PY'
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_DSYNC, 0o600)
buf, n = b"\0" * 4096, 200
t = time.perf_counter()
for _ in range(n):
    os.write(fd, buf)
print(int((time.perf_counter() - t) / n * 1e6))
PY
)
echo "==> disk: one synchronous 4 KiB write takes ${SYNC_US} us (the floor for a durable audit entry)"
RATE="${RATE:-1000}"
if [ "$RATE" -gt 0 ]; then
  W="${WORKERS:-10}"
  # hey ticks every worker on its own timer, all started together: arrivals come in bursts
  # of W requests, so fewer workers give a smoother offered load.
  echo "==> hey: fixed offered rate ${RATE} req/s ($W workers x $((RATE / W))/s), ${SECS}s (backend: $BACKEND)"
  # hey puts its Host header (with the port) into SNI, which TLS forbids; a host name fixes it.
  hey -z "${SECS}s" -c "$W" -q "$((RATE / W))" -host localhost -H "Authorization: Bearer $TOKEN" "$URL" \
    | sed -n '/Summary/,/Requests\/sec/p;/Latency distribution/,/99%/p;/Status code/,/^$/p'
fi
if [ "$BACKEND" = postgres ] && [ -n "${LABGUARD_PG_SCHEMA:-}" ]; then
  psql "$LABGUARD_DATABASE_URL" -qc "DROP SCHEMA IF EXISTS \"$LABGUARD_PG_SCHEMA\" CASCADE" >/dev/null 2>&1 || true
fi

#!/usr/bin/env bash
# Sign-in and result-lookup latency (p50/p99) with 0 and with 1,000 slow HTTPS connections
# held (partial headers, from their own process, reopened as the server cuts them at the
# header deadline), in one run against one `labguard serve` with its default limits.
#
# usage: scripts/listener-bench.sh [slow-connections]   (LABGUARD_BIN defaults to the
#        release build; needs python3 with pyotp)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${LABGUARD_BIN:-${CARGO_TARGET_DIR:-target}/release/labguard}"
SLOW="${1:-1000}"
DIR=$(mktemp -d)
PORT="${PORT:-18643}"
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$DIR"' EXIT
"$BIN" --data-dir "$DIR" init >/dev/null
"$BIN" --data-dir "$DIR" demo --seed-only --patients 240 >/dev/null
"$BIN" --data-dir "$DIR" --format json users add --username bench-path --role pathologist >"$DIR/u.json"
"$BIN" --data-dir "$DIR" --format json users add --username bench-signin --role pathologist >"$DIR/s.json"
"$BIN" --data-dir "$DIR" serve --listen "127.0.0.1:$PORT" --mllp-tls-listen off --mllp-tcp-listen off >/dev/null 2>&1 &
SERVER=$!
for _ in $(seq 1 50); do curl -skf "https://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
get() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
TOKEN=$(python3 scripts/signin.py "https://127.0.0.1:$PORT" "$(get "$DIR/u.json" username)" "$(get "$DIR/u.json" password)" "$(get "$DIR/u.json" totp_secret)")
python3 scripts/listener-bench.py "https://127.0.0.1:$PORT" "$TOKEN" "$(get "$DIR/s.json" username)" "$(get "$DIR/s.json" password)" --slow "$SLOW"

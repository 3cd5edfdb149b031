#!/usr/bin/env bash
# API throughput and latency of a release build over loopback, measured with wrk.
#
#   bench/api.sh                 # SQLite (temp file)
#   bench/api.sh postgres://postgres@127.0.0.1:5432/test   # PostgreSQL (a fresh database on that server)
#
# Env: DURATION (default 10s), CONNS (default 32), PIN=1 pins server and wrk to separate cores.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
DURATION=${DURATION:-10s}
CONNS=${CONNS:-32}
PORT=${PORT:-18999}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p laneway
BIN="$CARGO_TARGET_DIR/release/laneway"
TMP=$(mktemp -d)
PGDB=""
if [ "${1:-}" != "" ]; then
  ADMIN_URL=$1
  PGDB="lw_bench_$$"
  psql "$ADMIN_URL" -qc "CREATE DATABASE $PGDB"
  DB_URL="${ADMIN_URL%/*}/$PGDB"
else
  DB_URL="sqlite://$TMP/bench.db"
fi
cleanup() {
  [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
  [ -n "$PGDB" ] && psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" || true
  rm -rf "$TMP"
}
trap cleanup EXIT
SRV_PIN=""; LOAD_PIN=""
if [ "${PIN:-0}" = 1 ]; then SRV_PIN="taskset -c 0"; LOAD_PIN="taskset -c 1"; fi
RUST_LOG=warn $SRV_PIN "$BIN" serve --listen 127.0.0.1:$PORT --database-url "$DB_URL" --rate-limit 0 >"$TMP/out" 2>"$TMP/err" &
SERVER=$!
for _ in $(seq 1 100); do grep -q lw_live_ "$TMP/out" 2>/dev/null && break; sleep 0.1; done
KEY=$(head -1 "$TMP/out")
B=http://127.0.0.1:$PORT/api/v1
for _ in $(seq 1 100); do curl -sf "$B/me" -H "Authorization: Bearer $KEY" >/dev/null && break; sleep 0.1; done
ID=$(curl -s -X POST "$B/records" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d '{"type":"lead","title":"Bench","pipeline":"main-sales","data":{"phone":"555"}}' | sed -E 's/.*"id":"([^"]+)".*/\1/')
cat >"$TMP/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $KEY"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"type":"lead","title":"Smith Residence","pipeline":"main-sales","stage":"new","data":{"phone":"555-999-0001"}}'
LUA
cat >"$TMP/task.lua" <<LUA
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $KEY"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"title":"Call back","record_id":"$ID","due_date":"2026-12-01"}'
response = function(status, headers, body)
  if status >= 300 and not shown then io.stderr:write("first failure: ", status, " ", body, "\n"); shown = true end
end
LUA
cat >"$TMP/get.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $KEY"
LUA
run() {
  local name=$1; shift
  local out
  out=$($LOAD_PIN wrk -t2 -c"$CONNS" -d"$DURATION" --latency "$@")
  local rps p50 p99
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  local errs
  errs=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  printf "%-28s %10s req/s   p50 %8s   p99 %8s   non-2xx %s\n" "$name" "$rps" "$p50" "$p99" "${errs:-0}"
}
echo "backend: ${DB_URL%%:*}   connections: $CONNS   duration: $DURATION   pinned: ${PIN:-0}"
run "GET /records/:id" -s "$TMP/get.lua" "$B/records/$ID"
run "POST /records" -s "$TMP/post.lua" "$B/records"
run "POST /records/tasks (on a record)" -s "$TMP/task.lua" "$B/records/tasks"
run "GET /records?type=lead" -s "$TMP/get.lua" "$B/records?type=lead&per_page=50"
run "GET /me" -s "$TMP/get.lua" "$B/me"

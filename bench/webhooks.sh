#!/usr/bin/env bash
# Webhook delivery: N record writes fanned out to M webhooks on a fast local receiver; prints
# deliveries per second and commit-to-receipt latency (p50/p99) for a burst and for a paced
# trickle, against a release build of `laneway serve`.
#
#   bench/webhooks.sh                                           # SQLite (temp file)
#   bench/webhooks.sh postgres://postgres@127.0.0.1:5432/test   # PostgreSQL (a fresh database)
#
# Env: N (writes in the burst, default 2000), M (webhooks, default 5).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-2000}
M=${M:-5}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p laneway --bin laneway --example webhook_bench
BIN="$CARGO_TARGET_DIR/release/laneway"
TMP=$(mktemp -d)
PGDB=""
if [ "${1:-}" != "" ]; then
  ADMIN_URL=$1
  PGDB="lw_bench_hooks_$$"
  psql "$ADMIN_URL" -qc "CREATE DATABASE $PGDB"
  DB_URL="${ADMIN_URL%/*}/$PGDB"
else
  DB_URL="sqlite://$TMP/bench.db"
fi
cleanup() {
  [ -n "$PGDB" ] && psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" || true
  rm -rf "$TMP"
}
trap cleanup EXIT
"$CARGO_TARGET_DIR/release/examples/webhook_bench" "$BIN" "$DB_URL" "$N" "$M"

#!/usr/bin/env bash
# List latency with filters over a large table: N records (default 1,000,000) seeded straight into
# the database, then p50/p99 of five representative filters (page size 50) measured with wrk
# over loopback against a release build, in cursor mode (no total) and in offset mode (with
# meta.total, which has to count every match).
#
#   bench/list.sh                                           # SQLite (temp file)
#   bench/list.sh postgres://postgres@127.0.0.1:5432/test   # PostgreSQL (a fresh database there)
#
# Env: N (records, default 1000000), DURATION (per filter, default 10s), CONNS (default 4).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v sqlite3 >/dev/null || { apt-get update -qq && apt-get install -y -qq sqlite3 >/dev/null; }
N=${N:-1000000}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-4}
PORT=${PORT:-18998}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p laneway
BIN="$CARGO_TARGET_DIR/release/laneway"
TMP=$(mktemp -d)
PGDB=""
if [ "${1:-}" != "" ]; then
  ADMIN_URL=$1
  PGDB="lw_bench_list_$$"
  psql "$ADMIN_URL" -qc "CREATE DATABASE $PGDB"
  DB_URL="${ADMIN_URL%/*}/$PGDB"
else
  DB_URL="sqlite://$TMP/bench.db"
fi
cleanup() {
  [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
  [ -n "$PGDB" ] && psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" || true
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
start() {
  RUST_LOG=warn "$BIN" serve --listen 127.0.0.1:$PORT --database-url "$DB_URL" --rate-limit 0 >>"$TMP/out" 2>>"$TMP/err" &
  SERVER=$!
  for _ in $(seq 1 300); do curl -s "http://127.0.0.1:$PORT/api/v1/openapi.json" >/dev/null && return; sleep 0.1; done
  echo "server did not start"; cat "$TMP/err"; exit 1
}
stop() { kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""; }

start
KEY=$(head -1 "$TMP/out")
B=http://127.0.0.1:$PORT/api/v1
H="Authorization: Bearer $KEY"
for i in 1 2 3 4; do
  curl -sf -X POST "$B/members" -H "$H" -H 'Content-Type: application/json' \
    -d "{\"name\":\"Member $i\",\"email\":\"m$i@example.com\",\"role\":\"member\"}" >/dev/null
done
ME=$(curl -s "$B/me" -H "$H" | python3 -c 'import sys,json; print(json.load(sys.stdin)["data"]["member"]["id"])')
stop

echo "seeding $N records ..."
t0=$(date +%s)
if [ -n "$PGDB" ]; then
  psql -q "$DB_URL" <<SQL
WITH ws AS (SELECT id FROM workspaces LIMIT 1),
     st AS (SELECT array_agg(id ORDER BY position) AS ids, min(pipeline_id::text)::uuid AS pipeline FROM stages),
     ot AS (SELECT array_agg(id ORDER BY slug) AS ids FROM object_types WHERE deleted_at IS NULL),
     mb AS (SELECT array_agg(id ORDER BY email) AS ids FROM members WHERE deleted_at IS NULL)
INSERT INTO records (id, workspace_id, object_type_id, pipeline_id, stage_id, assignee_id, title,
                     title_search, data, position, created_at, updated_at)
SELECT gen_random_uuid(), ws.id, ot.ids[1 + i % array_length(ot.ids, 1)], st.pipeline,
       st.ids[1 + i % array_length(st.ids, 1)],
       CASE WHEN i % 6 = 0 THEN NULL ELSE mb.ids[1 + i % array_length(mb.ids, 1)] END,
       t.title, lower(t.title),
       jsonb_build_object('value', (i::bigint * 7919) % 10000, 'city',
                          (ARRAY['Hartford','Boston','Albany','Providence','Portland'])[1 + i % 5]),
       'a' || i, t.at, t.at
FROM generate_series(1, $N) AS i, ws, st, ot, mb,
     LATERAL (SELECT (ARRAY['Acme','Globex','Initech','Umbrella','Stark','Wayne','Wonka'])[1 + i % 7]
                     || ' ' || (ARRAY['Roofing','Plumbing','Corp','Residence','Repair'])[1 + (i / 7) % 5]
                     || ' #' || i AS title,
                     date_trunc('milliseconds', now() - make_interval(secs => ($N - i) * 30)) AS at) AS t;
ANALYZE;
SQL
else
  sqlite3 "$TMP/bench.db" <<SQL
PRAGMA journal_mode = WAL;
CREATE TEMP TABLE st AS SELECT id, pipeline_id, row_number() OVER (ORDER BY position) - 1 AS n FROM stages;
CREATE TEMP TABLE ot AS SELECT id, row_number() OVER (ORDER BY slug) - 1 AS n FROM object_types WHERE deleted_at IS NULL;
CREATE TEMP TABLE mb AS SELECT id, row_number() OVER (ORDER BY email) - 1 AS n FROM members WHERE deleted_at IS NULL;
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $N)
INSERT INTO records (id, workspace_id, object_type_id, pipeline_id, stage_id, assignee_id, title,
                     title_search, data, position, created_at, updated_at)
SELECT randomblob(16), (SELECT id FROM workspaces LIMIT 1),
       (SELECT id FROM ot WHERE n = i % (SELECT count(*) FROM ot)),
       (SELECT pipeline_id FROM st WHERE n = i % (SELECT count(*) FROM st)),
       (SELECT id FROM st WHERE n = i % (SELECT count(*) FROM st)),
       CASE WHEN i % 6 = 0 THEN NULL ELSE (SELECT id FROM mb WHERE n = i % (SELECT count(*) FROM mb)) END,
       title, lower(title),
       json_object('value', (i * 7919) % 10000, 'city',
                   json_extract('["Hartford","Boston","Albany","Providence","Portland"]', '\$[' || (i % 5) || ']')),
       'a' || i, at, at
FROM (SELECT i,
             json_extract('["Acme","Globex","Initech","Umbrella","Stark","Wayne","Wonka"]', '\$[' || (i % 7) || ']')
             || ' ' || json_extract('["Roofing","Plumbing","Corp","Residence","Repair"]', '\$[' || ((i / 7) % 5) || ']')
             || ' #' || i AS title,
             strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || (($N - i) * 30) || ' seconds') AS at
      FROM seq);
ANALYZE;
SQL
fi
echo "seeded in $(( $(date +%s) - t0 ))s"
start

cat >"$TMP/get.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $KEY"
LUA
enc() { python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1"; }
WEEK_AGO=$(date -u -d '7 days ago' +%Y-%m-%d)
MONTH_AGO=$(date -u -d '30 days ago' +%Y-%m-%d)
declare -a NAMES FILTERS
NAMES+=("title contains");          FILTERS+=('title contains "globex corp #12"')
NAMES+=("stage + assignee");        FILTERS+=("stage.slug eq \"won\" and assignee_id eq \"$ME\"")
NAMES+=("data numeric range");      FILTERS+=('data.value gte 9000 and data.value lt 9050')
NAMES+=("created_at range");        FILTERS+=("created_at gte \"$MONTH_AGO\" and created_at lt \"$WEEK_AGO\"")
NAMES+=("or of two");               FILTERS+=('stage.slug eq "contacted" or data.city eq "Boston"')

run() {
  local name=$1 url=$2 out code
  code=$(curl -s -o "$TMP/body" -w '%{http_code}' -H "$H" "$url")
  if [ "$code" != 200 ]; then echo "$name: HTTP $code $(head -c 300 "$TMP/body")"; return; fi
  out=$(wrk -t1 -c"$CONNS" -d"$DURATION" --latency -s "$TMP/get.lua" "$url")
  printf "%-22s %-7s %9s req/s   p50 %8s   p99 %8s\n" "$name" "$3" \
    "$(echo "$out" | awk '/Requests\/sec/ {print $2}')" \
    "$(echo "$out" | awk '$1=="50%" {print $2}')" \
    "$(echo "$out" | awk '$1=="99%" {print $2}')"
}
echo "backend: ${DB_URL%%:*}   records: $N   connections: $CONNS   duration: $DURATION per filter"
for i in "${!NAMES[@]}"; do
  f=$(enc "${FILTERS[$i]}")
  run "${NAMES[$i]}" "$B/records?filter=$f&page%5Bsize%5D=50" cursor
  run "${NAMES[$i]}" "$B/records?filter=$f&per_page=50" offset
done

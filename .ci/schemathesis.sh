#!/usr/bin/env bash
# Runs schemathesis (pinned, in a venv of its own) against a `laneway serve` on port 0, with
# every check and the stateful phase. Usage: .ci/schemathesis.sh [database-url]
# Without a URL it uses a fresh SQLite file. Extra options for schemathesis: ST_ARGS.
# .ci/run calls it; what its settings narrow, and why, is said in .ci/schemathesis.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
ST_VERSION=4.32.5
VENV="${ST_VENV:-target/schemathesis-venv}"
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$ST_VERSION"; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$ST_VERSION"
fi
BIN="${LANEWAY_BIN:-${CARGO_TARGET_DIR:-target}/debug/laneway}"
[ -x "$BIN" ] || cargo build --quiet -p laneway
WORK="$(mktemp -d)"
DB="${1:-sqlite://$WORK/laneway.db}"
LOG="$WORK/server.log"
# Webhooks to loopback receivers are allowed so that the test send of a generated webhook
# does not fail for want of a public address; no receiver listens, so they just fail.
"$BIN" --database-url "$DB" --log-format json serve --listen 127.0.0.1:0 --rate-limit 0 \
  --allow-private-webhook-targets --webhook-timeout 1s >"$WORK/key" 2>"$LOG" &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
ADDR=""
for _ in $(seq 1 300); do
  ADDR="$(grep -o '"addr":"[^"]*"' "$LOG" | head -n1 | cut -d'"' -f4 || true)"
  [ -n "$ADDR" ] && break
  kill -0 $PID 2>/dev/null || { cat "$LOG"; exit 1; }
  sleep 0.1
done
[ -n "$ADDR" ] || { echo "laneway did not start"; cat "$LOG"; exit 1; }
KEY="$(head -n1 "$WORK/key")"
# The run's own key and its member (the owner) are not to be revoked, removed or demoted by the
# run itself: every later request would be a 401 (schemathesis reuses ids it has seen).
LW_PROTECTED_IDS="$(curl -fsS -H "Authorization: Bearer $KEY" "http://$ADDR/api/v1/me" |
  python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print(d["key_id"] + "," + d["member"]["id"])')"
export LW_PROTECTED_IDS
echo "schemathesis $ST_VERSION against $ADDR ($DB)"
# shellcheck disable=SC2086
SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH=.ci \
  "$VENV/bin/schemathesis" --config-file .ci/schemathesis.toml run "http://$ADDR/api/v1/openapi.json" \
  --url "http://$ADDR/api/v1" \
  -H "Authorization: Bearer $KEY" \
  --checks all \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples "${ST_MAX_EXAMPLES:-30}" \
  --workers 1 \
  --seed "${ST_SEED:-1}" \
  --no-color \
  ${ST_ARGS:-}

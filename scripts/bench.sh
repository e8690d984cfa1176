#!/usr/bin/env bash
# `make bench`: cold start, warm latency, CPU, memory, DynamoDB round trips and package size of
# every function, beside two baselines (the hello-world lambda_http floor and a Python + boto3
# login-code peer), in one run. Not part of `make test`. Results: a table on stdout and
# bench/results.json; see BENCHMARKS.md.
#
#   1. builds host (x86_64) release binaries of every function, bench-hello and portal-admin;
#   2. zips the arm64 bootstraps of `make build` (builds them with scripts/build.sh when they
#      are missing; BENCH_REBUILD_ARM64=1 rebuilds anyway); no arm64 -> zip_bytes null + reason;
#   3. installs boto3 (pinned) into .local/bench-venv for the Python baseline;
#   4. starts its own DynamoDB Local (in-memory, free port), seeds the table and dev keys with
#      portal-admin dev-seed, lifts the dev bot's hourly allowance;
#   5. runs bench/harness.py: a Lambda Runtime API of its own that spawns each bootstrap as
#      Lambda would, with a counting proxy in front of DynamoDB Local.
#
# Overrides: BENCH_COLD_RUNS (5), BENCH_WARM (1000), BENCH_FUNCTIONS (space separated, default
# every crate under functions/), BENCH_OUT (bench/results.json), BENCH_REBUILD_ARM64=1,
# BENCH_SKIP_BUILD=1 (measure the binaries already in target/release: no cargo build),
# BENCH_BIN_DIR (measure the function binaries of another build, e.g. a profile experiment).
# Everything started here is stopped on exit (trap), Ctrl-C included.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

BOTO3_VERSION="1.44.5"
BENCH_VENV="$ROOT/.local/bench-venv"
COLD_RUNS="${BENCH_COLD_RUNS:-5}"
WARM="${BENCH_WARM:-1000}"
OUT="${BENCH_OUT:-$ROOT/bench/results.json}"

if [[ -n "${BENCH_FUNCTIONS:-}" ]]; then
  read -r -a FUNCTIONS <<<"$BENCH_FUNCTIONS"
else
  mapfile -t FUNCTIONS < <(function_names)
fi

TMP_DIR="$(mktemp -d "${TMPDIR:-/tmp}/portal-bench.XXXXXX")"
DDB_PID_FILE="$TMP_DIR/ddb-local.pid"
HARNESS_PID=""
# shellcheck disable=SC2317 # invoked by the traps below
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$HARNESS_PID" ]] && kill -0 "$HARNESS_PID" 2>/dev/null; then
    kill -TERM "$HARNESS_PID" 2>/dev/null || true
    wait "$HARNESS_PID" 2>/dev/null || true
  fi
  if [[ -f "$DDB_PID_FILE" ]]; then
    "$ROOT/scripts/ddb-local.sh" stop --pid-file "$DDB_PID_FILE" >/dev/null 2>&1 || true
  fi
  if [[ "$rc" != 0 ]]; then
    warn "bench failed (rc $rc); logs kept in $TMP_DIR"
  else
    rm -rf "$TMP_DIR"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

command -v python3 >/dev/null || die "python3 is required"
command -v cargo >/dev/null || die "cargo is required"
[[ -r /proc/self/stat ]] || die "make bench needs Linux /proc (CPU and RSS are read from it)"

# --- 1. host binaries -----------------------------------------------------------------------
PKG_ARGS=()
for f in "${FUNCTIONS[@]}"; do PKG_ARGS+=(-p "$f"); done
if [[ "${BENCH_SKIP_BUILD:-0}" == 1 ]]; then
  say "BENCH_SKIP_BUILD=1: using the binaries already in target/release"
else
  say "cargo build --release (host: $(uname -m)) ${#FUNCTIONS[@]} functions + bench-hello + portal-admin"
  cargo build --release "${PKG_ARGS[@]}" -p bench-hello -p portal-admin
fi

# --- 2. arm64 bootstraps for zip_bytes --------------------------------------------------------
ZIP_NOTE=""
# An aarch64 ELF has e_machine 183 (0xB7) at offset 18; after `make build ARCH=x86_64` it is 62.
is_arm64() { [[ -x "$1" && "$(od -An -j18 -N2 -tu2 "$1" 2>/dev/null | tr -d ' ')" == 183 ]]; }
need_arm64=0
for f in "${FUNCTIONS[@]}"; do is_arm64 "target/lambda/$f/bootstrap" || need_arm64=1; done
if [[ "${BENCH_REBUILD_ARM64:-0}" == 1 || "$need_arm64" == 1 ]]; then
  say "arm64 bootstraps missing (or BENCH_REBUILD_ARM64=1): scripts/build.sh"
  if ! ARCH=arm64 "$ROOT/scripts/build.sh" >"$TMP_DIR/build-arm64.log" 2>&1; then
    tail -n 20 "$TMP_DIR/build-arm64.log" >&2 || true
    ZIP_NOTE="arm64 build failed (ARCH=arm64 scripts/build.sh): $(grep -m1 -i 'error' "$TMP_DIR/build-arm64.log" || echo 'see log')"
    warn "$ZIP_NOTE"
  fi
else
  say "using the arm64 bootstraps in target/lambda (from make build; BENCH_REBUILD_ARM64=1 to rebuild)"
fi
hello_arm64=0
is_arm64 target/lambda/bench-hello/bootstrap && hello_arm64=1
if [[ -z "$ZIP_NOTE" && ( "${BENCH_REBUILD_ARM64:-0}" == 1 || "$hello_arm64" == 0 ) ]]; then
  say "arm64 bench-hello (for its zip size): PORTAL_BUILD_PACKAGES=bench-hello scripts/build.sh"
  PORTAL_BUILD_PACKAGES=bench-hello ARCH=arm64 "$ROOT/scripts/build.sh" >"$TMP_DIR/build-arm64-hello.log" 2>&1 ||
    warn "arm64 bench-hello did not build (its zip_bytes stays null): $TMP_DIR/build-arm64-hello.log"
fi

# --- 3. the Python baseline's venv ----------------------------------------------------------
if [[ ! -x "$BENCH_VENV/bin/python" ]] ||
  [[ "$("$BENCH_VENV/bin/python" -c 'import boto3; print(boto3.__version__)' 2>/dev/null || true)" != "$BOTO3_VERSION" ]]; then
  say "installing boto3==$BOTO3_VERSION into ${BENCH_VENV#"$ROOT"/}"
  python3 -m venv "$BENCH_VENV"
  "$BENCH_VENV/bin/python" -m pip install --disable-pip-version-check --quiet "boto3==$BOTO3_VERSION" >&2
fi

# --- 4. DynamoDB Local + seed ---------------------------------------------------------------
"$ROOT/scripts/ddb-local.sh" install
DDB_PORT="$(free_port)"
say "starting DynamoDB Local on 127.0.0.1:$DDB_PORT (in-memory)"
"$ROOT/scripts/ddb-local.sh" start --port "$DDB_PORT" --in-memory --pid-file "$DDB_PID_FILE" --log "$TMP_DIR/ddb-local.log"

# Never real AWS: local endpoint, dummy credentials.
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_ROLE_ARN \
  AWS_WEB_IDENTITY_TOKEN_FILE AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
export AWS_ENDPOINT_URL="http://127.0.0.1:$DDB_PORT"
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=benchlocal AWS_SECRET_ACCESS_KEY=benchlocal
export AWS_EC2_METADATA_DISABLED=true
export PORTAL_TABLE=portal-bench
# Generous limits: the benchmark drives thousands of requests from a few callers in minutes.
export PORTAL_LIMIT_LOGIN_PER_MINUTE=1000000 PORTAL_LIMIT_BOT_PER_MINUTE=1000000
export PORTAL_LIMIT_AUTH_PER_MINUTE=1000000 PORTAL_MAX_FAILED_VERIFIES_PER_IP=1000000

admin() {
  if [[ "${BENCH_SKIP_BUILD:-0}" == 1 ]]; then
    "$ROOT/target/release/portal-admin" "$@"
  else
    cargo run -q --release -p portal-admin -- "$@"
  fi
}
say "seeding table '$PORTAL_TABLE' (portal-admin dev-seed)"
admin dev-seed >"$TMP_DIR/seed.json"
# The dev bots get 1000 requests/hour; the benchmark makes several thousand with one key.
admin bots list >"$TMP_DIR/bots.json"
while read -r bot_id; do
  admin bots update "$bot_id" --rate-limit-per-hour 100000 >/dev/null
done < <(python3 -c 'import json,sys; [print(b["id"]) for b in json.load(open(sys.argv[1]))["bots"]]' "$TMP_DIR/bots.json")

# --- 5. the harness -------------------------------------------------------------------------
say "running the harness (${COLD_RUNS} cold starts + ${WARM} warm invocations per function)"
python3 "$ROOT/bench/harness.py" \
  --ddb "$AWS_ENDPOINT_URL" \
  --bin-dir "${BENCH_BIN_DIR:-$ROOT/target/release}" \
  --lambda-dir "$ROOT/target/lambda" \
  --python "$BENCH_VENV/bin/python" \
  --out "$OUT" \
  --logdir "$TMP_DIR/logs" \
  --cold-runs "$COLD_RUNS" \
  --warm "$WARM" \
  --zip-note "$ZIP_NOTE" \
  --functions "${FUNCTIONS[@]}" &
HARNESS_PID=$!
set +e
wait "$HARNESS_PID"
rc=$?
set -e
HARNESS_PID=""
exit "$rc"

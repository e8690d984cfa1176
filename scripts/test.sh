#!/usr/bin/env bash
# `make test` (and .ci/run): every check the project has, with one summary at the end.
#
#   template-lint   cfn-lint template.yaml (0 errors, 0 warnings)
#   sam-validate    sam validate --lint (aws-sam-cli 1.170.0, installed into .local/sam-venv)
#   consistency     scripts/check_project.py (table.json vs template; functions/template/router/events;
#                   openapi.yaml vs router, handlers and Serialize structs)
#   cargo-test      cargo test --workspace against a fresh in-memory DynamoDB Local on a free port
#                   (PORTAL_TEST_DDB_ENDPOINT; every test creates its own table)
#   contract        schemathesis (openapi.yaml) against a local stack on free ports, >= 1,000
#                   generated requests, 0 failures allowed
#
# Usage: scripts/test.sh [-- extra cargo test args]
#   PORTAL_TEST_SKIP=sam-validate,contract   skip steps by name (comma separated)
#   PORTAL_TEST_ONLY=cargo-test              run only these steps
# Exit status: 0 if every step that ran passed, 1 otherwise.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
exec 2>&1 # one ordered stream for logs (CI)

CARGO_TEST_ARGS=()
if [[ "${1:-}" == "--" ]]; then
  shift
  CARGO_TEST_ARGS=("$@")
elif [[ $# -gt 0 ]]; then
  die "usage: scripts/test.sh [-- extra cargo test args]"
fi

RESULTS=()
FAILED=0
TMP_DIR="$(mktemp -d "${TMPDIR:-/tmp}/portal-test.XXXXXX")"
DDB_PID_FILE="$TMP_DIR/ddb-local.pid"
CARGO_LOG="$TMP_DIR/cargo-test.log"

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -f "$DDB_PID_FILE" ]]; then
    "$ROOT/scripts/ddb-local.sh" stop --pid-file "$DDB_PID_FILE" >/dev/null 2>&1 || true
  fi
  rm -rf "$TMP_DIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

wanted() {
  local name="$1"
  if [[ -n "${PORTAL_TEST_ONLY:-}" && ",${PORTAL_TEST_ONLY}," != *",$name,"* ]]; then return 1; fi
  if [[ ",${PORTAL_TEST_SKIP:-}," == *",$name,"* ]]; then return 1; fi
  return 0
}

# step NAME FUNCTION: run FUNCTION in a subshell and record PASS/FAIL/SKIP. A function skips
# itself by writing the reason to $SKIP_FILE and returning 200.
SKIP_FILE="$TMP_DIR/skip-reason"
step() {
  local name="$1" fn="$2" start rc
  if ! wanted "$name"; then
    RESULTS+=("SKIP  $name (excluded)")
    return 0
  fi
  printf '\n\033[1m=== %s ===\033[0m\n' "$name" >&2
  start=$SECONDS
  rm -f "$SKIP_FILE"
  set +e
  ("$fn")
  rc=$?
  set -e
  local took=$((SECONDS - start))
  if [[ $rc == 0 ]]; then
    RESULTS+=("PASS  $name (${took}s)")
  elif [[ $rc == 200 ]]; then
    RESULTS+=("SKIP  $name ($(cat "$SKIP_FILE" 2>/dev/null || echo 'see above'))")
  else
    RESULTS+=("FAIL  $name (exit $rc, ${took}s)")
    FAILED=1
  fi
}

# ------------------------------------------------------------------------------------------
# Hook: template lint (cfn-lint, 0 errors and 0 warnings)
# ------------------------------------------------------------------------------------------
step_template_lint() {
  local cfn_lint
  if command -v cfn-lint >/dev/null; then
    cfn_lint=cfn-lint
  elif [[ -x "$SAM_VENV/bin/cfn-lint" ]]; then
    cfn_lint="$SAM_VENV/bin/cfn-lint"
  else
    ensure_sam >/dev/null || return 1 # aws-sam-cli depends on cfn-lint
    cfn_lint="$SAM_VENV/bin/cfn-lint"
  fi
  say "$("$cfn_lint" --version)"
  "$cfn_lint" --non-zero-exit-code warning -- template.yaml
  echo "cfn-lint: no errors, no warnings" >&2
}

# ------------------------------------------------------------------------------------------
# Hook: sam validate --lint (SAM transform + cfn-lint)
# ------------------------------------------------------------------------------------------
step_sam_validate() {
  local sam
  sam="$(ensure_sam)" || { echo "could not install aws-sam-cli==$SAM_CLI_VERSION" >&2; return 1; }
  # the two catch different mistakes: the SAM transform itself, and cfn-lint's rules on its output
  SAM_CLI_TELEMETRY=0 "$sam" validate --region us-east-1 --template-file template.yaml
  SAM_CLI_TELEMETRY=0 "$sam" validate --lint --region us-east-1 --template-file template.yaml
}

# ------------------------------------------------------------------------------------------
# Hook: consistency (template table == shared/table.json; functions/, template, router, events)
# ------------------------------------------------------------------------------------------
step_consistency() {
  python3 "$ROOT/scripts/check_project.py" --root "$ROOT"
}

# ------------------------------------------------------------------------------------------
# cargo test --workspace against an in-memory DynamoDB Local
# ------------------------------------------------------------------------------------------
step_cargo_test() {
  "$ROOT/scripts/ddb-local.sh" install
  local port attempt
  for attempt in 1 2 3; do
    port="$(free_port)"
    if "$ROOT/scripts/ddb-local.sh" start --port "$port" --in-memory \
      --pid-file "$DDB_PID_FILE" --log "$TMP_DIR/ddb-local.log"; then
      break
    fi
    [[ $attempt == 3 ]] && { echo "could not start DynamoDB Local" >&2; return 1; }
  done

  # Dummy credentials and the local endpoint only: tests must never reach real AWS.
  unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_ROLE_ARN \
    AWS_WEB_IDENTITY_TOKEN_FILE AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
  export PORTAL_TEST_DDB_ENDPOINT="http://127.0.0.1:$port"
  export AWS_ENDPOINT_URL="$PORTAL_TEST_DDB_ENDPOINT"
  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  export AWS_EC2_METADATA_DISABLED=true
  say "PORTAL_TEST_DDB_ENDPOINT=$PORTAL_TEST_DDB_ENDPOINT"

  local rc=0
  cargo test --workspace "${CARGO_TEST_ARGS[@]+"${CARGO_TEST_ARGS[@]}"}" 2>&1 | tee "$CARGO_LOG" || rc=${PIPESTATUS[0]}
  "$ROOT/scripts/ddb-local.sh" stop --pid-file "$DDB_PID_FILE" || true
  return "$rc"
}

# ------------------------------------------------------------------------------------------
# contract: schemathesis against a second copy of the local stack (free ports, own state dir
# under $TMP_DIR, generous rate limits; the per-IP cap of 5 pending codes stays, so 429s are
# part of what is checked). openapi.yaml is the contract; every generated request's answer
# must be no 5xx and conform (status, content type, headers, body schema).
#   PORTAL_CONTRACT_MAX_EXAMPLES   fuzzed cases per operation (default 150)
#   PORTAL_CONTRACT_MIN_REQUESTS   fail below this many requests in all (default 1000)
#   PORTAL_CONTRACT_SEED           schemathesis --seed (default: random, printed)
# Reports (NDJSON, JUnit), schemathesis' cache and the stack's log stay in target/contract/.
# ------------------------------------------------------------------------------------------
CONTRACT_STACK_PID=""
CONTRACT_STATE_DIR="$TMP_DIR/contract-state"
CONTRACT_CHECKS="not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance"

# Stops the stack step_contract started: one SIGTERM to scripts/local.sh, which stops cargo
# lambda watch and DynamoDB Local itself (it runs in a process group of its own, so a Ctrl-C
# or a group-wide signal to test.sh does not interrupt that clean-up). If it does not end in
# time: SIGKILL to its group and DynamoDB Local stopped through its pid file. Safe to call twice
# (it also runs from the step's EXIT trap).
stop_contract_stack() {
  local pid="$CONTRACT_STACK_PID" i
  CONTRACT_STACK_PID=""
  [[ -n "$pid" ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    say "stopping the contract stack"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 60; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
      warn "the contract stack did not stop in 30 s; killing it"
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
  local f
  for f in "$CONTRACT_STATE_DIR"/ddb-local-*.pid; do
    [[ -f "$f" ]] && "$ROOT/scripts/ddb-local.sh" stop --pid-file "$f" >/dev/null 2>&1 || true
  done
}

step_contract() {
  local st out="$ROOT/target/contract" api_port ddb_port
  st="$(ensure_schemathesis)" || { echo "could not install schemathesis==$SCHEMATHESIS_VERSION" >&2; return 1; }
  local py="$SCHEMATHESIS_VENV/bin/python" # has PyYAML (a schemathesis dependency)
  say "$("$st" --version)"
  rm -rf "$out"
  mkdir -p "$out"

  # Build every function (and portal-admin, which seeds the table) in one cargo run:
  # cargo lambda watch would otherwise build each on its first request.
  local pkgs=(-p portal-admin) d
  for d in "$ROOT"/functions/*/; do pkgs+=(-p "$(basename "$d")"); done
  cargo build --quiet --bins "${pkgs[@]}" || return 1

  api_port="$(free_port)"
  ddb_port="$(free_port)"
  while [[ "$ddb_port" == "$api_port" ]]; do ddb_port="$(free_port)"; done
  local api="http://127.0.0.1:$api_port" log="$out/local.log"

  trap stop_contract_stack EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  say "starting a local stack on $api (DynamoDB Local :$ddb_port, log: ${log#"$ROOT"/})"
  set -m # its own process group (see stop_contract_stack)
  PORTAL_LOCAL_DIR="$CONTRACT_STATE_DIR" PORTAL_LOCAL_PORT="$api_port" PORTAL_LOCAL_DDB_PORT="$ddb_port" \
    PORTAL_LOCAL_NO_RELOAD=1 PORTAL_LIMIT_LOGIN_PER_MINUTE=100000 PORTAL_LIMIT_BOT_PER_MINUTE=100000 \
    PORTAL_LIMIT_AUTH_PER_MINUTE=100000 PORTAL_MAX_FAILED_VERIFIES_PER_IP=100000 \
    "$ROOT/scripts/local.sh" >"$log" 2>&1 &
  CONTRACT_STACK_PID=$!
  set +m

  # The API port opens once the table is seeded.
  local deadline=$((SECONDS + 300))
  until curl -s -o /dev/null --max-time 5 "$api/"; do
    if ! kill -0 "$CONTRACT_STACK_PID" 2>/dev/null; then
      echo "the local stack exited; last lines of its log:" >&2
      tail -n 40 "$log" >&2
      return 1
    fi
    if ((SECONDS > deadline)); then
      echo "the API did not answer on $api within 300 s; last lines of its log:" >&2
      tail -n 40 "$log" >&2
      return 1
    fi
    sleep 1
  done

  # Start every function once (each is a process of its own, started on its first request).
  local method path status
  while read -r method path; do
    status="$(curl -s -o /dev/null -w '%{http_code}' --max-time 300 -X "$method" "$api${path//\{token_suffix\}/aaaaaa}")"
    if [[ "$status" != 401 ]]; then
      echo "warm-up: $method $path answered $status (want 401 without credentials); log: ${log#"$ROOT"/}" >&2
      return 1
    fi
  done < <("$py" -c 'import sys, yaml
for p, item in yaml.safe_load(open(sys.argv[1]))["paths"].items():
    for m in item:
        print(m.upper(), p)' "$ROOT/openapi.yaml")
  echo "warm-up: every route answers" >&2

  export PORTAL_CONTRACT_PUBLIC_KEY=ppub_local_public_key PORTAL_CONTRACT_BOT_KEY=hbot_local_discord
  local session logout_session
  # The real flow, its 200 answers (verify's body and Set-Cookie included) checked against
  # openapi.yaml: schemathesis cannot guess a live code, so it rarely sees verify succeed.
  local login=("$py" "$ROOT/scripts/contract/session.py" --api "$api" --openapi "$ROOT/openapi.yaml"
    --public-key "$PORTAL_CONTRACT_PUBLIC_KEY" --bot-key "$PORTAL_CONTRACT_BOT_KEY")
  session="$("${login[@]}" --platform-user-id 100000000000000001)" || return 1
  logout_session="$("${login[@]}" --platform-user-id 100000000000000002)" || return 1
  echo "sessions: two users logged in through request → login-code → verify (answers conform)" >&2

  local examples="${PORTAL_CONTRACT_MAX_EXAMPLES:-150}" rc=0
  local run=(--config-file "$ROOT/scripts/contract/schemathesis.toml" run "$ROOT/openapi.yaml" --url "$api"
    --checks "$CONTRACT_CHECKS" --workers 2 --request-timeout 60 --report ndjson,junit)
  [[ -n "${PORTAL_CONTRACT_SEED:-}" ]] && run+=(--seed "$PORTAL_CONTRACT_SEED")
  export SCHEMATHESIS_HOOKS="$ROOT/scripts/contract/hooks.py"

  # Logout ends the session it is called with: it gets a session of its own, in a run of its own.
  # Run from $out, where schemathesis keeps its cache (.schemathesis/, for `st replay`).
  say "schemathesis: every operation but logout ($examples fuzzed cases each)"
  (cd "$out" && PORTAL_CONTRACT_SESSION="$session" "$st" "${run[@]}" --exclude-path /v1/authentication/logout \
    --max-examples "$examples" --report-ndjson-path "$out/main.ndjson" --report-junit-path "$out/main.junit.xml") || rc=1
  say "schemathesis: logout"
  (cd "$out" && PORTAL_CONTRACT_SESSION="$logout_session" "$st" "${run[@]}" --include-path /v1/authentication/logout \
    --max-examples "$examples" --report-ndjson-path "$out/logout.ndjson" --report-junit-path "$out/logout.junit.xml") || rc=1

  "$py" "$ROOT/scripts/contract/summary.py" --openapi "$ROOT/openapi.yaml" \
    --min "${PORTAL_CONTRACT_MIN_REQUESTS:-1000}" --min-per-operation 20 "$out/main.ndjson" "$out/logout.ndjson" || rc=1
  stop_contract_stack
  return "$rc"
}

step template-lint step_template_lint
step sam-validate step_sam_validate
step consistency step_consistency
step cargo-test step_cargo_test
step contract step_contract

# one closing line with the totals of every cargo test binary ("N passed, N failed")
cargo_totals() {
  [[ -s "$CARGO_LOG" ]] || return 0
  awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed;?$/) p += $i; if ($(i+1) ~ /^failed;?$/) f += $i } }
       END { printf "tests: %d passed, %d failed\n", p, f }' "$CARGO_LOG"
}

printf '\n\033[1m=== summary ===\033[0m\n' >&2
for r in "${RESULTS[@]}"; do
  case "$r" in
    PASS*) printf '  \033[32m%s\033[0m\n' "$r" ;;
    FAIL*) printf '  \033[31m%s\033[0m\n' "$r" ;;
    *) printf '  %s\n' "$r" ;;
  esac
done >&2
if [[ $FAILED != 0 ]]; then
  printf '\nFAILED\n' >&2
  cargo_totals
  exit 1
fi
printf '\nOK\n' >&2
cargo_totals

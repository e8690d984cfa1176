# shellcheck shell=bash
# Helpers shared by scripts/local.sh, scripts/test.sh and scripts/build.sh (source it).

CARGO_LAMBDA_VERSION="1.9.2"
SAM_CLI_VERSION="1.170.0"
SCHEMATHESIS_VERSION="4.32.5"

: "${ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
SAM_VENV="${PORTAL_SAM_VENV:-$ROOT/.local/sam-venv}"
SCHEMATHESIS_VENV="${PORTAL_SCHEMATHESIS_VENV:-$ROOT/.local/schemathesis-venv}"

# No telemetry from the tools we drive.
export DO_NOT_TRACK=1 SAM_CLI_TELEMETRY=0 DDB_LOCAL_TELEMETRY=0
export NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false NPM_CONFIG_UPDATE_NOTIFIER=false

say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Succeeds if something accepts TCP connections on 127.0.0.1:$1.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A TCP port that is free right now (the OS picks it).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

cargo_lambda_version() {
  # "cargo-lambda 1.9.2 (67129fc 2026-08-21Z)" -> 1.9.2
  cargo lambda --version 2>/dev/null | awk '{print $2; exit}'
}

# Install cargo-lambda==$CARGO_LAMBDA_VERSION from PyPI unless that exact version is on PATH.
ensure_cargo_lambda() {
  command -v cargo >/dev/null || die "cargo is required (https://rustup.rs)"
  [[ "$(cargo_lambda_version)" == "$CARGO_LAMBDA_VERSION" ]] && return 0
  command -v python3 >/dev/null || die "python3 is required to install cargo-lambda"
  say "installing cargo-lambda==$CARGO_LAMBDA_VERSION (pip)"
  python3 -m pip install --disable-pip-version-check --quiet "cargo-lambda==$CARGO_LAMBDA_VERSION" >&2
  if command -v pyenv >/dev/null; then pyenv rehash >/dev/null 2>&1 || true; fi
  hash -r
  if [[ "$(cargo_lambda_version)" != "$CARGO_LAMBDA_VERSION" ]]; then
    # pip may have put the binary in a scripts dir that is not on PATH (e.g. --user installs).
    local d
    for d in "$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')" \
             "$(python3 -c 'import site; print(site.getuserbase())')/bin"; do
      if [[ -x "$d/cargo-lambda" ]]; then export PATH="$d:$PATH"; hash -r; break; fi
    done
  fi
  local have
  have="$(cargo_lambda_version)"
  [[ "$have" == "$CARGO_LAMBDA_VERSION" ]] ||
    die "cargo lambda reports version '${have:-none}', need $CARGO_LAMBDA_VERSION (another cargo-lambda earlier on PATH?)"
}

sam_cmd() { printf '%s' "$SAM_VENV/bin/sam"; }

# aws-sam-cli==$SAM_CLI_VERSION in its own venv (.local/sam-venv) so its pinned dependencies
# (cfn-lint, boto3, ...) never disturb the system Python. Prints the sam executable.
ensure_sam() {
  local sam
  if command -v sam >/dev/null && [[ "$(sam --version 2>/dev/null | awk '{print $NF}')" == "$SAM_CLI_VERSION" ]]; then
    command -v sam
    return 0
  fi
  sam="$(sam_cmd)"
  if [[ -x "$sam" && "$("$sam" --version 2>/dev/null | awk '{print $NF}')" == "$SAM_CLI_VERSION" ]]; then
    printf '%s\n' "$sam"
    return 0
  fi
  say "installing aws-sam-cli==$SAM_CLI_VERSION into ${SAM_VENV#"$ROOT"/}"
  python3 -m venv "$SAM_VENV" >&2 || return 1
  "$SAM_VENV/bin/python" -m pip install --disable-pip-version-check --quiet "aws-sam-cli==$SAM_CLI_VERSION" >&2 || return 1
  printf '%s\n' "$sam"
}

# schemathesis==$SCHEMATHESIS_VERSION in its own venv (.local/schemathesis-venv), like sam.
# Prints the `st` executable.
ensure_schemathesis() {
  local st="$SCHEMATHESIS_VENV/bin/st"
  if [[ -x "$st" && "$("$st" --version 2>/dev/null | awk '{print $NF}')" == "$SCHEMATHESIS_VERSION" ]]; then
    printf '%s\n' "$st"
    return 0
  fi
  say "installing schemathesis==$SCHEMATHESIS_VERSION into ${SCHEMATHESIS_VENV#"$ROOT"/}"
  python3 -m venv "$SCHEMATHESIS_VENV" >&2 || return 1
  "$SCHEMATHESIS_VENV/bin/python" -m pip install --disable-pip-version-check --quiet \
    "schemathesis==$SCHEMATHESIS_VERSION" >&2 || return 1
  printf '%s\n' "$st"
}

# The function crates, one name per line: every directory under functions/ with a Cargo.toml
# (package name == directory name == binary name, enforced by scripts/check_project.py).
function_names() {
  local manifest
  for manifest in "$ROOT"/functions/*/Cargo.toml; do
    basename "$(dirname "$manifest")"
  done
}

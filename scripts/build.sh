#!/usr/bin/env bash
# `make build`: release Lambda binaries (bootstrap) for Graviton (arm64) with cargo-lambda.
# STUB: packaging/deploy details (per-function artifacts, x86_64 via the template's
# Architecture parameter, sam build integration) are left to the build issue.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

ensure_cargo_lambda
say "cargo lambda build --release --arm64 $*"
exec cargo lambda build --release --arm64 "$@"

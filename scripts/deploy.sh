#!/usr/bin/env bash
# `make deploy`: build with SAM's cargo-lambda integration and deploy, asking for the stack's
# parameters the first time (sam deploy --guided; answers are kept in samconfig.toml).
# Needs AWS credentials in the environment. Not run by any test: nothing here can reach AWS.
#   ARCH=arm64 (default) | x86_64 — must match the template's Architecture parameter.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

ARCH="${ARCH:-arm64}"
[[ "$ARCH" == arm64 || "$ARCH" == x86_64 ]] || die "ARCH must be arm64 or x86_64"
ensure_cargo_lambda
[[ "$ARCH" == arm64 ]] && rustup target add aarch64-unknown-linux-gnu >/dev/null
sam="$(ensure_sam)"
export SAM_CLI_TELEMETRY=0
# BuildMethod rust-cargolambda is behind SAM's beta-features flag
"$sam" build --beta-features --parameter-overrides "Architecture=$ARCH"
"$sam" deploy --guided --parameter-overrides "Architecture=$ARCH"

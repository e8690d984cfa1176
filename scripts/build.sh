#!/usr/bin/env bash
# `make build`: release Lambda binaries with cargo-lambda, one `bootstrap` per function:
#
#     target/lambda/<function>/bootstrap
#
# Only the function crates (functions/*) are built: never portal-admin, portal-tests or the
# bench crates. Installs what is missing (idempotent): cargo-lambda==1.9.2 from PyPI (it
# brings zig, the cross linker) and, for arm64, rustup's aarch64-unknown-linux-gnu std.
#
# Usage: scripts/build.sh [extra cargo lambda build args]
#   ARCH=arm64   (default) Graviton: cargo lambda build --release --arm64
#   ARCH=x86_64  cargo lambda build --release --x86-64; deploy with the template parameter
#                Architecture=x86_64 (sam deploy --parameter-overrides Architecture=x86_64)
#
# Also used by `make bench` (scripts/bench.sh) to get the arm64 bootstraps it zips;
# PORTAL_BUILD_PACKAGES="a b" builds those packages instead of every function (bench-hello).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

ARCH="${ARCH:-arm64}"
case "$ARCH" in
  arm64 | aarch64) ARCH=arm64 TRIPLE=aarch64-unknown-linux-gnu ARCH_FLAG=--arm64 ELF_MACHINE=aarch64 ;;
  x86_64 | x86-64 | amd64) ARCH=x86_64 TRIPLE=x86_64-unknown-linux-gnu ARCH_FLAG=--x86-64 ELF_MACHINE=x86-64 ;;
  *) die "ARCH must be arm64 or x86_64 (got '$ARCH')" ;;
esac

# The function crates (lib.sh: function_names), unless overridden.
if [[ -n "${PORTAL_BUILD_PACKAGES:-}" ]]; then
  read -r -a FUNCTIONS <<<"$PORTAL_BUILD_PACKAGES"
else
  mapfile -t FUNCTIONS < <(function_names)
fi
[[ ${#FUNCTIONS[@]} -gt 0 ]] || die "no function crates under functions/"

# --- tools ----------------------------------------------------------------------------------
ensure_cargo_lambda

ensure_rust_target() {
  local triple="$1"
  if command -v rustup >/dev/null; then
    if rustup target list --installed 2>/dev/null | grep -qx "$triple"; then
      return 0
    fi
    say "rustup target add $triple"
    if rustup target add "$triple" >&2; then
      return 0
    fi
  elif rustc --print target-libdir --target "$triple" >/dev/null 2>&1 &&
    [[ -n "$(ls "$(rustc --print target-libdir --target "$triple")"/libstd-* 2>/dev/null)" ]]; then
    return 0 # a toolchain without rustup that already ships the target's std
  fi
  if [[ "$ARCH" == arm64 ]]; then
    die "the $triple standard library is not available (rustup target add $triple failed or rustup is missing).
       Build for x86_64 instead:   make build ARCH=x86_64
       and deploy with the matching template parameter:   sam deploy --parameter-overrides Architecture=x86_64"
  fi
  die "the $triple standard library is not available (rustup target add $triple)"
}
ensure_rust_target "$TRIPLE"

# --- build ----------------------------------------------------------------------------------
PACKAGES=()
for f in "${FUNCTIONS[@]}"; do PACKAGES+=(--package "$f"); done

if [[ "$ARCH" == x86_64 ]]; then
  warn "building for x86_64: template.yaml's Architecture parameter must match (it defaults to arm64):"
  warn "    sam deploy --parameter-overrides Architecture=x86_64   (or set it in samconfig.toml)"
fi
say "cargo lambda build --release $ARCH_FLAG (${#FUNCTIONS[@]} functions) $*"
cargo lambda build --release "$ARCH_FLAG" "${PACKAGES[@]}" "$@"

# --- check ----------------------------------------------------------------------------------
missing=0
for f in "${FUNCTIONS[@]}"; do
  bin="$ROOT/target/lambda/$f/bootstrap"
  if [[ ! -x "$bin" ]]; then
    warn "missing $bin"
    missing=1
    continue
  fi
  if command -v file >/dev/null && ! file -b "$bin" | grep -qi "$ELF_MACHINE"; then
    warn "$bin is not an $ELF_MACHINE binary: $(file -b "$bin")"
    missing=1
  fi
done
[[ "$missing" == 0 ]] || die "build did not produce an $ARCH bootstrap for every function"

say "built ${#FUNCTIONS[@]} $ARCH bootstraps:"
for f in "${FUNCTIONS[@]}"; do
  printf '  target/lambda/%-40s %9s bytes\n' "$f/bootstrap" "$(stat -c %s "$ROOT/target/lambda/$f/bootstrap")" >&2
done
if [[ "$ARCH" == x86_64 ]]; then
  say "remember: deploy with Architecture=x86_64 (template.yaml parameter; default arm64)"
fi

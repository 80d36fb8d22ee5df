#!/usr/bin/env bash
# Builds the Worker: Rust -> wasm32 -> build/worker/shim.mjs + build/index_bg.wasm.
# wrangler runs this as the [build] command before `wrangler dev` and `wrangler deploy`.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
[ -f "$WASM_MODE_FILE" ] || bash scripts/bootstrap.sh
if [ "$(cat "$WASM_MODE_FILE")" = debian ]; then
  export PATH="/usr/bin:$PATH"
  export RUSTC_BOOTSTRAP=1 CARGO_UNSTABLE_BUILD_STD=std,panic_abort
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-22
fi
# Local tools instead of worker-build's downloads (no internet here, and pinned versions).
export WASM_BINDGEN_BIN="$HOME/.cargo/bin/wasm-bindgen"
export ESBUILD_BIN="$ROOT/node_modules/.bin/esbuild"
worker-build --release

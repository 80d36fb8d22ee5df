#!/usr/bin/env bash
# Builds the Worker: Rust -> wasm32 -> build/worker/shim.mjs + build/index_bg.wasm.
# wrangler runs this as the [build] command before `wrangler dev` and `wrangler deploy`.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
[ -f "$WASM_MODE_FILE" ] || bash scripts/bootstrap.sh
# wrangler runs this before every `wrangler dev`; the tests start several. A build whose
# inputs have not changed since the last one is skipped (the wasm-opt pass alone takes
# about 50 s here). FORCE_BUILD=1 rebuilds anyway.
# EDGE_OIDC_FEATURES: Cargo features, e.g. `conformance` for the integration tests (the test
# harness and `make integration` set it); empty for what `make dev`, `make bench` and
# `wrangler deploy` build. A change of features is a change of inputs.
FEATURES="${EDGE_OIDC_FEATURES:-}"
STAMP=build/.inputs.sha256
inputs_hash() {
  { printf '%s\n' "${WASM_NAMES:-}" "$FEATURES"
    find src Cargo.toml Cargo.lock scripts/build.sh -type f -print0 | sort -z | xargs -0 sha256sum
  } | sha256sum | cut -d' ' -f1
}
HASH="$(inputs_hash)"
if [ "${FORCE_BUILD:-}" != 1 ] && [ -f build/index_bg.wasm ] && [ -f build/worker/shim.mjs ] \
   && [ "$(cat "$STAMP" 2>/dev/null)" = "$HASH" ]; then
  echo "[build] up to date (inputs unchanged since the last build)"
  exit 0
fi
rm -f "$STAMP"
if [ "$(cat "$WASM_MODE_FILE")" = debian ]; then
  export PATH="/usr/bin:$PATH"
  export RUSTC_BOOTSTRAP=1 CARGO_UNSTABLE_BUILD_STD=std,panic_abort
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-22
fi
# Local tools instead of worker-build's downloads (no internet here, and pinned versions).
export WASM_BINDGEN_BIN="$HOME/.cargo/bin/wasm-bindgen"
export ESBUILD_BIN="$ROOT/node_modules/.bin/esbuild"
# Profiling (`make profile`): keep the Wasm name section so CPU profiles show Rust symbols.
WASM_OPT_NAMES=()
if [ "${WASM_NAMES:-}" = 1 ]; then
  export CARGO_PROFILE_RELEASE_STRIP=false
  WASM_OPT_NAMES=(-g)
fi
if [ -n "$FEATURES" ]; then
  worker-build --release -- --features "$FEATURES"
else
  worker-build --release
fi
# Size (issue 6): binaryen's wasm-opt from npm (a Wasm build of it, so it runs anywhere Node
# does). -Oz takes the module from about 1.15 MB to 0.83 MB raw (400 KB to 340 KB gzip).
# --all-features because wasm-bindgen's output uses exception handling and reference types,
# which workerd's V8 supports. Skipped, with a note, where the package is missing.
WASM_OPT="$ROOT/node_modules/binaryen/bin/wasm-opt"
if [ -x "$WASM_OPT" ] || [ -f "$WASM_OPT" ]; then
  node "$WASM_OPT" -Oz "${WASM_OPT_NAMES[@]}" --all-features build/index_bg.wasm -o build/index_bg.opt.wasm
  mv build/index_bg.opt.wasm build/index_bg.wasm
else
  echo "[build] binaryen not installed: the Wasm is not size-optimized (run npm install)" >&2
fi
echo "$HASH" > "$STAMP"

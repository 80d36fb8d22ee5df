#!/usr/bin/env bash
# `make fuzz`: runs every fuzz target for a bounded time (FUZZ_SECONDS each, default 60) with
# cargo-fuzz on the nightly toolchain, and prints how many inputs each ran. A crash stops
# the run and leaves the input under fuzz/artifacts/<target>/.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT/fuzz"
SECONDS_EACH="${FUZZ_SECONDS:-60}"
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
for target in params redirect_uri origin jwt; do
  mkdir -p "corpus/$target"
  log="$(mktemp)"
  echo "[fuzz] $target for ${SECONDS_EACH}s"
  if ! cargo +nightly fuzz run "$target" "corpus/$target" -- \
      -max_total_time="$SECONDS_EACH" -print_final_stats=1 >"$log" 2>&1; then
    tail -n 40 "$log"
    echo "[fuzz] $target FAILED: see fuzz/artifacts/$target/"
    exit 1
  fi
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  echo "[fuzz] $target: ${runs:-?} inputs, no crash"
  rm -f "$log"
done

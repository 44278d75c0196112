#!/usr/bin/env bash
# Token estimation in wasm: builds bench/tokens three ways (llmobserve-core's counter only,
# unmodified tiktoken-rs only, both) with the worker's release profile, binds them with
# wasm-bindgen, and runs run.mjs (Node's V8) and workerd.mjs (workerd from node_modules).
# Usage: bench/tokens/run.sh [--quick]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export CARGO_TARGET_DIR="$ROOT/target/bench-tokens"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
OUT="$CARGO_TARGET_DIR/pkg"
args=("$@")
cd "$HERE"
for variant in ours tiktoken both; do
  features="$variant"
  [ "$variant" = both ] && features="ours,tiktoken"
  cargo build --quiet --release --target wasm32-unknown-unknown --no-default-features --features "$features"
  mkdir -p "$OUT/$variant"
  cp "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/token_bench_wasm.wasm" "$OUT/$variant/bench.wasm"
  wasm-bindgen --target nodejs --out-dir "$OUT/$variant" "$OUT/$variant/bench.wasm"
  wasm-bindgen --target web --out-dir "$OUT/$variant-web" "$OUT/$variant/bench.wasm"
done
node "$HERE/run.mjs" "$OUT" "$ROOT/core/tests/data/tokens" ${args[@]+"${args[@]}"}
WORKERD="$ROOT/node_modules/@cloudflare/workerd-linux-64/bin/workerd"
if [ -x "$WORKERD" ]; then
  echo
  node "$HERE/workerd.mjs" "$OUT" "$WORKERD" ${args[@]+"${args[@]}"}
else
  echo "workerd not found (npm ci at the repository root installs it): skipping the workerd runs" >&2
fi

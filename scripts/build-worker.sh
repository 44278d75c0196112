#!/usr/bin/env bash
# Builds the worker (Rust -> wasm -> worker/build/index.js) with worker-build, offline:
# wasm-bindgen and esbuild come from setup.sh, not from a download. Then the dashboard
# (dashboard/dist), which the worker serves through its assets binding: one deploy ships both.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$ROOT/scripts/build-dashboard.sh"
[ -f "$WASM_ENV_FILE" ] && source "$WASM_ENV_FILE"
cd "$ROOT/worker"
WASM_BINDGEN_BIN="$CARGO_BIN/wasm-bindgen" ESBUILD_BIN="$ESBUILD" \
  worker-build --release --no-opt >&2
log "built worker/build/index.js ($(wc -c < build/index_bg.wasm) bytes of wasm)"

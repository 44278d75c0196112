#!/usr/bin/env bash
# Builds the worker (Rust -> wasm -> worker/build/index.js) with worker-build, offline:
# wasm-bindgen and esbuild come from setup.sh, not from a download. Then the dashboard
# (dashboard/dist), which the worker serves through its assets binding: one deploy ships both.
# With a crate directory as argument (the benchmark's Rust/wasm passthrough), builds that
# crate into its own build/ instead, without the dashboard.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
CRATE="${1:-worker}"
if [ "$CRATE" = worker ]; then "$ROOT/scripts/build-dashboard.sh"; fi
[ -f "$WASM_ENV_FILE" ] && source "$WASM_ENV_FILE"
cd "$ROOT/$CRATE"
WASM_BINDGEN_BIN="$CARGO_BIN/wasm-bindgen" ESBUILD_BIN="$ESBUILD" \
  worker-build --release --no-opt >&2
log "built $CRATE/build/index.js ($(wc -c < build/index_bg.wasm) bytes of wasm)"

#!/usr/bin/env bash
# Builds the npm package `llmobserve` into sdk-wasm/pkg/: the Rust rules (sdk-wasm/src)
# compiled to wasm for Node.js, plus the JavaScript layer and types (sdk-wasm/js/). Offline,
# in the two steps wasm-pack would run: cargo build, then the wasm-bindgen CLI that setup.sh
# installed (--target nodejs; no wasm-opt, which would be a download).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ -f "$WASM_ENV_FILE" ] && source "$WASM_ENV_FILE"
cd "$ROOT"
OUT="$ROOT/sdk-wasm/pkg"
rm -rf "$OUT"
mkdir -p "$OUT/wasm"

cargo build -p llmobserve-sdk --lib --release --target wasm32-unknown-unknown --quiet
wasm-bindgen --target nodejs --out-dir "$OUT/wasm" --out-name llmobserve_sdk \
  target/wasm32-unknown-unknown/release/llmobserve_sdk.wasm
rm -f "$OUT/wasm/.gitignore" "$OUT/wasm/llmobserve_sdk_bg.wasm.d.ts"
cp sdk-wasm/js/package.json sdk-wasm/js/index.cjs sdk-wasm/js/index.mjs \
   sdk-wasm/js/index.d.cts sdk-wasm/js/index.d.mts sdk-wasm/README.md "$OUT/"
log "built sdk-wasm/pkg ($(wc -c < "$OUT/wasm/llmobserve_sdk_bg.wasm") bytes of wasm, $(gzip -9c "$OUT/wasm/llmobserve_sdk_bg.wasm" | wc -c) gzipped)"

#!/usr/bin/env bash
# `make test`: sets up, then runs every test: lints, core/SDK/mock unit and property tests,
# the schema check, the fuzz targets (60 s each), the wasm build, and the end-to-end suite (official openai client ->
# worker under wrangler dev/workerd with local D1 -> mock OpenAI upstream).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
export WRANGLER_SEND_METRICS=false
start=$(date +%s)

"$ROOT/scripts/setup.sh"

log "lints (clippy, warnings are errors; no merge conflict markers)"
if markers="$(git grep -nE '^(<<<<<<<|>>>>>>>) ' 2>/dev/null)"; then
  die "merge conflict markers left in:
$markers"
fi
# The crates that build only for wasm: linted for wasm below, left out of native builds.
WASM_ONLY=(--exclude llmobserve-worker --exclude bench-wasm-passthrough)
cargo clippy --workspace "${WASM_ONLY[@]}" --all-targets --quiet -- -D warnings
if [ -f "$WASM_ENV_FILE" ]; then
  log "skipping wasm clippy: the Debian fallback toolchain has no clippy"
else
  cargo clippy -p llmobserve-worker -p llmobserve-sdk -p bench-wasm-passthrough --target wasm32-unknown-unknown --quiet -- -D warnings
fi

log "unit and property tests (core, sdk, mock upstream)"
cargo test --workspace "${WASM_ONLY[@]}" --quiet

log "schema"
python3 "$ROOT/scripts/check-schema.py"

log "dashboard unit tests (formatting)"
node --test dashboard/test/

log "fuzzing every parser of untrusted input in core, 60 s per target"
"$ROOT/scripts/fuzz.sh" 60

log "building the worker (and the dashboard) and the mock upstream"
"$ROOT/scripts/build-worker.sh"
cargo build -p mock-openai --quiet

log "SDK: the npm package, its JavaScript layer, and installing it from the packed tarball"
"$ROOT/scripts/build-sdk.sh"
node --test --test-force-exit tests/sdk/

log "end-to-end tests"
# --test-force-exit: a file whose hooks failed still exits (the harness kills what it
# started); `timeout` bounds the whole suite so a hang is a failure, not a stalled CI.
timeout --kill-after=30 2400 node --test --test-concurrency=1 --test-force-exit tests/e2e/

log "all tests passed in $(( $(date +%s) - start )) s"

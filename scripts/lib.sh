# Shared by the scripts in this folder: paths, pinned versions, logging.
# shellcheck shell=bash
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORKER_BUILD_VERSION="0.8.7"
CARGO_FUZZ_VERSION="0.13.2"
ESBUILD="$ROOT/node_modules/.bin/esbuild"
WRANGLER="$ROOT/node_modules/.bin/wrangler"
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
export PATH="$CARGO_BIN:$PATH"
# Written by setup.sh when the wasm32 target had to come from Debian's packages.
WASM_ENV_FILE="$ROOT/target/llmobserve-wasm.env"

log() { printf "\033[1;34m==>\033[0m [%4ds] %s\n" "$SECONDS" "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# The wasm-bindgen version that Cargo.lock resolved: the CLI must equal it exactly.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}
export WRANGLER_SEND_METRICS=false

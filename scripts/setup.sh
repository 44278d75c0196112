#!/usr/bin/env bash
# Installs everything llmobserve needs to build, run and test, idempotently: the wasm32
# target (rustup, or Debian's packages when rustup cannot), worker-build, the wasm-bindgen
# CLI that matches Cargo.lock, npm dependencies from package-lock.json, cargo-fuzz. Safe to rerun:
# each step checks first and does nothing when it is already done.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

command -v cargo >/dev/null || die "cargo not found: install Rust with rustup (https://rustup.rs)"
command -v node >/dev/null || die "node not found: install Node.js 20 or newer"

# 1. wasm32 target.
if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  rm -f "$WASM_ENV_FILE"
elif rustup target add wasm32-unknown-unknown >&2; then
  rm -f "$WASM_ENV_FILE"
else
  log "rustup could not add wasm32-unknown-unknown; using Debian's Rust and building std from source"
  if ! [ -x /usr/bin/wasm-ld-22 ] || ! [ -d /usr/lib/rustlib/src/rust ]; then
    apt-get update >&2 && apt-get install -y rustc-web cargo-web rust-web-src lld-22 >&2 \
      || die "could not install rustc-web cargo-web rust-web-src lld-22"
  fi
  mkdir -p "$(dirname "$WASM_ENV_FILE")"
  cat > "$WASM_ENV_FILE" <<ENV
export RUSTC=/usr/bin/rustc
export RUSTC_BOOTSTRAP=1
export CARGO_UNSTABLE_BUILD_STD=std,panic_abort
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-22
export PATH=/usr/bin:\$PATH
ENV
fi

# 2. worker-build. The tools are built unoptimised (--debug): that takes under 2 minutes
#    each on 2 cores instead of 5 to 10, and they run in about a second either way.
if ! worker-build --version 2>/dev/null | grep -q "$WORKER_BUILD_VERSION"; then
  log "installing worker-build $WORKER_BUILD_VERSION (about 2 minutes on 2 cores)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked --debug >&2
fi

# 3. wasm-bindgen CLI, exactly the library's version (it is installed without --locked:
#    one of its locked dependency versions is gone from the registry).
want="$(wasm_bindgen_version)"
[ -n "$want" ] || { cargo generate-lockfile >&2; want="$(wasm_bindgen_version)"; }
if ! wasm-bindgen --version 2>/dev/null | grep -q " $want\$"; then
  log "installing wasm-bindgen-cli $want (about 1 minute on 2 cores)"
  cargo install wasm-bindgen-cli --version "$want" --force --debug >&2
fi

# 4. npm dependencies (wrangler, esbuild, openai) from the committed lockfile.
if ! [ -x "$WRANGLER" ] || ! [ -x "$ESBUILD" ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm dependencies"
  npm ci --no-audit --no-fund >&2
fi
# 5. Express and TypeScript for the SDK's tests, from their own lockfile. (The SDK itself is
#    built with cargo and the wasm-bindgen CLI above: scripts/build-sdk.sh.)
if ! [ -d tests/sdk/node_modules/express ] || [ tests/sdk/package-lock.json -nt tests/sdk/node_modules/.package-lock.json ]; then
  log "installing the SDK tests' npm dependencies"
  npm ci --prefix tests/sdk --no-audit --no-fund >&2
fi
# 6. Chromium for the dashboard's browser tests (driven by playwright-core, which cannot
#    download browsers here): Debian's package.
if ! [ -x /usr/bin/chromium ]; then
  log "installing Debian's chromium for the dashboard's browser tests"
  { apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }; } >&2 \
    || die "could not install chromium (apt-get install -y chromium, as root)"
fi
# 7. cargo-fuzz, for core's fuzz targets (scripts/fuzz.sh), unoptimised like the tools above
#    (about 1 minute on 2 cores).
if ! cargo fuzz --version 2>/dev/null | grep -q " $CARGO_FUZZ_VERSION\$"; then
  log "installing cargo-fuzz $CARGO_FUZZ_VERSION (about 1 minute on 2 cores)"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --debug --force >&2
fi
log "setup complete"

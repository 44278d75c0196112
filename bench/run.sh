#!/usr/bin/env bash
# `make bench`: the gateway-overhead benchmark, side by side with the platform floor and
# two peer gateways. Installs and builds what it needs (idempotently), then runs
# bench/bench.mjs, which prints the table and rewrites its section of BENCHMARKS.md.
#
#   bench/run.sh            full run: 5 shuffled rounds, every target (about 10 minutes on 2 cores)
#   bench/run.sh --quick    one short round, every target; BENCHMARKS.md left alone
#   bench/run.sh --smoke    one round of 50 requests, direct and llmobserve only; fails on any error
# Other arguments go to bench.mjs (--seed N to replay a run's shuffles, --out FILE).
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
BENCH="$ROOT/bench"
export BENCH_RUN_STARTED_MS="$(date +%s%3N)"
OHA_VERSION="1.16.0"
LITELLM_SPEC="litellm[proxy]==1.108.0"

profile=full
args=()
for a in "$@"; do
  case "$a" in
    --quick) profile=quick ;;
    --smoke) profile=smoke ;;
    --ab) profile=ab ;;
    *) args+=("$a") ;;
  esac
done

"$ROOT/scripts/setup.sh"

# The load tool, from crates.io.
if ! "$CARGO_BIN/oha" --version 2>/dev/null | grep -q " $OHA_VERSION\$"; then
  log "installing oha $OHA_VERSION (the load tool; a few minutes on 2 cores)"
  cargo install oha --version "$OHA_VERSION" --locked >&2
fi

log "building the worker and the release mock upstream"
"$ROOT/scripts/build-worker.sh"
"$ROOT/scripts/build-worker.sh" bench/workers/wasm-passthrough
(cd "$ROOT" && cargo build --release -p mock-openai --quiet)

if [ "$profile" != smoke ]; then
  # Peers. A peer that cannot be installed is reported "not available" in the table; the
  # benchmark still runs.
  if ! [ -f "$BENCH/peers/node_modules/.package-lock.json" ] \
     || [ "$BENCH/peers/package-lock.json" -nt "$BENCH/peers/node_modules/.package-lock.json" ]; then
    log "installing the Portkey gateway (bench/peers)"
    (cd "$BENCH/peers" && npm ci --no-audit --no-fund >&2) || log "Portkey could not be installed; it will be reported as not available"
  fi
  req="$BENCH/peers/litellm-requirements.txt"
  stamp="$BENCH/.venv/.installed-$(sha256sum "$req" | cut -c1-16)"
  if ! [ -f "$stamp" ]; then
    log "installing LiteLLM's proxy into bench/.venv (a few minutes the first time)"
    if { [ -x "$BENCH/.venv/bin/python" ] || python3 -m venv "$BENCH/.venv" >&2; } \
       && { "$BENCH/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2 \
            || "$BENCH/.venv/bin/pip" install --quiet --disable-pip-version-check "$LITELLM_SPEC" >&2; }; then
      rm -f "$BENCH"/.venv/.installed-* && touch "$stamp"
    else
      log "LiteLLM could not be installed; it will be reported as not available"
    fi
  fi
fi

cd "$ROOT"
exec node "$BENCH/bench.mjs" --profile "$profile" "${args[@]}"

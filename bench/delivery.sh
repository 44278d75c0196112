#!/usr/bin/env bash
# The delivery load and reconciliation run (docs/delivery.md) at a bigger size than
# `make test` runs it: the same test file, more calls. Prints calls sent, recorded,
# duplicates and lost for each write mode; exits 1 on any loss, duplicate or mismatch.
#
#   bench/delivery.sh              5000 calls in queue mode, 2000 in direct mode
#   bench/delivery.sh 10000 4000   other sizes
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ROOT"
"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build-worker.sh"
cargo build -p mock-openai --quiet
DELIVERY_CALLS="${1:-5000}" DELIVERY_DIRECT_CALLS="${2:-2000}" \
  node --test --test-force-exit --test-timeout=3600000 tests/e2e/delivery.test.mjs

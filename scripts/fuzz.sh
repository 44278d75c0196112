#!/usr/bin/env bash
# Fuzzes every parser of untrusted input in core (core/fuzz/fuzz_targets): builds the
# targets with cargo-fuzz, then runs each for SECONDS (default 60), two at a time, from the
# committed corpus (core/fuzz/corpus/<target>, only read). A finding (a panic, a broken
# property, a hang over 10 s) fails the run; its input is kept in core/fuzz/artifacts/.
#
#   scripts/fuzz.sh [SECONDS] [--save] [TARGET...]
#
# --save merges what the run found that covers new code into the committed corpus,
# minimised (the hand-written seed-* files always stay): review and commit it.
# cargo-fuzz needs nightly compiler flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain
# take them. No sanitizer (core forbids unsafe code); debug assertions and overflow
# checks are on, so an arithmetic overflow is a finding too.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
FUZZ="$ROOT/core/fuzz"
cd "$FUZZ"

seconds=60
save=0
targets=()
for arg in "$@"; do
  case "$arg" in
    --save) save=1 ;;
    ''|*[!0-9]*) targets+=("$arg") ;;
    *) seconds="$arg" ;;
  esac
done
jobs="${FUZZ_JOBS:-2}"

command -v cargo-fuzz >/dev/null || die "cargo-fuzz not found: run scripts/setup.sh"
export RUSTC_BOOTSTRAP=1
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)
triple="$(rustc -vV | sed -n 's/^host: //p')"

log "fuzz: building the targets"
cargo fuzz build --sanitizer none --debug-assertions --target "$triple" >&2

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export FUZZ work seconds triple

run_one() {
  local t="$1" bin="$FUZZ/target/$triple/release/$1"
  mkdir -p "$work/$t" "$FUZZ/corpus/$t"
  local start=$SECONDS rc=0
  "$bin" "$work/$t" "$FUZZ/corpus/$t" -max_total_time="$seconds" -timeout=10 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$work/$t-" >"$work/$t.log" 2>&1 || rc=$?
  local runs eps corpus
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log")"
  eps="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$t.log")"
  corpus="$(find "$FUZZ/corpus/$t" "$work/$t" -type f | wc -l)"
  if [ "$rc" -eq 0 ]; then
    printf 'fuzz %-12s ok: %s runs in %d s (%s execs/s), corpus %s inputs\n' "$t" "${runs:-?}" $((SECONDS - start)) "${eps:-?}" "$corpus"
    return 0
  fi
  mkdir -p "$FUZZ/artifacts/$t"
  local found=""
  for a in "$work/$t"-*; do
    [ -f "$a" ] || continue
    cp "$a" "$FUZZ/artifacts/$t/"
    found="core/fuzz/artifacts/$t/$(basename "$a")"
  done
  printf 'fuzz %-12s FINDING (exit %s) after %d s:\n' "$t" "$rc" $((SECONDS - start))
  grep -E -A6 "panicked at|ERROR: libFuzzer|timeout after" "$work/$t.log" | head -20 | sed 's/^/    /'
  [ -n "$found" ] && printf '    input: %s\n    rerun: cd core/fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -s none -a %s ../../%s\n' "$found" "$t" "$found"
  return 1
}
export -f run_one

log "fuzz: ${seconds} s per target, ${jobs} at a time"
status=0
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one {}' || status=1

if [ "$save" -eq 1 ]; then
  for t in "${targets[@]}"; do
    merged="$work/merged-$t"
    mkdir -p "$merged"
    "$FUZZ/target/$triple/release/$t" -merge=1 -max_len=8192 "$merged" "$FUZZ/corpus/$t" "$work/$t" >/dev/null 2>&1 || continue
    find "$FUZZ/corpus/$t" -type f ! -name 'seed-*' -delete
    cp -n "$merged"/* "$FUZZ/corpus/$t/" 2>/dev/null || true
    # Merged inputs are named by their SHA-1: drop the copies of the seeds.
    for s in "$FUZZ/corpus/$t"/seed-*; do
      [ -f "$s" ] && rm -f "$FUZZ/corpus/$t/$(sha1sum "$s" | cut -d' ' -f1)"
    done
    log "fuzz: corpus/$t now has $(find "$FUZZ/corpus/$t" -type f | wc -l) inputs"
  done
fi
[ "$status" -eq 0 ] || die "fuzzing found a problem (inputs in core/fuzz/artifacts/)"
log "fuzz: no finding"

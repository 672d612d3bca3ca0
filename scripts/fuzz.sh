#!/usr/bin/env bash
# Bounded fuzzing of the parsers that take hostile input: the Cookie
# header reader, the signed-value decoders and the stored-record decoder.
#
# usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#   SECONDS   per target (default: $FUZZ_SECONDS, else 20 — what scripts/test.sh runs)
#   TARGET    any of: cookie_header signed_value stored_record (default: all)
# env:
#   FUZZ_SECONDS    seconds per target when no SECONDS argument is given
#   FUZZ_SANITIZER  none (default: the crate forbids unsafe code, so this buys speed)
#                   or address (AddressSanitizer, about half the executions)
#   FUZZ_JOBS       parallel libFuzzer jobs per target (default 1)
#
# Each target starts from the committed seed corpus (fuzz/seeds/<target>: Django's
# signing vectors and the hostile inputs) plus what earlier runs on this machine
# found (fuzz/corpus/<target>, not committed), and runs for SECONDS with a
# 10-second timeout per input and a 2 GiB memory limit. Any crash (a panic or a
# failed property), timeout or out-of-memory fails the script; the input is kept
# in fuzz/artifacts/<target>/ with the command to reproduce it. Prints the
# executions per target.
#
# cargo-fuzz needs nightly-only flags; this machine has only the stable
# toolchain, so they are enabled with RUSTC_BOOTSTRAP=1 (scoped to this script).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

ALL_TARGETS=(cookie_header signed_value stored_record)
seconds="${FUZZ_SECONDS:-20}"
if [[ $# -gt 0 && "$1" =~ ^[0-9]+$ ]]; then
  seconds="$1"; shift
fi
targets=("$@")
(( ${#targets[@]} )) || targets=("${ALL_TARGETS[@]}")
sanitizer="${FUZZ_SANITIZER:-none}"
jobs="${FUZZ_JOBS:-1}"

for t in "${targets[@]}"; do
  [[ " ${ALL_TARGETS[*]} " == *" $t "* ]] || { echo "fuzz: unknown target $t (have: ${ALL_TARGETS[*]})" >&2; exit 2; }
done

# Input size limits: the Cookie reader must see headers past its 32 KiB cut-off.
max_len() {
  case "$1" in
    cookie_header) echo 40000 ;;
    *) echo 16384 ;;
  esac
}

if ! cargo fuzz --version >/dev/null 2>&1; then
  bash scripts/setup.sh --fuzz
fi

export RUSTC_BOOTSTRAP=1
echo "fuzz: building ${#targets[@]} target(s) (sanitizer: $sanitizer)" >&2
for t in "${targets[@]}"; do
  cargo fuzz build --sanitizer "$sanitizer" "$t" >&2
done

logs="fuzz/target/logs"
mkdir -p "$logs"
rows=()
failed=0
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t"
  log="$logs/$t.log"
  echo "fuzz: $t for ${seconds}s" >&2
  parallel=()
  # (libFuzzer's jobs mode writes fuzz-N.log in the working directory.)
  (( jobs > 1 )) && parallel=(-jobs="$jobs" -workers="$jobs")
  start=$SECONDS rc=0
  cargo fuzz run --sanitizer "$sanitizer" "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$(max_len "$t")" \
    -print_final_stats=1 "${parallel[@]}" >"$log" 2>&1 || rc=$?
  secs=$((SECONDS - start))
  if (( jobs > 1 )); then cat fuzz-*.log >>"$log" 2>/dev/null || true; rm -f fuzz-*.log; fi
  execs=$(awk '/stat::number_of_executed_units:/ { n += $2; seen = 1 } END { if (seen) print n }' "$log")
  rss=$(awk '/stat::peak_rss_mb:/ { if ($2 > m) m = $2 } END { if (m) print m }' "$log")
  corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
  if (( rc == 0 )); then
    result="ok"
  else
    failed=$((failed + 1))
    if grep -q 'ERROR: libFuzzer: timeout' "$log"; then result="TIMEOUT"
    elif grep -Eq 'out-of-memory|ERROR: libFuzzer: (out-of-memory|malloc limit)' "$log"; then result="OOM"
    else result="CRASH"; fi
    echo "fuzz: $t failed ($result); the end of $log:" >&2
    grep -v '^#[0-9]' "$log" | tail -n 40 >&2
  fi
  rows+=("$(printf '%-14s %6ss %12s %10s %8s MB %8s  %s' "$t" "$secs" "${execs:-?}" \
    "$(( ${execs:-0} / (secs > 0 ? secs : 1) ))/s" "${rss:-?}" "$corpus" "$result")")
done

echo
printf '%-14s %7s %12s %10s %11s %8s  %s\n' target time executions rate "peak RSS" corpus result
printf '%s\n' "${rows[@]}"
(( failed == 0 ))

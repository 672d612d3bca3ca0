#!/usr/bin/env bash
# The benchmark, in one command:  bash bench/run.sh
# Builds the release workers (the empty Rust worker, the Rust bench worker on
# edge-session's `workers` feature, the npm package, the JS workers), runs the
# native micro-benchmarks of the core, measures every scenario x variant on the
# pinned workerd with wrk, and writes bench/results/latest.{json,md,svg}.
# Knobs (env): BENCH_REPS (3), BENCH_DURATION (1 s per run), BENCH_CONNECTIONS (4),
# BENCH_WARMUP (200 requests), BENCH_PORT (43170: ports 43170.. and 44170.. on 127.0.0.1),
# BENCH_ONLY (comma-separated variants, for a partial run; results then cover only those).
set -euo pipefail
BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$BENCH/.." && pwd)"
cd "$REPO"
start=$SECONDS
say() { printf '\n==> %s (%ds)\n' "$1" "$((SECONDS - start))" >&2; }

say "setup"
bash scripts/setup.sh --wasm-pack >/dev/null   # the pinned toolchain (idempotent; seconds when present)
# shellcheck source=scripts/env.sh
source scripts/env.sh
if ! command -v wrk >/dev/null 2>&1; then
  (apt-get install -y wrk || (apt-get update && apt-get install -y wrk)) >/dev/null
fi
if [[ ! -d "$BENCH/node_modules/@hono/session" ]]; then
  (cd "$BENCH" && npm ci --no-audit --no-fund --silent)
fi
mkdir -p "$BENCH/.build"
T="$BENCH/.build"

# Four independent builds at once (each ends in a single-threaded LTO/wasm-opt
# step, so two cores are used better in parallel), each in its own target dir,
# isolated from the repo's target/ where other builds run. The npm package's
# wasm is the npm/wasm crate (the library with feature `js`), as
# scripts/build-npm.sh builds it.
say "build: Rust workers, npm package, size floor, native bench (in parallel; logs in bench/.build/*.log)"
(
  export CARGO_TARGET_DIR="$T/target"
  cd "$BENCH/rust-hello" && worker-build --release >"$T/rust-hello.log" 2>&1
  cd "$BENCH/rust-worker" && worker-build --release >"$T/rust-worker.log" 2>&1
  cd "$BENCH/rust-floor" && worker-build --release >"$T/rust-floor.log" 2>&1
) & rust_pid=$!
(
  export CARGO_TARGET_DIR="$T/target-npm"
  wasm-pack --quiet build "$REPO/npm/wasm" --release --target web --out-dir "$T/npm/pkg" --out-name edge_session --no-pack >"$T/npm.log" 2>&1
) & npm_pid=$!
(
  # The size floor (bench/size-floor): Django's wire-format crates alone, built as the npm wasm is.
  export CARGO_TARGET_DIR="$T/target-floor"
  wasm-pack --quiet build "$BENCH/size-floor" --release --target web --out-dir "$T/floor/pkg" --out-name floor --no-pack >"$T/floor.log" 2>&1
) & floor_pid=$!
(
  export CARGO_TARGET_DIR="$T/target-native"
  cd "$BENCH/native" && cargo build --release >"$T/native-build.log" 2>&1
) & native_pid=$!
failed=0
wait $rust_pid || { echo "Rust worker build failed:" >&2; tail -30 "$T"/rust-*.log >&2; failed=1; }
wait $npm_pid || { echo "npm package build failed:" >&2; tail -30 "$T/npm.log" >&2; failed=1; }
wait $floor_pid || { echo "size floor build failed:" >&2; tail -30 "$T/floor.log" >&2; failed=1; }
wait $native_pid || { echo "native bench build failed:" >&2; tail -30 "$T/native-build.log" >&2; failed=1; }
(( failed == 0 )) || exit 1

say "bundle: JS workers (esbuild)"
node "$BENCH/lib/bundle.mjs" >/dev/null

say "native micro-benchmarks of the core"
(cd "$BENCH/native" && CARGO_TARGET_DIR="$T/target-native" cargo run --quiet --release) | tee "$BENCH/.build/native.txt" | grep -v '^NATIVEJSON' >&2

say "measure on workerd (wrk)"
node "$BENCH/lib/measure.mjs" "$BENCH/.build/raw.json"

say "report"
BENCH_WALL=$((SECONDS - start)) node "$BENCH/lib/report.mjs"
echo "bench/results/latest.md, latest.json, latest.svg written; wall time $((SECONDS - start)) s" >&2

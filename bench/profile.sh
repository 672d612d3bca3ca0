#!/usr/bin/env bash
# Where a bench worker's CPU goes, from V8 CPU profiles taken under load:
#   bash bench/profile.sh [variant[+mode]] [scenario ...]
# e.g. `bash bench/profile.sh edge-session-npm+stub read untouched`; variants and
# scenarios are bench/run.sh's (default: edge-session-npm on the KV stub, every scenario).
# Builds the profiled edge-session worker with the profiling profile (the release passes, with
# the wasm function names kept: npm/wasm/Cargo.toml, bench/rust-worker/Cargo.toml; the npm
# package bundled as bench/run.sh does); the other workers are bench/run.sh's builds, so run
# that once first. Profiles are written to
# bench/.build/profiles/*.cpuprofile, summaries to stdout (bench/lib/profile.mjs says how).
set -euo pipefail
BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$BENCH/.." && pwd)"
cd "$REPO"
# shellcheck source=scripts/env.sh
source scripts/env.sh
T="$BENCH/.build"
mkdir -p "$T"
if [[ "${1:-edge-session-npm}" == edge-session-npm* ]]; then
  CARGO_TARGET_DIR="$T/target-npm" wasm-pack --quiet build "$REPO/npm/wasm" --profiling --target web \
    --out-dir "$T/npm-prof/pkg" --out-name edge_session --no-pack >"$T/npm-prof.log" 2>&1 ||
    { tail -30 "$T/npm-prof.log" >&2; exit 1; }
  node --input-type=module -e '
    import path from "node:path";
    import { assemblePackage, bundle } from "./bench/lib/bundle.mjs";
    const T = path.resolve("bench/.build");
    assemblePackage(path.join(T, "npm-prof/pkg"), path.join(T, "prof-modules"));
    await bundle("edge-session-npm", "prof", path.join(T, "prof-modules"));
  '
fi
if [[ "${1:-}" == edge-session-rust* ]]; then
  # binaryen itself, not scripts/wasm-opt-release.sh (which drops the names worker-build keeps).
  (cd "$BENCH/rust-worker" && WASM_OPT_BIN="$REPO/node_modules/.bin/wasm-opt" CARGO_TARGET_DIR="$T/target" \
    worker-build --profiling -d build-prof >"$T/rust-prof.log" 2>&1) ||
    { tail -30 "$T/rust-prof.log" >&2; exit 1; }
fi
[[ -f "$BENCH/rust-worker/build/index.js" && -f "$T/run/empty/worker.js" ]] ||
  { echo "bench/profile.sh: run bash bench/run.sh once first (it builds the other workers)" >&2; exit 1; }
exec node "$BENCH/lib/profile.mjs" "$@"

#!/usr/bin/env bash
# Full check: setup, formatting, lints (host + wasm32), unit/integration tests, wasm release build.
# Runs every step even after a failure, prints a plain summary, exits non-zero if anything failed.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

bash scripts/setup.sh --wasm-pack
# shellcheck source=scripts/env.sh
source scripts/env.sh

results=()
passed=0
failed=0

# step NAME CMD...: run CMD, record PASS/FAIL with elapsed seconds.
step() {
  local name="$1"; shift
  local start=$SECONDS rc=0
  printf '\n==> %s\n' "$name" >&2
  "$@" || rc=$?
  local secs=$((SECONDS - start))
  if (( rc == 0 )); then
    passed=$((passed + 1)); results+=("PASS  $name (${secs}s)")
  else
    failed=$((failed + 1)); results+=("FAIL  $name (${secs}s, exit $rc)")
  fi
}

step "cargo fmt --check"            cargo fmt --check
step "cargo clippy (host)"          cargo clippy --all-targets -- -D warnings
step "cargo clippy (wasm32)"        cargo clippy --lib --target wasm32-unknown-unknown -- -D warnings
step "cargo clippy (wasm32, workers)" cargo clippy --lib --target wasm32-unknown-unknown --features workers -- -D warnings
step "cargo clippy (wasm32, demo crate)" cargo clippy -p edge-session-demo --target wasm32-unknown-unknown -- -D warnings
step "cargo clippy (wasm32, npm crate)" cargo clippy -p edge-session-npm --target wasm32-unknown-unknown -- -D warnings
step "cargo clippy (wasm32, js)"    cargo clippy --lib --test js_bindings --target wasm32-unknown-unknown --features js -- -D warnings
step "cargo test"                   cargo test
step "cargo doc (host, and wasm32 with the Workers features)" env RUSTDOCFLAGS="-D warnings" bash -c \
  'cargo doc --no-deps -p edge-session && cargo doc --no-deps -p edge-session --target wasm32-unknown-unknown --features workers,js'
step "cargo build (wasm32 release)" cargo build --lib --target wasm32-unknown-unknown --release

# --- the demo worker on workerd (Miniflare), every engine ---
step "worker-build (release, demo)" bash -c 'cd demo && worker-build --release'
wasm_size() {
  local raw gz
  raw=$(wc -c < demo/build/index_bg.wasm) gz=$(gzip -9 -c demo/build/index_bg.wasm | wc -c)
  echo "demo worker wasm: ${raw} B raw, ${gz} B gzip" >&2
}
step "worker wasm size"             wasm_size
step "worker integration (node --test)" node --test 'tests/worker/*.test.mjs'

# --- publishable: the crate, and the demo worker's deploy bundle ---
step "cargo package (what a user gets)" bash scripts/check-package.sh
step "wrangler deploy --dry-run (demo worker)" env WRANGLER_SEND_METRICS=false \
  npx wrangler deploy --dry-run --outdir "$(mktemp -d)"

# --- npm package ---
step "npm package build (wasm-pack)" bash scripts/build-npm.sh
step "npm bindings (wasm-bindgen-test in node)" env CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test --target wasm32-unknown-unknown --features js --test js_bindings
step "worker::Error conversions (wasm-bindgen-test in node)" env CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test --target wasm32-unknown-unknown --features js,workers --test js_bindings
step "npm package flows on workerd (packed tarball)" env EDGE_SESSION_WORKER=js \
  node --test 'tests/worker/engines.test.mjs' 'tests/worker/platform.test.mjs' 'tests/worker/file.test.mjs' \
  'tests/worker/overlap.test.mjs' 'tests/worker/expiry.test.mjs' 'tests/worker/users.test.mjs' 'tests/worker/messages.test.mjs'
step "npm/Rust interop on workerd" node --test 'tests/npm/*.test.mjs'
step "setup --vitest"               bash scripts/setup.sh --vitest
step "testing your worker: vitest-pool-workers (examples/vitest)" bash scripts/vitest-example.sh
step "npm types (tsc --noEmit over a user worker)" tsc -p tests/types
step "npm package lint (publint)" publint npm

# --- demo site in headless Chromium ---
# Debian's chromium (apt-get when /usr/bin/chromium is missing), driven by playwright-core; the site on workerd.
step "setup --chromium"             bash scripts/setup.sh --chromium
step "browser tests (chromium)"     node --test 'tests/browser/*.test.mjs'

# --- fuzzing, bounded ---
# FUZZ_SECONDS (default 20) per target; `scripts/fuzz.sh 600` for a longer run.
step "setup --fuzz (cargo-fuzz)"    bash scripts/setup.sh --fuzz
step "fuzz (${FUZZ_SECONDS:-20}s per target)" bash scripts/fuzz.sh

echo
echo "==== summary ===="
printf '%s\n' "${results[@]}"
echo "steps: $passed ok, $failed not ok"
(( failed == 0 ))

#!/usr/bin/env bash
# Idempotent dev/CI setup for edge-session. Fast (a couple of seconds) when
# everything is already present. See /work/shared/TOOLCHAIN.md for why each pin exists.
#
# usage: scripts/setup.sh [--chromium] [--wasm-pack] [--python] [--fuzz] [--vitest]
#   (always)     rustup target wasm32-unknown-unknown, rustfmt + clippy,
#                worker-build 0.8.7, wasm-bindgen-cli 0.2.130, npm ci (Node 22, wrangler, miniflare, binaryen)
#   --chromium   apt-get install chromium (headless browser tests), if /usr/bin/chromium is missing
#   --wasm-pack  cargo install --locked wasm-pack@0.15.1, if missing or another version
#   --python     python3 venv in .venv (+ pip install -r requirements-dev.txt when that file exists)
#   --fuzz       cargo install --locked cargo-fuzz@0.13.2, if missing or another version (scripts/fuzz.sh)
#   --vitest     npm ci in examples/vitest (vitest + @cloudflare/vitest-pool-workers, pinned by its lock)
set -euo pipefail

WORKER_BUILD_VERSION="0.8.7"
WASM_BINDGEN_VERSION="0.2.130"   # must equal the wasm-bindgen in Cargo.lock
WASM_PACK_VERSION="0.15.1"
CARGO_FUZZ_VERSION="0.13.2"

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
export PATH="$CARGO_BIN:$PATH"

log() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

want_chromium=0 want_wasm_pack=0 want_python=0 want_fuzz=0 want_vitest=0
for arg in "$@"; do
  case "$arg" in
    --chromium) want_chromium=1 ;;
    --wasm-pack) want_wasm_pack=1 ;;
    --python) want_python=1 ;;
    --fuzz) want_fuzz=1 ;;
    --vitest) want_vitest=1 ;;
    -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $arg (try --help)" ;;
  esac
done

# has_version CMD VERSION: true if `CMD --version` mentions exactly VERSION
has_version() {
  local out
  command -v "$1" >/dev/null 2>&1 || return 1
  out="$("$1" --version 2>/dev/null)" || return 1
  printf '%s\n' "$out" | grep -Eq "(^|[^0-9.])${2//./\\.}([^0-9.]|$)"
}

command -v rustup >/dev/null 2>&1 || die "rustup not found (looked on PATH and in $CARGO_BIN)"
command -v npm >/dev/null 2>&1 || die "npm not found"

# --- Rust target and components (for the toolchain selected in this directory) ---
# (capture first, then grep: `producer | grep -q` can SIGPIPE the producer under pipefail)
installed_targets="$(rustup target list --installed)"
if printf '%s\n' "$installed_targets" | grep -qx wasm32-unknown-unknown; then
  log "ok: rust target wasm32-unknown-unknown"
else
  log "installing rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown >&2
fi

installed_components="$(rustup component list --installed)"
for comp in rustfmt clippy; do
  if printf '%s\n' "$installed_components" | grep -Eq "^${comp}(-|$)"; then
    log "ok: rustup component $comp"
  else
    log "installing rustup component $comp"
    rustup component add "$comp" >&2
  fi
done

# --- cargo-installed tools ---
if has_version worker-build "$WORKER_BUILD_VERSION"; then
  log "ok: worker-build $WORKER_BUILD_VERSION"
else
  log "installing worker-build $WORKER_BUILD_VERSION (~3 min fresh)"
  cargo install --locked "worker-build@$WORKER_BUILD_VERSION" >&2
fi

if has_version wasm-bindgen "$WASM_BINDGEN_VERSION"; then
  log "ok: wasm-bindgen-cli $WASM_BINDGEN_VERSION"
else
  # Deliberately NOT --locked: a dependency in its lock file was yanked.
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  cargo install --force "wasm-bindgen-cli@$WASM_BINDGEN_VERSION" >&2
fi
if [[ -f Cargo.lock ]]; then
  lock_wb="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
  if [[ -n "$lock_wb" && "$lock_wb" != "$WASM_BINDGEN_VERSION" ]]; then
    log "WARNING: Cargo.lock has wasm-bindgen $lock_wb but wasm-bindgen-cli is $WASM_BINDGEN_VERSION; they must match"
  fi
fi

# --- npm devDependencies (Node 22, wrangler, miniflare, binaryen/wasm-opt, esbuild) ---
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  log "npm ci"
  npm ci --no-audit --no-fund >&2
else
  log "ok: node_modules up to date"
fi
[[ -x node_modules/.bin/node ]] || die "node_modules/.bin/node missing after npm ci (npm package node@22 failed to install?)"

# --- optional components ---
if (( want_chromium )); then
  if [[ -x /usr/bin/chromium ]]; then
    log "ok: chromium"
  else
    log "installing chromium via apt-get"
    apt-get update >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >&2
  fi
fi

if (( want_wasm_pack )); then
  if has_version wasm-pack "$WASM_PACK_VERSION"; then
    log "ok: wasm-pack $WASM_PACK_VERSION"
  else
    log "installing wasm-pack $WASM_PACK_VERSION (~95 s)"
    cargo install --locked --force "wasm-pack@$WASM_PACK_VERSION" >&2
  fi
fi

if (( want_python )); then
  if [[ -x .venv/bin/python ]]; then
    log "ok: python venv .venv"
  else
    log "creating python venv .venv"
    python3 -m venv .venv >&2
  fi
  req=requirements-dev.txt
  stamp=.venv/.requirements-dev.stamp
  if [[ -f "$req" ]]; then
    if [[ ! -f "$stamp" || "$req" -nt "$stamp" ]]; then
      log "pip install -r $req"
      .venv/bin/python -m pip install --disable-pip-version-check -q -r "$req" >&2
      touch "$stamp"
    else
      log "ok: $req installed"
    fi
  fi
fi

if (( want_fuzz )); then
  # `cargo fuzz --version` prints "cargo-fuzz 0.13.2".
  if out="$(cargo fuzz --version 2>/dev/null)" && [[ "$out" == *" $CARGO_FUZZ_VERSION"* ]]; then
    log "ok: cargo-fuzz $CARGO_FUZZ_VERSION"
  else
    log "installing cargo-fuzz $CARGO_FUZZ_VERSION (~90 s)"
    cargo install --locked --force "cargo-fuzz@$CARGO_FUZZ_VERSION" >&2
  fi
fi

if (( want_vitest )); then
  ex=examples/vitest
  if [[ ! -d $ex/node_modules || $ex/package-lock.json -nt $ex/node_modules/.package-lock.json ]]; then
    log "npm ci in $ex"
    (cd "$ex" && npm ci --no-audit --no-fund >&2)
  else
    log "ok: $ex/node_modules up to date"
  fi
fi

log "done"

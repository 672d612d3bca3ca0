# shellcheck shell=bash
# Source me:  . scripts/env.sh
# Puts the repo's Node 22 / wrangler / wasm-opt and cargo's bin dir first on PATH, and points
# worker-build at local tools so it never tries to download anything (it can't reach the code host).

_es_src="${BASH_SOURCE[0]:-$0}"
REPO="$(cd "$(dirname "$_es_src")/.." && pwd)"
export REPO
_es_cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"

# Prepend (dropping earlier copies, so sourcing twice is harmless).
_es_path=":$PATH:"
for _es_dir in "$_es_cargo_bin" "$REPO/node_modules/.bin"; do
  _es_path="${_es_path//:$_es_dir:/:}"
  _es_path=":$_es_dir${_es_path}"
done
_es_path="${_es_path#:}"
PATH="${_es_path%:}"
export PATH

export WASM_BINDGEN_BIN="$_es_cargo_bin/wasm-bindgen"
export WASM_OPT_BIN="$REPO/scripts/wasm-opt-release.sh"   # binaryen 132 without --debuginfo (node script; needs Node on PATH)

# esbuild: the native binary wrangler's dependency installed (worker-build 0.8.7 expects 0.28.x).
ESBUILD_BIN=""
for _es_cand in "$REPO"/node_modules/@esbuild/*/bin/esbuild \
                "$REPO"/node_modules/wrangler/node_modules/@esbuild/*/bin/esbuild \
                "$REPO/node_modules/esbuild/bin/esbuild"; do
  if [[ -x "$_es_cand" ]]; then ESBUILD_BIN="$_es_cand"; break; fi
done
export ESBUILD_BIN

if [[ ! -x "$REPO/node_modules/.bin/node" || -z "$ESBUILD_BIN" ]]; then
  echo "env.sh: node_modules incomplete; run scripts/setup.sh" >&2
fi
if [[ ! -x "$WASM_BINDGEN_BIN" ]]; then
  echo "env.sh: $WASM_BINDGEN_BIN missing; run scripts/setup.sh" >&2
fi

unset _es_src _es_cargo_bin _es_path _es_dir _es_cand

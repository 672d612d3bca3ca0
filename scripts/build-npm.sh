#!/usr/bin/env bash
# Builds the npm package: wasm-pack over npm/wasm/ (the crate that exports the
# library's `js` feature; --target web, no `worker` crate) into npm/pkg, then
# prints the sizes of what the package ships.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
# shellcheck source=scripts/env.sh
source scripts/env.sh
wasm-pack --quiet build npm/wasm --release --target web --out-dir ../pkg --out-name edge_session --no-pack >&2
rm -f npm/pkg/.gitignore
size() { printf '%s: %s B raw, %s B gzip\n' "$1" "$(wc -c < "$1")" "$(gzip -9 -c "$1" | wc -c)"; }
size npm/pkg/edge_session_bg.wasm >&2
size npm/pkg/edge_session.js >&2
# What a Worker loads besides the glue: the entry, its wasm loader, the API.
cat npm/index.js npm/init-worker.js npm/core.js > "${TMPDIR:-/tmp}/edge-session-npm-js"
size "${TMPDIR:-/tmp}/edge-session-npm-js" >&2
rm -f "${TMPDIR:-/tmp}/edge-session-npm-js"

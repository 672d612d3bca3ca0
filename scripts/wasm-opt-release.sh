#!/usr/bin/env bash
# wasm-opt for release builds: worker-build always appends `--debuginfo`,
# which keeps a ~100 KB names section in the shipped .wasm. This wrapper
# drops `--debuginfo`/`-g` and passes everything else to binaryen 132.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
args=()
for a in "$@"; do
  case "$a" in
    --debuginfo|-g) ;;
    *) args+=("$a") ;;
  esac
done
exec "$REPO/node_modules/.bin/wasm-opt" "${args[@]}"

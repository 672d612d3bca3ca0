#!/usr/bin/env bash
# Compares the npm package's request path at a git revision with the working tree's, in Node:
#   bash bench/npm-ab.sh [rev]     (default HEAD~1)
# Builds both packages (the revision in a temporary worktree, each in its own target dir under
# bench/.build) and the wasm floor (bench/size-floor), and runs bench/lib/npm-ab.mjs over the
# three: CPU µs per request per scenario.
set -euo pipefail
BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$BENCH/.." && pwd)"
cd "$REPO"
# shellcheck source=scripts/env.sh
source scripts/env.sh
REV="${1:-HEAD~1}"
T="$BENCH/.build/ab"
rm -rf "$T/base" "$T/work" "$T/floor"
mkdir -p "$T"
package() { # <source tree> <out dir> <target dir>
  CARGO_TARGET_DIR="$3" wasm-pack --quiet build "$1/npm/wasm" --release --target web \
    --out-dir "$2/pkg" --out-name edge_session --no-pack >"$2.log" 2>&1 || { tail -30 "$2.log" >&2; exit 1; }
  cp "$1"/npm/*.js "$1/npm/package.json" "$2/"
}
WT="$(mktemp -d)"
trap 'git worktree remove --force "$WT" >/dev/null 2>&1 || true' EXIT
git worktree add --detach "$WT" "$REV" >/dev/null
mkdir -p "$T/base" "$T/work"
package "$WT" "$T/base" "$T/target-base"
package "$REPO" "$T/work" "$T/target-work"
# The wasm floor under both, measured the same way.
CARGO_TARGET_DIR="$BENCH/.build/target-floor" wasm-pack --quiet build "$BENCH/size-floor" --release --target web \
  --out-dir "$T/floor" --out-name floor --no-pack >"$T/floor.log" 2>&1 || { tail -30 "$T/floor.log" >&2; exit 1; }
echo "base: $(git rev-parse --short "$REV"); work: the working tree; floor: bench/size-floor's routes" >&2
node "$BENCH/lib/npm-ab.mjs" "$T/base" "$T/work" "$T/floor"

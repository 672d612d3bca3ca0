#!/usr/bin/env bash
# Local worker dev server (wrangler dev under Node 22). Extra args are passed to wrangler.
# PORT / INSPECTOR_PORT override the defaults (8787 / 9229); ports are always explicit.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

bash scripts/setup.sh
# shellcheck source=scripts/env.sh
source scripts/env.sh

exec npx wrangler dev --ip 127.0.0.1 --port "${PORT:-8787}" --inspector-port "${INSPECTOR_PORT:-9229}" \
  --persist-to .wrangler/state "$@"

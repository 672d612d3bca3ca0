#!/usr/bin/env bash
# Runs the vitest-pool-workers example (examples/vitest: a user's worker tested
# inside workerd with edge-session/testing) against the npm package built in
# npm/pkg, and prints a plain "N passed, N failed" line (vitest's own summary
# is not one CI reads).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO/examples/vitest"
report="$(mktemp)"
trap 'rm -f "$report"' EXIT
rc=0
npx vitest run --reporter=default --reporter=json --outputFile="$report" || rc=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`vitest example: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
' "$report" || { echo "vitest example: no report"; exit 1; }
exit "$rc"

#!/usr/bin/env bash
# The crate is publishable and ships only what a user needs: `cargo package`
# builds the packaged crate from its own files, and its file list holds the
# sources and the documents they cite, nothing else (no tests, benchmark
# results, scripts or build output).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
list="$(cargo package --list --allow-dirty -p edge-session 2>/dev/null)"
extra="$(printf '%s\n' "$list" | grep -vE '^(src/.*\.rs|Cargo\.toml|Cargo\.toml\.orig|Cargo\.lock|README\.md|SECURITY\.md|docs/test-api\.md|\.cargo_vcs_info\.json)$' || true)"
if [[ -n "$extra" ]]; then
  printf 'check-package: files a user does not need in the crate:\n%s\n' "$extra" >&2
  exit 1
fi
printf 'check-package: %s files\n' "$(printf '%s\n' "$list" | wc -l)" >&2
# --allow-dirty: a developer's uncommitted edits are packaged as they are.
# (cargo warns once per test target left out of the package: that is the point.)
rc=0
out="$(cargo package --allow-dirty -p edge-session 2>&1)" || rc=$?
printf '%s\n' "$out" | grep -vE '^warning: ignoring (test|example|bench) ' >&2 || true
exit "$rc"

#!/usr/bin/env bash
# The second command: runs every test. Builds the release and the ASan+UBSan configurations and
# runs the whole suite (unit and integration tests) in both.
# Usage: scripts/test.sh [--quick]   (--quick: release configuration only)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --test

export CCACHE_DIR="${CCACHE_DIR:-$PWD/build/.ccache}"
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-2G}"
JOBS="${JOBS:-$(nproc)}"

presets=(release asan)
if [[ "${1:-}" == "--quick" ]]; then
  presets=(release)
fi

status=0
for preset in "${presets[@]}"; do
  echo "=== build: $preset"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$JOBS"
done
for preset in "${presets[@]}"; do
  echo "=== test: $preset"
  if ! ctest --preset "$preset" -j "$JOBS"; then
    status=1
  fi
done
exit $status

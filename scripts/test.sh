#!/usr/bin/env bash
# The second command: runs every test. Builds the release and the ASan+UBSan configurations and
# runs the whole suite (unit and integration tests) in both.
# Usage: scripts/test.sh [--quick]   (--quick: release configuration only)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --test

# The browser tests' Node packages (playwright-core, fhirclient), exactly as locked. Skipped when
# node_modules already holds this very lock file.
lock_sum=$(sha256sum tests/browser/package-lock.json | cut -d' ' -f1)
stamp=tests/browser/node_modules/.portico-lock-sha256
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$lock_sum" ]]; then
  echo "=== npm ci: tests/browser"
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_sum" >"$stamp"
fi

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
# Fuzzing (tests/fuzz/README.md): builds the libFuzzer targets (clang-14, ASan + UBSan) and runs
# each for FUZZ_SECONDS (default 10) on its seed corpus; a crash fails the run. Not with --quick.
fuzz_status=0
if [[ "${1:-}" != "--quick" ]]; then
  echo "=== fuzz: ${FUZZ_SECONDS:-10}s per target"
  tests/fuzz/run.sh "${FUZZ_SECONDS:-10}" || fuzz_status=1
fi
# Every test run gets a throwaway PostgreSQL 15 server (scripts/with-postgres.sh sets
# PORTICO_TEST_PG), so the store conformance suite and the scale-out test run on both backends.
# PORTICO_REQUIRE_PG=1 (like CI=true) makes a missing server a failure rather than a skip.
export PORTICO_REQUIRE_PG=1
for preset in "${presets[@]}"; do
  echo "=== test: $preset"
  if ! scripts/with-postgres.sh ctest --preset "$preset" -j "$JOBS"; then
    status=1
  fi
done
if ((fuzz_status != 0)); then
  echo "=== fuzz: FAILED (reproducers in build/fuzz/artifacts/)"
  status=1
fi
exit $status

#!/usr/bin/env bash
# The second command: runs every test. Builds the release and the ASan+UBSan configurations and
# runs the whole suite (unit and integration tests) in both; builds the ThreadSanitizer
# configuration and runs the unit tests and the integration tests that drive the server
# concurrently (ctest label `concurrency`, see tests/CMakeLists.txt) under it.
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
tsan=(tsan)
if [[ "${1:-}" == "--quick" ]]; then
  presets=(release)
  tsan=()
fi

status=0
for preset in "${presets[@]}" "${tsan[@]}"; do
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
# ThreadSanitizer (the tsan test preset sets TSAN_OPTIONS: halt on the first report, reports to
# build/tsan/tsan-report.PID, suppressions in tests/tsan.supp). A server that halts fails its
# test; any report file left behind fails the run as well (a CLI child may have written it).
if ((${#tsan[@]} > 0)); then
  echo "=== test: tsan (unit tests and the concurrency integration tests)"
  rm -f build/tsan/tsan-report.*
  if ! scripts/with-postgres.sh ctest --preset tsan -j "$JOBS" -L 'unit|concurrency'; then
    status=1
  fi
  if compgen -G "build/tsan/tsan-report.*" >/dev/null; then
    echo "=== tsan: data race reports:"
    cat build/tsan/tsan-report.*
    status=1
  fi
fi
if ((fuzz_status != 0)); then
  echo "=== fuzz: FAILED (reproducers in build/fuzz/artifacts/)"
  status=1
fi
exit $status

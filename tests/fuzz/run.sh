#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset: clang-14, ASan + UBSan) and runs each one on
# its seed corpus for a while. Exits non-zero if any target crashes, leaks, times out or fails an
# invariant; the reproducer is left in build/fuzz/artifacts/.
# Usage: tests/fuzz/run.sh [SECONDS_PER_TARGET (default 10)] [TARGET...]   (default: all)
# New corpus entries go to build/fuzz/grown-corpus/<target>/, never into the checked-in seeds.
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds="${1:-10}"
shift || true
targets=("$@")
if ((${#targets[@]} == 0)); then
  for d in tests/fuzz/corpus/*/; do
    targets+=("$(basename "$d")")
  done
fi

export CCACHE_DIR="${CCACHE_DIR:-$PWD/build/.ccache}"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "${JOBS:-$(nproc)}"

bin=build/fuzz/tests/fuzz
mkdir -p build/fuzz/artifacts
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
status=0
for t in "${targets[@]}"; do
  grown="build/fuzz/grown-corpus/$t"
  log="build/fuzz/artifacts/$t.log"
  mkdir -p "$grown"
  rc=0
  "$bin/$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=25 -print_final_stats=1 \
    -artifact_prefix="build/fuzz/artifacts/$t-" "$grown" "tests/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  corp=$(grep -Eo 'corp: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  if ((rc == 0)); then
    printf 'fuzz: %-16s ok    %9s runs  cov %5s  corpus %5s  (%ss)\n' "$t" "${runs:-?}" "${cov:-?}" \
      "${corp:-?}" "$seconds"
  else
    status=1
    printf 'fuzz: %-16s FAIL  exit %s after %s runs; see %s\n' "$t" "$rc" "${runs:-?}" "$log"
    grep -E 'ERROR|runtime error|INVARIANT|SUMMARY|Test unit written' "$log" | head -8 | sed 's/^/      /'
  fi
done
exit $status

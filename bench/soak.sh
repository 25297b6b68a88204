#!/usr/bin/env bash
# Portico soak test (issue 9): builds the Release binary (unless --bin), generates and imports the
# demo data, starts Portico and runs a mixed SMART + FHIR workload from a second process for
# --minutes (default 10), printing per-minute throughput, errors and server RSS, then a verdict.
# Exit status 1 when the verdict fails (any error, the server gone, or RSS growth from the end of
# the warm-up (a third of the run) to the last minute at or above --rss-bound percent, default 10).
# See bench/README.md.
#
#   bench/soak.sh [--minutes 10] [--bin PATH] [any option of bench/soak.py, e.g. --workers 4]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
bin=""
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bin) bin="$2"; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; python3 "$here/soak.py" --help; exit 0 ;;
    *) args+=("$1"); shift ;;
  esac
done

if [[ -z "$bin" ]]; then
  (cd "$root" && cmake --preset release >/dev/null &&
     cmake --build --preset release -j"$(nproc)" --target portico)
  bin="$root/build/release/src/portico"
fi
mkdir -p "$here/out"
# Soak a copy, so that a rebuild during the run cannot change the binary under test.
cp "$bin" "$here/out/portico-soak"
exec python3 "$here/soak.py" --bin "$here/out/portico-soak" --out "$here/out/soak.md" "${args[@]}"

#!/usr/bin/env bash
# Portico benchmark (issue 8): builds Release, generates data with `portico generate`, imports
# it, starts Portico and nginx on loopback and measures with wrk. Prints a markdown table and
# writes bench/out/results.{md,json} and bench/out/performance.png. See bench/README.md.
#
#   bench/run.sh [--sizes "1000 10000 100000"] [--runs 3] [--duration 5] [--out DIR]
#                [--backends "sqlite postgresql"] [--bin PATH]
#                [any option of bench/bench.py, e.g. --rate 1000 --conns 32]
# --backends: the stores to measure, one after the other in this run (default: sqlite). For
# postgresql a throwaway PostgreSQL 15 server is started (scripts/with-postgres.sh, with fsync on
# and shared_buffers=1GB); its results go to OUT/postgresql/, and a side-by-side table of both
# stores to OUT/compare.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
sizes="1000 10000 100000"
runs=3
duration=5
out="$here/out"
bin=""
backends="sqlite"
extra=()

while [[ $# -gt 0 ]]; do
  case "$1" in
    --sizes) sizes="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    --backends) backends="$2"; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; python3 "$here/bench.py" --help; exit 0 ;;
    *) extra+=("$1"); shift ;;
  esac
done

# Tools: wrk (load), nginx-light (the reference limit), gnuplot-nox (the plot).
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx-light)
command -v gnuplot >/dev/null || need+=(gnuplot-nox)
command -v python3 >/dev/null || need+=(python3)
if [[ ${#need[@]} -gt 0 ]]; then
  echo "installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "${need[@]}" >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null && apt-get install -y -q "${need[@]}" >/dev/null; }
fi

mkdir -p "$out"
if [[ -z "$bin" ]]; then
  (cd "$root" && cmake --preset release >/dev/null &&
     cmake --build --preset release -j"$(nproc)" --target portico)
  bin="$root/build/release/src/portico"
fi
# Measure a copy, so that a rebuild during the run cannot change the binary under test.
cp "$bin" "$out/portico"

# Loopback only; many keep-alive connections need a few more file descriptors than default.
ulimit -n 65536 2>/dev/null || true

for backend in $backends; do
  case "$backend" in
    sqlite)
      python3 "$here/bench.py" --bin "$out/portico" --out "$out" --sizes "$sizes" \
        --runs "$runs" --duration "$duration" "${extra[@]}"
      ;;
    postgresql)
      PORTICO_PG_FSYNC=on PORTICO_PG_SERVER_OPTS="-c shared_buffers=1GB" \
        "$root/scripts/with-postgres.sh" bash -c 'PORTICO_BENCH_PG="$PORTICO_TEST_PG" exec "$@"' _ \
        python3 "$here/bench.py" --backend postgresql --bin "$out/portico" \
        --out "$out/postgresql" --data "$out/data" --sizes "$sizes" --runs "$runs" --duration "$duration" \
        "${extra[@]}"
      ;;
    *) echo "unknown backend: $backend (sqlite or postgresql)" >&2; exit 2 ;;
  esac
done
if [[ " $backends " == *" sqlite "* && " $backends " == *" postgresql "* ]]; then
  python3 "$here/bench.py" --bin "$out/portico" --out "$out" \
    --compare "$out/results.json" "$out/postgresql/results.json"
fi

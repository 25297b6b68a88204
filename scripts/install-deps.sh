#!/usr/bin/env bash
# Installs the Debian 12 packages Portico needs to build, run and test. Idempotent and
# non-interactive. Usage: scripts/install-deps.sh [--test]
set -euo pipefail

BUILD_PACKAGES=(
  g++ cmake ninja-build pkg-config ccache
  libboost1.81-dev libssl-dev libsqlite3-dev zlib1g-dev libsodium-dev
  libcli11-dev libtomlplusplus-dev
  libpq-dev  # the PostgreSQL store (libpq 15)
)
TEST_PACKAGES=(
  googletest libgtest-dev libgmock-dev python3 curl
  openssl  # tests sign client assertions and make TLS certificates with the openssl command
  postgresql-15  # scripts/with-postgres.sh: a throwaway server for the PostgreSQL tests
  chromium  # tests/browser: headless Chromium driven by playwright-core
  clang-14 libclang-rt-14-dev llvm-14  # tests/fuzz: libFuzzer, ASan/UBSan runtimes, symbolizer
)

packages=("${BUILD_PACKAGES[@]}")
if [[ "${1:-}" == "--test" ]]; then
  packages+=("${TEST_PACKAGES[@]}")
  # tests/browser needs Node.js (>= 20) and npm. Machines may carry them from elsewhere than
  # Debian (then dpkg knows no "npm"), so ask Debian only for the commands that are absent.
  command -v node >/dev/null 2>&1 || packages+=(nodejs)
  command -v npm >/dev/null 2>&1 || packages+=(npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  SUDO="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

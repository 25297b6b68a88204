#!/usr/bin/env bash
# The newcomer's first command: installs dependencies, builds Portico, loads the demo data set
# into an embedded SQLite store and starts the server. Ctrl-C stops it.
# Usage: scripts/quickstart.sh [HOST:PORT]   (default 127.0.0.1:8080)
set -euo pipefail
cd "$(dirname "$0")/.."

LISTEN="${1:-127.0.0.1:8080}"
DATA_DIR="${PORTICO_DATA_DIR:-$PWD/var}"

scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target portico

BIN=build/release/src/portico
mkdir -p "$DATA_DIR"
if [[ ! -f "$DATA_DIR/demo.ndjson" ]]; then
  "$BIN" generate --members 25 --out "$DATA_DIR/demo.ndjson"
fi
"$BIN" import --db "sqlite:$DATA_DIR/portico.db" "$DATA_DIR/demo.ndjson"
exec "$BIN" serve --db "sqlite:$DATA_DIR/portico.db" --listen "$LISTEN"

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

# A demo app and demo accounts (development only: the secret and passwords are printed here).
DB="sqlite:$DATA_DIR/portico.db"
echo "demo-app-secret-0123456789" |
  "$BIN" client add --db "$DB" --client-id demo-app --name "Demo App" \
    --redirect-uri http://localhost:9000/callback --secret-stdin >/dev/null
echo "demo-password-1" |
  "$BIN" user add --db "$DB" --username demo-parent --password-stdin \
    --patient demo-member-1 --represents demo-member-2 >/dev/null
echo "demo-password-2" |
  "$BIN" user add --db "$DB" --username demo-member --password-stdin \
    --patient demo-member-3 >/dev/null
cat <<EOF
Demo app:      client_id demo-app, client_secret demo-app-secret-0123456789,
               redirect_uri http://localhost:9000/callback
Demo accounts: demo-parent / demo-password-1 (member demo-member-1, acts for demo-member-2)
               demo-member / demo-password-2 (member demo-member-3)
EOF
exec "$BIN" serve --db "sqlite:$DATA_DIR/portico.db" --listen "$LISTEN"

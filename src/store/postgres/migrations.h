// The PostgreSQL schema as an ordered list of forward-only migrations, recorded in
// schema_migrations. Migrate() runs every pending step in one transaction that first takes a
// transaction-scoped advisory lock, so nodes starting together apply each step exactly once (the
// others wait, then find nothing to do). A database recorded at a version newer than this binary
// knows is refused (kFailedPrecondition): old binaries never write to a newer schema.
#pragma once

#include <string>
#include <vector>

#include "src/base/status.h"
#include "src/store/postgres/pg.h"

namespace portico::store::postgres {

struct Migration {
  int version;
  std::string description;
  std::string sql;  // one or more statements, no parameters
};

// Every migration, oldest first (versions 1, 2, ...).
const std::vector<Migration>& Migrations();
int LatestSchemaVersion();

// Applies the pending migrations up to `target` (-1: the latest). Returns the schema version the
// database is at afterwards. `conn` must be outside a transaction.
StatusOr<int> Migrate(PgConn& conn, int target = -1);

// The recorded schema version (0 for an empty database).
StatusOr<int> SchemaVersion(PgConn& conn);

}  // namespace portico::store::postgres

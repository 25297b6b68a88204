// Opens the stores named by a --db value (the composition root's choice of implementation).
#pragma once

#include <memory>
#include <string>

#include "src/base/status.h"
#include "src/base/time.h"
#include "src/fhir/search/registry.h"
#include "src/store/auth_store.h"
#include "src/store/resource_store.h"

namespace portico::app {

// Connection settings of the PostgreSQL backend (ignored for sqlite:).
struct StoreOptions {
  std::string read_url;  // optional read replica
  int pool_size = 8;
  int connect_timeout_seconds = 5;
  int acquire_timeout_ms = 5000;
  int statement_timeout_ms = 30000;
  bool prepared_statements = true;
  bool migrate = true;  // apply pending schema migrations when first connected
};

// The options a server or command with `config` uses.
StoreOptions StoreOptionsFrom(const struct Config& config);

struct Stores {
  std::shared_ptr<const fhir::SearchParamRegistry> registry;
  std::unique_ptr<store::ResourceStore> resources;
  std::unique_ptr<store::AuthStore> auth;  // shares the resources' database
};

// `db` is sqlite:PATH or postgresql://USER@HOST:PORT/DB. A PostgreSQL server that cannot be
// reached is not an error: the stores answer kUnavailable until it is back (then they migrate
// and serve). REQUIRES: `clock` outlives the stores.
StatusOr<std::unique_ptr<Stores>> OpenStores(const std::string& db, const base::Clock& clock,
                                             const StoreOptions& options = {});

// `portico migrate`: brings the schema of `db` to this release (waiting up to
// connect_timeout_seconds for PostgreSQL to accept connections). Returns a line to print.
StatusOr<std::string> MigrateDatabase(const std::string& db, const StoreOptions& options);

// "Ava Smith, born 2015-04-02" for the picker and consent pages ("member <id>" when unknown).
std::string PatientLabel(store::ResourceStore& resources, const std::string& patient_id);

}  // namespace portico::app

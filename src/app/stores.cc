#include "src/app/stores.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "src/app/commands.h"
#include "src/app/config.h"
#include "src/json/json.h"
#include "src/store/sqlite/sqlite_auth_store.h"
#include "src/store/sqlite/sqlite_store.h"
#ifdef PORTICO_WITH_POSTGRES
#include "src/store/postgres/migrations.h"
#include "src/store/postgres/postgres_auth_store.h"
#include "src/store/postgres/postgres_store.h"
#endif

namespace portico::app {

StoreOptions StoreOptionsFrom(const Config& config) {
  StoreOptions o;
  o.read_url = config.db_read_url;
  o.pool_size = config.db_pool_size;
  if (o.pool_size <= 0) {
    // HTTP handlers run on the I/O threads and hold a connection per request.
    int threads = config.threads > 0 ? config.threads : 4;
    o.pool_size = std::max(8, 2 * threads);
  }
  o.connect_timeout_seconds = config.db_connect_timeout_seconds;
  o.acquire_timeout_ms = config.db_acquire_timeout_ms;
  o.statement_timeout_ms = config.db_statement_timeout_ms;
  o.prepared_statements = config.db_prepared_statements;
  return o;
}

namespace {

#ifdef PORTICO_WITH_POSTGRES
store::postgres::PostgresOptions PgOptions(const std::string& db, const StoreOptions& o) {
  store::postgres::PostgresOptions p;
  p.url = db;
  p.read_url = o.read_url;
  p.pool_size = o.pool_size;
  p.connect_timeout_seconds = o.connect_timeout_seconds;
  p.acquire_timeout_ms = o.acquire_timeout_ms;
  p.statement_timeout_ms = o.statement_timeout_ms;
  p.prepared_statements = o.prepared_statements;
  p.migrate = o.migrate;
  return p;
}
#endif

}  // namespace

StatusOr<std::unique_ptr<Stores>> OpenStores(const std::string& db, const base::Clock& clock,
                                             const StoreOptions& options) {
  auto out = std::make_unique<Stores>();
  if (IsPostgresUrl(db)) {
#ifdef PORTICO_WITH_POSTGRES
    ASSIGN_OR_RETURN(out->registry, fhir::SearchParamRegistry::LoadBuiltin());
    ASSIGN_OR_RETURN(auto pg, store::postgres::PostgresStore::Open(PgOptions(db, options),
                                                                   out->registry, clock));
    out->auth = std::make_unique<store::postgres::PostgresAuthStore>(*pg);
    out->resources = std::move(pg);
    return out;
#else
    return InvalidArgumentError(
        "this build has no PostgreSQL support (configure with libpq-dev installed); use --db "
        "sqlite:PATH");
#endif
  }
  ASSIGN_OR_RETURN(std::string path, SqlitePath(db));
  ASSIGN_OR_RETURN(out->registry, fhir::SearchParamRegistry::LoadBuiltin());
  ASSIGN_OR_RETURN(auto sqlite, store::sqlite::SqliteStore::Open(path, out->registry, clock));
  ASSIGN_OR_RETURN(auto auth, store::sqlite::SqliteAuthStore::Open(*sqlite));
  out->auth = std::move(auth);
  out->resources = std::move(sqlite);
  return out;
}

StatusOr<std::string> MigrateDatabase(const std::string& db, const StoreOptions& options) {
  if (IsPostgresUrl(db)) {
#ifdef PORTICO_WITH_POSTGRES
    store::postgres::PgOptions po;
    po.conninfo = db;
    po.connect_timeout_seconds = options.connect_timeout_seconds;
    po.statement_timeout_ms = 0;  // migrations may rewrite large tables
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::seconds(std::max(1, options.connect_timeout_seconds));
    while (true) {
      auto conn = store::postgres::PgConn::Connect(po);
      if (conn.ok()) {
        ASSIGN_OR_RETURN(int before, store::postgres::SchemaVersion(**conn));
        ASSIGN_OR_RETURN(int after, store::postgres::Migrate(**conn));
        return "schema at version " + std::to_string(after) + " (was " + std::to_string(before) +
               ")";
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        return conn.status();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
#else
    return InvalidArgumentError("this build has no PostgreSQL support");
#endif
  }
  // SQLite migrates whenever a database is opened.
  ASSIGN_OR_RETURN(auto stores, OpenStores(db, base::SystemClock::Get(), options));
  return std::string("schema up to date");
}

int RunMigrate(const Config& config) {
  StoreOptions options = StoreOptionsFrom(config);
  auto done = MigrateDatabase(config.db, options);
  if (!done.ok()) {
    std::fprintf(stderr, "portico migrate: %s\n", done.status().message().c_str());
    return 1;
  }
  std::fprintf(stdout, "portico migrate: %s\n", done->c_str());
  return 0;
}

std::string PatientLabel(store::ResourceStore& resources, const std::string& patient_id) {
  auto r = resources.Read("Patient", patient_id);
  if (!r.ok() || !r->has_value() || (*r)->deleted) {
    return "member " + patient_id;
  }
  auto v = json::Parse((*r)->body);
  if (!v.ok()) {
    return "member " + patient_id;
  }
  std::string name;
  if (const json::Value* names = v->Find("name");
      names != nullptr && names->is_array() && !names->array().empty()) {
    const json::Value& n = names->array()[0];
    if (!n.GetString("text").empty()) {
      name = std::string(n.GetString("text"));
    } else {
      if (const json::Value* given = n.Find("given"); given != nullptr && given->is_array()) {
        for (const json::Value& g : given->array()) {
          if (g.is_string()) {
            name += g.str() + " ";
          }
        }
      }
      name += std::string(n.GetString("family"));
    }
  }
  if (name.empty()) {
    name = "member " + patient_id;
  }
  std::string_view birth = v->GetString("birthDate");
  if (!birth.empty()) {
    name += ", born " + std::string(birth);
  }
  return name;
}

}  // namespace portico::app

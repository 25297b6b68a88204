// Test support: opens a fresh, empty store pair (resources + auth) on each backend the build and
// the environment provide, so one suite of cases runs against SQLite and PostgreSQL.
//
//   - "sqlite": a database file in the temporary directory, always.
//   - "postgres": a new database on the server named by env PORTICO_TEST_PG (a libpq URL, e.g.
//     set by scripts/with-postgres.sh), dropped again afterwards. One database per test, so
//     tests may run in parallel processes. In CI (env CI=true, or PORTICO_REQUIRE_PG=1 as
//     scripts/test.sh sets) a missing PORTICO_TEST_PG is a failure, never a silent skip.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "src/base/status.h"
#include "src/base/time.h"
#include "src/fhir/search/registry.h"
#include "src/store/auth_store.h"
#include "src/store/resource_store.h"

namespace portico::store::testing {

// The backend names to instantiate suites with ("sqlite", and "postgres" when built with it).
std::vector<std::string> Backends();
// Why a test on `backend` must be skipped here ("" = run it): "postgres" without a server
// outside CI.
std::string SkipReason(const std::string& backend);

// The PostgreSQL server URL for tests ("" when none is configured).
std::string PostgresTestUrl();
// True when PostgreSQL tests must run (CI) even if PostgresTestUrl() is empty.
bool PostgresRequired();
// `url` with its database name replaced by `db`.
std::string WithDatabase(const std::string& url, const std::string& db);

// A fresh database on one backend; removed when destroyed.
class TestDatabase {
 public:
  // `name` makes the database unique (e.g. the test's name); `backend` is from Backends().
  static StatusOr<std::unique_ptr<TestDatabase>> Create(const std::string& backend,
                                                        const std::string& name);
  ~TestDatabase();

  // The --db value for this database (sqlite:PATH or a postgresql:// URL).
  const std::string& db() const { return db_; }
  // Opens a store pair on it (a second call opens a second, independent pair: another "node").
  // REQUIRES: `clock` outlives the stores; `auth` is destroyed before `resources`.
  Status Open(std::shared_ptr<const fhir::SearchParamRegistry> registry, const base::Clock& clock,
              std::unique_ptr<ResourceStore>& resources, std::unique_ptr<AuthStore>& auth);

 private:
  TestDatabase(std::string backend, std::string db, std::string admin_url, std::string name)
      : backend_(std::move(backend)),
        db_(std::move(db)),
        admin_url_(std::move(admin_url)),
        name_(std::move(name)) {}
  std::string backend_;
  std::string db_;
  std::string admin_url_;  // postgres: the server's maintenance database
  std::string name_;       // postgres: the database name; sqlite: the file path
};

}  // namespace portico::store::testing

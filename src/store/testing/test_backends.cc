#include "src/store/testing/test_backends.h"

#include <cctype>
#include <cstdlib>
#include <filesystem>

#include <unistd.h>

#include "src/store/sqlite/sqlite_auth_store.h"
#include "src/store/sqlite/sqlite_store.h"
#ifdef PORTICO_WITH_POSTGRES
#include "src/store/postgres/pg.h"
#include "src/store/postgres/postgres_auth_store.h"
#include "src/store/postgres/postgres_store.h"
#endif

namespace portico::store::testing {

std::string PostgresTestUrl() {
  const char* v = std::getenv("PORTICO_TEST_PG");
  return v == nullptr ? "" : v;
}

bool PostgresRequired() {
  const char* ci = std::getenv("CI");
  const char* req = std::getenv("PORTICO_REQUIRE_PG");
  return (ci != nullptr && std::string(ci) == "true") ||
         (req != nullptr && std::string(req) == "1");
}

std::vector<std::string> Backends() {
  // Listed whether or not a server is configured, so the test list does not depend on the
  // environment of whoever listed it first (ctest caches it); SkipReason() decides at run time.
#ifdef PORTICO_WITH_POSTGRES
  return {"sqlite", "postgres"};
#else
  return {"sqlite"};
#endif
}

std::string SkipReason(const std::string& backend) {
  if (backend == "postgres" && PostgresTestUrl().empty() && !PostgresRequired()) {
    return "PORTICO_TEST_PG is not set (scripts/with-postgres.sh sets it)";
  }
  return "";
}

std::string WithDatabase(const std::string& url, const std::string& db) {
  size_t scheme = url.find("://");
  size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  size_t query = url.find('?', start);
  size_t host_end = url.find('/', start);
  if (host_end == std::string::npos || (query != std::string::npos && host_end > query)) {
    host_end = query == std::string::npos ? url.size() : query;
  }
  return url.substr(0, host_end) + "/" + db + (query == std::string::npos ? "" : url.substr(query));
}

namespace {

std::string Sanitize(const std::string& s) {
  std::string out;
  for (char c : s) {
    out.push_back(std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c))
                                                              : '_');
  }
  return out.substr(0, 40);
}

}  // namespace

StatusOr<std::unique_ptr<TestDatabase>> TestDatabase::Create(const std::string& backend,
                                                             const std::string& name) {
  std::string unique = Sanitize(name) + "_" + std::to_string(getpid());
  if (backend == "sqlite") {
    std::string path =
        (std::filesystem::temp_directory_path() / ("portico-conf-" + unique + ".db")).string();
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(path + suffix);
    }
    return std::unique_ptr<TestDatabase>(new TestDatabase(backend, "sqlite:" + path, "", path));
  }
#ifdef PORTICO_WITH_POSTGRES
  std::string url = PostgresTestUrl();
  if (url.empty()) {
    return Status(StatusCode::kFailedPrecondition,
                  "PORTICO_TEST_PG is not set (CI must run the PostgreSQL tests: "
                  "scripts/with-postgres.sh)");
  }
  std::string admin = WithDatabase(url, "postgres");
  std::string db = "t_" + unique;
  postgres::PgOptions po;
  po.conninfo = admin;
  ASSIGN_OR_RETURN(auto conn, postgres::PgConn::Connect(po));
  // Identifiers cannot be parameters; `db` is [a-z0-9_] only.
  (void)conn->Exec("DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
  RETURN_IF_ERROR(conn->Exec("CREATE DATABASE " + db).status());
  return std::unique_ptr<TestDatabase>(new TestDatabase(backend, WithDatabase(url, db), admin, db));
#else
  return Status(StatusCode::kFailedPrecondition, "built without PostgreSQL support");
#endif
}

TestDatabase::~TestDatabase() {
  if (backend_ == "sqlite") {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(name_ + suffix);
    }
    return;
  }
#ifdef PORTICO_WITH_POSTGRES
  postgres::PgOptions po;
  po.conninfo = admin_url_;
  auto conn = postgres::PgConn::Connect(po);
  if (conn.ok()) {
    (void)(*conn)->Exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  }
#endif
}

Status TestDatabase::Open(std::shared_ptr<const fhir::SearchParamRegistry> registry,
                          const base::Clock& clock, std::unique_ptr<ResourceStore>& resources,
                          std::unique_ptr<AuthStore>& auth) {
  if (backend_ == "sqlite") {
    ASSIGN_OR_RETURN(auto s, sqlite::SqliteStore::Open(name_, std::move(registry), clock));
    ASSIGN_OR_RETURN(auto a, sqlite::SqliteAuthStore::Open(*s));
    auth = std::move(a);
    resources = std::move(s);
    return Status::Ok();
  }
#ifdef PORTICO_WITH_POSTGRES
  postgres::PostgresOptions o;
  o.url = db_;
  o.pool_size = 8;
  ASSIGN_OR_RETURN(auto s, postgres::PostgresStore::Open(o, std::move(registry), clock));
  RETURN_IF_ERROR(s->CountByType().status());  // connected and migrated
  auth = std::make_unique<postgres::PostgresAuthStore>(*s);
  resources = std::move(s);
  return Status::Ok();
#else
  return Status(StatusCode::kFailedPrecondition, "built without PostgreSQL support");
#endif
}

}  // namespace portico::store::testing

// The PostgreSQL backend of ResourceStore: the same schema shape as SQLite (text bodies, typed
// index tables, the patient compartment table, plus a patient distribution column on every
// member-data table), the same search SQL (store/sql, Dialect::kPostgres) and libpq directly.
//
// Connections: a bounded pool on the primary (writes, and reads when no replica is configured)
// and an optional pool on a read replica for Read/ReadVersion/History/PatientsOf/Search/
// CountByType. Every statement is parameterized and unnamed (pgbouncer transaction mode works).
//
// Read-your-writes rule (with a replica): after this node commits a write batch it records the
// primary's WAL position; until the replica has replayed past it, this node's reads go to the
// primary. Other nodes may see an import on the replica only after replication lag; auth data
// (codes, grants, revocations, keys) never uses the replica (see PostgresAuthStore).
//
// Writes: one batch at a time in the whole database (a transaction-scoped advisory lock), so
// versions and history stay consistent when several nodes import at once. Index rows and history
// rows are buffered and sent with COPY at commit (and whenever the buffer grows large).
//
// Availability: Open() does not need the server to be up. Until the schema has been migrated
// (at the first successful connection) every call fails with kUnavailable, and /readyz says so.
//
// Thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "src/fhir/search/registry.h"
#include "src/store/postgres/pg.h"
#include "src/store/resource_store.h"

namespace portico::store::postgres {

struct PostgresOptions {
  std::string url;       // primary: postgresql://user@host:port/db
  std::string read_url;  // optional read replica ("" = none)
  int pool_size = 8;     // connections per pool (primary and replica each)
  int connect_timeout_seconds = 5;
  int acquire_timeout_ms = 5000;     // waiting for a free pooled connection
  int statement_timeout_ms = 30000;  // per statement (0 = none)
  bool prepared_statements = true;   // see PgOptions::prepared_statements
  bool migrate = true;               // apply pending migrations when first connected
};

class PostgresStore : public ResourceStore {
 public:
  // Creates the pools and tries to connect and migrate once. A server that cannot be reached is
  // not an error (the store becomes ready when it can); a failed migration or a schema newer
  // than this binary is. REQUIRES: `clock` outlives the store.
  static StatusOr<std::unique_ptr<PostgresStore>> Open(
      const PostgresOptions& options, std::shared_ptr<const fhir::SearchParamRegistry> registry,
      const base::Clock& clock);
  ~PostgresStore() override;

  StatusOr<std::optional<StoredResource>> Read(const std::string& type,
                                               const std::string& id) override;
  StatusOr<std::optional<StoredResource>> ReadVersion(const std::string& type,
                                                      const std::string& id,
                                                      int64_t version) override;
  StatusOr<std::vector<StoredResource>> History(const HistoryQuery& query) override;
  StatusOr<std::vector<std::string>> PatientsOf(const std::string& type,
                                                const std::string& id) override;
  StatusOr<SearchPage> Search(const fhir::SearchQuery& query,
                              const fhir::AccessScope& scope) override;
  StatusOr<std::unique_ptr<WriteBatch>> BeginWrite() override;
  StatusOr<std::vector<std::pair<std::string, int64_t>>> CountByType() override;
  Status UpdateStatistics() override;

  // A primary connection once the schema is ready (kUnavailable before). For PostgresAuthStore.
  StatusOr<PgPool::Lease> Primary();

 private:
  PostgresStore(const PostgresOptions& options,
                std::shared_ptr<const fhir::SearchParamRegistry> registry,
                const base::Clock& clock);
  // Connects and migrates if not done yet.
  Status EnsureReady();
  // A connection for reads: the replica unless this node's last write is not replayed there.
  StatusOr<PgPool::Lease> Reader();
  // Runs `fn` on a reader; once more on a fresh connection when the first one was found broken
  // (e.g. after a database restart), since reads are idempotent.
  template <typename Fn>
  auto WithReader(Fn fn) -> decltype(fn(std::declval<PgConn&>()));

  friend class PgWriteBatch;

  const PostgresOptions options_;
  std::shared_ptr<const fhir::SearchParamRegistry> registry_;
  const base::Clock& clock_;
  std::unique_ptr<PgPool> primary_;
  std::unique_ptr<PgPool> replica_;  // null without read_url
  std::mutex ready_mu_;
  std::atomic<bool> ready_{false};
  std::atomic<uint64_t> last_write_lsn_{0};    // WAL position of this node's last commit
  std::atomic<uint64_t> replica_seen_lsn_{0};  // a position the replica is known to have replayed
};

}  // namespace portico::store::postgres

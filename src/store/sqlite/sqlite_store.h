// The embedded default store: one SQLite database in WAL mode, one writer connection guarded by a
// mutex and a pool of read-only connections, so reads never wait for writes.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "src/fhir/search/registry.h"
#include "src/store/resource_store.h"
#include "src/store/sqlite/db.h"
#include "src/store/store_metrics.h"

namespace portico::store::sqlite {

class SqliteStore : public ResourceStore {
 public:
  // Opens (creating and migrating if needed) the database at `path`.
  // REQUIRES: `clock` outlives the store.
  static StatusOr<std::unique_ptr<SqliteStore>> Open(
      const std::string& path, std::shared_ptr<const fhir::SearchParamRegistry> registry,
      const base::Clock& clock);
  ~SqliteStore() override;

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
  // One reader connection and one read transaction for this thread's reads, so a request pays
  // for one WAL read lock (the locks cost more than the lookups of a read by id).
  std::unique_ptr<ReadScope> PinReads() override;
  StatusOr<bool> StartBulkLoad() override;
  Status FinishBulkLoad() override;

  // The writer connection, for the auth tables of other modules sharing this database.
  // REQUIRES: hold LockWriter() while using it.
  Connection& writer() { return *writer_; }

  // The writer's lock, timed for /metrics: the wait for it and how long it is held.
  struct WriterLock {
    std::unique_lock<std::mutex> lock;
    HeldConnection held;
  };
  // Takes the writer's lock (blocking until it is free).
  WriterLock LockWriter();

  class ReaderLease;
  // Borrows a read-only connection from the pool (returned when the lease is destroyed); inside
  // a PinReads scope of this thread, the scope's connection.
  StatusOr<std::unique_ptr<ReaderLease>> AcquireReader();

 private:
  SqliteStore(std::string path, std::shared_ptr<const fhir::SearchParamRegistry> registry,
              const base::Clock& clock);
  Status Migrate();
  void ReleaseReader(std::unique_ptr<Connection> conn);

  friend class SqliteWriteBatch;

  std::string path_;
  std::shared_ptr<const fhir::SearchParamRegistry> registry_;
  const base::Clock& clock_;
  std::mutex writer_mutex_;
  std::unique_ptr<Connection> writer_;
  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<Connection>> readers_;
  // The committed numbers of search_key ("type\nparam" -> k), read and added under the writer's
  // lock.
  std::unordered_map<std::string, int64_t> search_keys_;
};

// A write transaction on the writer connection: holds the writer's lock for its lifetime and
// rolls back unless committed.
class WriteTxn {
 public:
  explicit WriteTxn(SqliteStore& store) : lock_(store.LockWriter()), db_(store.writer()) {}
  ~WriteTxn() {
    if (open_) {
      (void)db_.RunCached("ROLLBACK");
    }
  }
  WriteTxn(const WriteTxn&) = delete;
  WriteTxn& operator=(const WriteTxn&) = delete;

  Status Begin() {
    RETURN_IF_ERROR(db_.RunCached("BEGIN IMMEDIATE"));
    open_ = true;
    return Status::Ok();
  }
  Status Commit() {
    RETURN_IF_ERROR(db_.RunCached("COMMIT"));
    open_ = false;
    return Status::Ok();
  }
  Connection& db() { return db_; }

 private:
  SqliteStore::WriterLock lock_;
  Connection& db_;
  bool open_ = false;
};

class SqliteStore::ReaderLease {
 public:
  // Owns `conn` until destroyed, then returns it to the pool.
  ReaderLease(SqliteStore* store, std::unique_ptr<Connection> conn)
      : store_(store),
        owned_(std::move(conn)),
        conn_(owned_.get()),
        held_(StoreMetrics::kSqliteReader) {}
  // Borrows the connection of a read scope, which stays with the scope.
  explicit ReaderLease(Connection* pinned) : store_(nullptr), conn_(pinned) {}
  ~ReaderLease() {
    if (owned_ != nullptr) {
      store_->ReleaseReader(std::move(owned_));
    }
  }
  Connection& conn() { return *conn_; }

 private:
  SqliteStore* store_;
  std::unique_ptr<Connection> owned_;
  Connection* conn_;
  HeldConnection held_;  // only for an owned connection (a scope's lease times the scope)
};

}  // namespace portico::store::sqlite

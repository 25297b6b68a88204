// Thin RAII wrapper over the SQLite C API: connections and prepared statements. Parameterized
// statements only. A Connection is used by one thread at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <sqlite3.h>

#include "src/base/status.h"

namespace portico::store::sqlite {

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& Bind(int index, std::string_view text);
  Statement& Bind(int index, int64_t value);
  Statement& BindDouble(int index, double value);
  Statement& BindNull(int index);
  // Returns true when a row is available, false when done; error status on failure.
  StatusOr<bool> Step();
  Status Run();  // steps until done
  void Reset();

  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Double(int col) const { return sqlite3_column_double(stmt_, col); }
  std::string_view Text(int col) const;
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

class Connection {
 public:
  static StatusOr<std::unique_ptr<Connection>> Open(const std::string& path, bool read_only);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Status Exec(std::string_view sql);
  // A fresh statement (not cached).
  StatusOr<std::unique_ptr<Statement>> Prepare(std::string_view sql);
  // A cached statement, reset and with bindings cleared. Owned by the connection.
  StatusOr<Statement*> Cached(const std::string& sql);
  // Runs a statement without results (BEGIN, COMMIT, ...) from the cache and resets it: for the
  // transaction statements every request runs, which Exec would parse each time.
  Status RunCached(const std::string& sql);
  int64_t LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }
  int Changes() const { return sqlite3_changes(db_); }
  sqlite3* raw() const { return db_; }

  // Records the size of this connection's page cache now, for SqliteMemoryUsed.
  // REQUIRES: called by the thread that is using the connection.
  void NoteMemory();
  int64_t noted_memory() const { return memory_.load(std::memory_order_relaxed); }
  // Counts one more use of the connection; returns the count (1 for the first).
  // REQUIRES: called by the thread that is using the connection.
  uint64_t CountUse() { return ++uses_; }

 private:
  explicit Connection(sqlite3* db);
  sqlite3* db_;
  std::map<std::string, std::unique_ptr<Statement>, std::less<>> cache_;
  std::atomic<int64_t> memory_{0};
  uint64_t uses_ = 0;
};

Status SqliteError(sqlite3* db, std::string_view what);

// Bytes of SQLite page cache in this process (each bounded by its connection's cache_size), as
// each open connection last noted it (Connection::NoteMemory: SQLite's own count of its whole
// heap is off, because its mutex slowed every request). For /metrics, to tell warm caches from
// leaks.
int64_t SqliteMemoryUsed();

}  // namespace portico::store::sqlite

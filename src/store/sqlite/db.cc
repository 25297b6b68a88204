#include "src/store/sqlite/db.h"

#include <mutex>
#include <set>

namespace portico::store::sqlite {

Status SqliteError(sqlite3* db, std::string_view what) {
  int code = db != nullptr ? sqlite3_extended_errcode(db) : SQLITE_ERROR;
  std::string msg = std::string(what) + ": " + (db != nullptr ? sqlite3_errmsg(db) : "error");
  if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED) {
    return UnavailableError(msg);
  }
  // A full disk (SQLITE_FULL) or a failed read or write (SQLITE_IOERR, e.g. EFBIG when the file
  // size limit is reached) is the environment, not the request: the caller answers 503 and the
  // transaction was rolled back, so a retry after space returns succeeds.
  if ((code & 0xff) == SQLITE_FULL || (code & 0xff) == SQLITE_IOERR) {
    return UnavailableError(msg);
  }
  return InternalError(msg);
}

namespace {

// The open connections, for SqliteMemoryUsed. Never destroyed: a connection held by an object
// with static storage may close after static destructors have run.
std::mutex& RegistryMutex() {
  static auto* mu = new std::mutex;
  return *mu;
}
std::set<const Connection*>& Registry() {
  static auto* open = new std::set<const Connection*>;
  return *open;
}

}  // namespace

int64_t SqliteMemoryUsed() {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  int64_t total = 0;
  for (const Connection* c : Registry()) {
    total += c->noted_memory();
  }
  return total;
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::Bind(int index, std::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::Bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::BindDouble(int index, double value) {
  sqlite3_bind_double(stmt_, index, value);
  return *this;
}

Statement& Statement::BindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

StatusOr<bool> Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  return SqliteError(db_, "sqlite step");
}

Status Statement::Run() {
  while (true) {
    ASSIGN_OR_RETURN(bool row, Step());
    if (!row) {
      return Status::Ok();
    }
  }
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string_view Statement::Text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  int n = sqlite3_column_bytes(stmt_, col);
  return p == nullptr ? std::string_view() : std::string_view(p, static_cast<size_t>(n));
}

namespace {

// SQLite counts every allocation under one process-wide mutex unless told not to: with two
// request threads that mutex was the first source of futex calls on a read (about a quarter of
// them). Only the first call in a process, before SQLite initializes, can change it.
void ConfigureOnce() {
  static std::once_flag once;
  std::call_once(once, [] { (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
}

}  // namespace

StatusOr<std::unique_ptr<Connection>> Connection::Open(const std::string& path, bool read_only) {
  ConfigureOnce();
  sqlite3* db = nullptr;
  int flags = (read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) |
              SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status s = SqliteError(db, "cannot open database '" + path + "'");
    sqlite3_close(db);
    return s;
  }
  sqlite3_busy_timeout(db, 30000);
  sqlite3_extended_result_codes(db, 1);
  return std::unique_ptr<Connection>(new Connection(db));
}

Connection::Connection(sqlite3* db) : db_(db) {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  Registry().insert(this);
}

Connection::~Connection() {
  {
    std::lock_guard<std::mutex> lock(RegistryMutex());
    Registry().erase(this);
  }
  cache_.clear();
  sqlite3_close(db_);
}

void Connection::NoteMemory() {
  // The page cache only: it is what grows with use, and it is cheap to ask for (the schema and
  // statement figures are measured by walking every object, too slow for each request).
  int current = 0;
  int highwater = 0;
  if (sqlite3_db_status(db_, SQLITE_DBSTATUS_CACHE_USED, &current, &highwater, 0) == SQLITE_OK) {
    memory_.store(current, std::memory_order_relaxed);
  }
}

Status Connection::Exec(std::string_view sql) {
  char* err = nullptr;
  std::string s(sql);
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err != nullptr ? err : "error";
    sqlite3_free(err);
    return SqliteError(db_, "sqlite exec failed (" + msg + ")");
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<Statement>> Connection::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    return SqliteError(db_, "sqlite prepare");
  }
  return std::make_unique<Statement>(db_, stmt);
}

StatusOr<Statement*> Connection::Cached(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) {
    it->second->Reset();
    return it->second.get();
  }
  if (cache_.size() > 512) {
    cache_.clear();
  }
  ASSIGN_OR_RETURN(auto stmt, Prepare(sql));
  Statement* raw = stmt.get();
  cache_.emplace(sql, std::move(stmt));
  return raw;
}

Status Connection::RunCached(const std::string& sql) {
  ASSIGN_OR_RETURN(Statement * st, Cached(sql));
  Status done = st->Run();
  st->Reset();
  return done;
}

}  // namespace portico::store::sqlite

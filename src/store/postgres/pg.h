// A thin RAII layer over libpq: results, connections with parameterized statements and COPY, and
// a bounded connection pool. Statements are prepared once per connection (or unnamed when
// PgOptions::prepared_statements is off, for pgbouncer in transaction mode). Connection strings are
// never logged or put in error messages (they may carry a password).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <libpq-fe.h>

#include "src/base/status.h"
#include "src/store/sql/executor.h"
#include "src/store/store_metrics.h"

namespace portico::store::postgres {

// A query result (text format). Movable, not copyable.
class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(PGresult* res) : res_(res) {}
  ~PgResult();
  PgResult(PgResult&& o) noexcept : res_(o.res_) { o.res_ = nullptr; }
  PgResult& operator=(PgResult&& o) noexcept;
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;

  int rows() const { return res_ == nullptr ? 0 : PQntuples(res_); }
  bool IsNull(int row, int col) const { return PQgetisnull(res_, row, col) != 0; }
  std::string_view Text(int row, int col) const;
  int64_t Int(int row, int col) const;
  double Double(int row, int col) const;
  // Rows changed by INSERT/UPDATE/DELETE (0 for other statements).
  int64_t Changed() const;

 private:
  PGresult* res_ = nullptr;
};

struct PgOptions {
  std::string conninfo;  // a libpq URI or keyword string: postgresql://user@host:port/db
  int connect_timeout_seconds = 5;
  int statement_timeout_ms = 30000;  // 0 = none
  std::string application_name = "portico";
  // Statements run as named prepared statements, prepared once per connection and SQL text (up
  // to a bound), so that PostgreSQL parses and plans a repeated query once. Off: every statement
  // is unnamed (PQexecParams), as a pooler in transaction mode without prepared-statement
  // support (pgbouncer before 1.21) needs.
  bool prepared_statements = true;
};

// One statement of a pipeline.
struct PgStatement {
  std::string sql;
  std::vector<sql::Param> params;
};

// One connection. Used by one thread at a time.
class PgConn {
 public:
  // Connects; kUnavailable when the server cannot be reached or refuses us.
  static StatusOr<std::unique_ptr<PgConn>> Connect(const PgOptions& options);
  ~PgConn();
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  // Runs one statement with `params` bound ($1, $2, ...). Errors: kAborted for unique violations,
  // serialization failures and deadlocks; kInvalidArgument for data the server rejects as
  // malformed (e.g. invalid UTF-8); kUnavailable when the connection is lost; kInternal else.
  // `reuse_plan` = false: plan this execution for these very values (an unnamed statement), for
  // search queries whose best plan depends on the values (a generic plan would not).
  StatusOr<PgResult> Exec(const std::string& sql, const std::vector<sql::Param>& params = {},
                          bool reuse_plan = true);
  // Sends `statements` in one round trip (libpq pipeline mode) and reads their results in
  // order; the server runs them in order and skips the rest after the first error, which is
  // returned (errors as for Exec). Rows are not returned: for statements run for their effect.
  // Outside a transaction the statements form one implicit transaction (an error undoes them
  // all); inside one, the error leaves the transaction aborted, as with Exec.
  Status ExecPipeline(const std::vector<PgStatement>& statements);
  // Runs `copy_sql` (COPY ... FROM STDIN, text format) sending `data` as its rows.
  Status Copy(const std::string& copy_sql, std::string_view data);
  // True while the connection is usable and outside a transaction.
  bool Healthy() const;
  bool Broken() const { return PQstatus(conn_) != CONNECTION_OK; }
  // Reads, without blocking, whatever the server sent while the connection sat idle. A server
  // that restarted or terminated this backend has sent a FATAL message and closed the socket:
  // then the connection is marked broken and this returns false, before any statement is sent.
  bool ProbeAlive();
  PGconn* raw() const { return conn_; }

 private:
  PgConn(PGconn* conn, bool prepare) : conn_(conn), prepare_(prepare) {}
  Status ResultError(PGresult* res, std::string_view what);
  PGconn* conn_;
  bool prepare_;
  // This connection's prepared statements, by SQL text.
  struct Prepared {
    std::string name;
    std::vector<Oid> types;  // the parameter types it was prepared with
  };
  std::unordered_map<std::string, Prepared> prepared_;
};

// Appends `field` to a COPY text-format row, escaped (no delimiter is added).
void AppendCopyField(std::string& out, std::string_view field);
void AppendCopyField(std::string& out, int64_t value);
void AppendCopyDouble(std::string& out, double value);

// A bounded pool of connections to one server, opened lazily. Thread-safe.
class PgPool {
 public:
  class Lease;
  // `metrics_pool` names the pool in /metrics.
  PgPool(PgOptions options, int size, int acquire_timeout_ms,
         StoreMetrics::Pool metrics_pool = StoreMetrics::kPostgresPrimary);
  ~PgPool();

  // Borrows a connection, connecting if none is idle and the pool is below its size; waits up
  // to the acquire timeout otherwise (then kUnavailable).
  StatusOr<Lease> Acquire();
  const PgOptions& options() const { return options_; }

 private:
  void Release(std::unique_ptr<PgConn> conn);

  const PgOptions options_;
  const int size_;
  const int acquire_timeout_ms_;
  const StoreMetrics::Pool metrics_pool_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<PgConn>> idle_;  // guarded by mu_
  int open_ = 0;                               // guarded by mu_: idle + leased
};

// A borrowed connection, returned to the pool when destroyed (closed instead when it is broken
// or was left inside a transaction).
class PgPool::Lease {
 public:
  Lease(PgPool* pool, std::unique_ptr<PgConn> conn)
      : pool_(pool), conn_(std::move(conn)), held_(pool->metrics_pool_) {}
  Lease(Lease&& o) noexcept = default;
  Lease& operator=(Lease&&) = delete;
  ~Lease();
  PgConn& operator*() { return *conn_; }
  PgConn* operator->() { return conn_.get(); }

 private:
  PgPool* pool_;
  std::unique_ptr<PgConn> conn_;
  HeldConnection held_;
};

// The shared search code's view of one connection.
class PgExecutor : public sql::SqlExecutor {
 public:
  // `reuse_plan`: run the statements prepared (one plan per statement text), for queries whose
  // best plan does not depend on the values; by default each is planned for its values.
  explicit PgExecutor(PgConn& conn, bool reuse_plan = false)
      : conn_(conn), reuse_plan_(reuse_plan) {}
  sql::Dialect dialect() const override { return sql::Dialect::kPostgres; }
  Status Query(const std::string& sql, const std::vector<sql::Param>& params,
               const std::function<Status(const sql::Row&)>& on_row) override;

 private:
  PgConn& conn_;
  bool reuse_plan_;
};

// Parses "X/Y" (pg_lsn text) into a number; 0 when malformed.
uint64_t ParseLsn(std::string_view text);

}  // namespace portico::store::postgres

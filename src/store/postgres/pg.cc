#include "src/store/postgres/pg.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <sys/socket.h>

namespace portico::store::postgres {

namespace {

constexpr Oid kInt8Oid = 20;
constexpr Oid kTextOid = 25;
constexpr Oid kFloat8Oid = 701;

std::string FormatDouble(double v) {
  if (std::isnan(v)) {
    return "NaN";
  }
  if (std::isinf(v)) {
    return v > 0 ? "Infinity" : "-Infinity";
  }
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

// The first line of a libpq message, without the trailing newline.
std::string FirstLine(const char* message) {
  std::string m = message == nullptr ? "" : message;
  size_t nl = m.find('\n');
  if (nl != std::string::npos) {
    m.resize(nl);
  }
  return m;
}

class ResultRow : public sql::Row {
 public:
  ResultRow(const PgResult& res, int row) : res_(res), row_(row) {}
  int64_t Int(int col) const override { return res_.Int(row_, col); }
  double Double(int col) const override { return res_.Double(row_, col); }
  std::string_view Text(int col) const override { return res_.Text(row_, col); }
  bool IsNull(int col) const override { return res_.IsNull(row_, col); }

 private:
  const PgResult& res_;
  int row_;
};

}  // namespace

PgResult::~PgResult() {
  if (res_ != nullptr) {
    PQclear(res_);
  }
}

PgResult& PgResult::operator=(PgResult&& o) noexcept {
  if (this != &o) {
    if (res_ != nullptr) {
      PQclear(res_);
    }
    res_ = o.res_;
    o.res_ = nullptr;
  }
  return *this;
}

std::string_view PgResult::Text(int row, int col) const {
  return std::string_view(PQgetvalue(res_, row, col),
                          static_cast<size_t>(PQgetlength(res_, row, col)));
}

int64_t PgResult::Int(int row, int col) const {
  if (IsNull(row, col)) {
    return 0;
  }
  return std::strtoll(PQgetvalue(res_, row, col), nullptr, 10);
}

double PgResult::Double(int row, int col) const {
  if (IsNull(row, col)) {
    return 0;
  }
  return std::strtod(PQgetvalue(res_, row, col), nullptr);
}

int64_t PgResult::Changed() const {
  if (res_ == nullptr) {
    return 0;
  }
  const char* n = PQcmdTuples(res_);
  return n == nullptr || *n == '\0' ? 0 : std::strtoll(n, nullptr, 10);
}

StatusOr<std::unique_ptr<PgConn>> PgConn::Connect(const PgOptions& options) {
  std::string timeout = std::to_string(options.connect_timeout_seconds);
  std::string opts;
  if (options.statement_timeout_ms > 0) {
    opts = "-c statement_timeout=" + std::to_string(options.statement_timeout_ms);
  }
  // expand_dbname: `dbname` may be a full URI; the keywords after it override its parts.
  const char* keys[] = {"dbname", "connect_timeout", "application_name",
                        opts.empty() ? nullptr : "options", nullptr};
  const char* values[] = {options.conninfo.c_str(), timeout.c_str(),
                          options.application_name.c_str(), opts.empty() ? nullptr : opts.c_str(),
                          nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, 1);
  if (conn == nullptr) {
    return UnavailableError("PostgreSQL: out of memory while connecting");
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = FirstLine(PQerrorMessage(conn));
    PQfinish(conn);
    return UnavailableError("PostgreSQL unavailable: " + msg);
  }
  // Quiet NOTICEs (e.g. "relation already exists, skipping") instead of printing to stderr.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<PgConn>(new PgConn(conn, options.prepared_statements));
}

PgConn::~PgConn() { PQfinish(conn_); }

bool PgConn::Healthy() const {
  return PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) == PQTRANS_IDLE;
}

bool PgConn::ProbeAlive() {
  // An idle connection has nothing to read. A server that ended it sent a FATAL message, which
  // libpq takes as a notice, and then closed the socket, which libpq notices only on a later
  // read: so read until nothing is pending (alive) or the end of the stream (dead).
  for (int i = 0; i < 8; ++i) {
    if (PQstatus(conn_) != CONNECTION_OK || PQconsumeInput(conn_) == 0 ||
        PQstatus(conn_) != CONNECTION_OK) {
      return false;
    }
    char byte;
    ssize_t n = recv(PQsocket(conn_), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0) {
      return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    }
    // n == 0: the end of the stream is next; n > 0: more to consume. Read again.
  }
  return false;  // a stream of unexpected messages on an idle connection: do not trust it
}

Status PgConn::ResultError(PGresult* res, std::string_view what) {
  std::string state;
  if (res != nullptr) {
    const char* s = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    state = s == nullptr ? "" : s;
  }
  std::string msg = FirstLine(res != nullptr ? PQresultErrorMessage(res) : PQerrorMessage(conn_));
  if (msg.empty()) {
    msg = FirstLine(PQerrorMessage(conn_));
  }
  if (res != nullptr) {
    PQclear(res);
  }
  std::string text = "PostgreSQL " + std::string(what) + ": " + msg;
  if (PQstatus(conn_) != CONNECTION_OK || state.rfind("08", 0) == 0 || state == "57P01" ||
      state == "57P02" || state == "57P03") {
    return UnavailableError(text);
  }
  if (state == "23505" || state == "40001" || state == "40P01") {
    return Status(StatusCode::kAborted, text);
  }
  if (state == "22021" || state == "22P02" || state == "22003" || state == "54001") {
    return InvalidArgumentError(text);
  }
  // Class 53, insufficient resources (53100 disk_full, 53200 out_of_memory, 53300
  // too_many_connections), and 58030 io_error: the server, not the request.
  if (state.rfind("53", 0) == 0 || state == "58030") {
    return UnavailableError(text);
  }
  if (state == "57014") {
    return Status(StatusCode::kUnavailable, "PostgreSQL: statement timeout");
  }
  return InternalError(text);
}

// Prepared statements kept per connection; further distinct statements run unnamed.
constexpr size_t kMaxPrepared = 1000;

namespace {

// Parameters as libpq takes them: text values with their types (int8, float8 or text).
struct BoundParams {
  explicit BoundParams(const std::vector<sql::Param>& params) {
    storage.reserve(params.size());
    values.reserve(params.size());
    types.reserve(params.size());
    for (const sql::Param& p : params) {
      if (const auto* s = std::get_if<std::string>(&p)) {
        values.push_back(s->c_str());
        types.push_back(kTextOid);
      } else if (const auto* n = std::get_if<int64_t>(&p)) {
        storage.push_back(std::to_string(*n));
        values.push_back(nullptr);  // filled below, once storage stops moving
        types.push_back(kInt8Oid);
      } else {
        storage.push_back(FormatDouble(std::get<double>(p)));
        values.push_back(nullptr);
        types.push_back(kFloat8Oid);
      }
    }
    size_t k = 0;
    for (const char*& v : values) {
      if (v == nullptr) {
        v = storage[k++].c_str();
      }
    }
  }
  int size() const { return static_cast<int>(values.size()); }

  std::vector<std::string> storage;
  std::vector<const char*> values;
  std::vector<Oid> types;
};

}  // namespace

StatusOr<PgResult> PgConn::Exec(const std::string& sql, const std::vector<sql::Param>& params,
                                bool reuse_plan) {
  BoundParams bound(params);
  const std::vector<const char*>& values = bound.values;
  const std::vector<Oid>& types = bound.types;
  // The named statement for this text, prepared on first use (up to kMaxPrepared per
  // connection). The same text bound with other parameter types runs unnamed.
  const std::string* name = nullptr;
  if (prepare_ && reuse_plan) {
    auto it = prepared_.find(sql);
    if (it == prepared_.end() && prepared_.size() < kMaxPrepared) {
      std::string fresh = "p" + std::to_string(prepared_.size());
      PGresult* prep = PQprepare(conn_, fresh.c_str(), sql.c_str(), static_cast<int>(params.size()),
                                 types.data());
      if (prep == nullptr || PQresultStatus(prep) != PGRES_COMMAND_OK) {
        return ResultError(prep, "query failed");
      }
      PQclear(prep);
      it = prepared_.emplace(sql, Prepared{std::move(fresh), types}).first;
    }
    if (it != prepared_.end() && it->second.types == types) {
      name = &it->second.name;
    }
  }
  PGresult* res = name != nullptr
                      ? PQexecPrepared(conn_, name->c_str(), static_cast<int>(params.size()),
                                       values.data(), nullptr, nullptr, 0)
                      : PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()),
                                     types.data(), values.data(), nullptr, nullptr, 0);
  if (res == nullptr) {
    return ResultError(nullptr, "query failed");
  }
  ExecStatusType st = PQresultStatus(res);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    return ResultError(res, "query failed");
  }
  return PgResult(res);
}

Status PgConn::ExecPipeline(const std::vector<PgStatement>& statements) {
  if (statements.empty()) {
    return Status::Ok();
  }
  if (PQenterPipelineMode(conn_) != 1) {
    return ResultError(nullptr, "pipeline failed");
  }
  Status out = Status::Ok();
  for (const PgStatement& st : statements) {
    BoundParams bound(st.params);
    if (PQsendQueryParams(conn_, st.sql.c_str(), bound.size(), bound.types.data(),
                          bound.values.data(), nullptr, nullptr, 0) != 1) {
      out = ResultError(nullptr, "pipeline failed");
      break;
    }
  }
  bool synced = PQpipelineSync(conn_) == 1;
  if (!synced && out.ok()) {
    out = ResultError(nullptr, "pipeline failed");
  }
  // The results come in order, each statement's followed by a NULL, and the sync's last. The
  // first error is the answer (the server skips the statements after it: PIPELINE_ABORTED).
  while (synced && PQstatus(conn_) == CONNECTION_OK) {
    PGresult* r = PQgetResult(conn_);
    if (r == nullptr) {
      continue;
    }
    ExecStatusType status = PQresultStatus(r);
    if (status == PGRES_PIPELINE_SYNC) {
      PQclear(r);
      break;
    }
    if (out.ok() && status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK &&
        status != PGRES_PIPELINE_ABORTED) {
      out = ResultError(r, "query failed");  // takes r
    } else {
      PQclear(r);
    }
  }
  (void)PQexitPipelineMode(conn_);
  if (out.ok() && PQstatus(conn_) != CONNECTION_OK) {
    out = ResultError(nullptr, "pipeline failed");
  }
  return out;
}

Status PgConn::Copy(const std::string& copy_sql, std::string_view data) {
  PGresult* res = PQexec(conn_, copy_sql.c_str());
  if (res == nullptr || PQresultStatus(res) != PGRES_COPY_IN) {
    return ResultError(res, "COPY failed");
  }
  PQclear(res);
  constexpr size_t kChunk = 1 << 20;
  for (size_t off = 0; off < data.size(); off += kChunk) {
    size_t n = std::min(kChunk, data.size() - off);
    if (PQputCopyData(conn_, data.data() + off, static_cast<int>(n)) != 1) {
      return UnavailableError("PostgreSQL COPY: " + FirstLine(PQerrorMessage(conn_)));
    }
  }
  if (PQputCopyEnd(conn_, nullptr) != 1) {
    return UnavailableError("PostgreSQL COPY: " + FirstLine(PQerrorMessage(conn_)));
  }
  Status out = Status::Ok();
  while ((res = PQgetResult(conn_)) != nullptr) {
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
      if (out.ok()) {
        out = ResultError(res, "COPY failed");
      } else {
        PQclear(res);
      }
      continue;
    }
    PQclear(res);
  }
  return out;
}

void AppendCopyField(std::string& out, std::string_view field) {
  for (char c : field) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out.push_back(c);
    }
  }
}

void AppendCopyField(std::string& out, int64_t value) { out += std::to_string(value); }

void AppendCopyDouble(std::string& out, double value) { out += FormatDouble(value); }

PgPool::PgPool(PgOptions options, int size, int acquire_timeout_ms, StoreMetrics::Pool metrics_pool)
    : options_(std::move(options)),
      size_(size < 1 ? 1 : size),
      acquire_timeout_ms_(acquire_timeout_ms),
      metrics_pool_(metrics_pool) {
  StoreMetrics::Global().SetCapacity(metrics_pool_, size_);
}

PgPool::~PgPool() {
  StoreMetrics::Global().AddOpen(metrics_pool_, -static_cast<int>(idle_.size()));
}

StatusOr<PgPool::Lease> PgPool::Acquire() {
  StoreMetrics& metrics = StoreMetrics::Global();
  auto start = std::chrono::steady_clock::now();
  auto waited = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  auto deadline = start + std::chrono::milliseconds(acquire_timeout_ms_);
  for (;;) {
    std::unique_ptr<PgConn> conn;
    {
      std::unique_lock<std::mutex> lock(mu_);
      while (idle_.empty() && open_ >= size_) {
        if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
            open_ >= size_) {
          metrics.RecordExhausted(metrics_pool_);
          return UnavailableError("PostgreSQL: no free connection in the pool (pool_size " +
                                  std::to_string(size_) + ")");
        }
      }
      if (idle_.empty()) {
        ++open_;  // reserve the slot while connecting without the lock
        break;
      }
      conn = std::move(idle_.back());
      idle_.pop_back();
    }
    // An idle connection the server dropped (restart, terminated backend, idle timeout) is
    // found here, before a statement is sent on it, and replaced: no write is ever sent into
    // a dead connection from the pool.
    if (conn->ProbeAlive()) {
      metrics.RecordWait(metrics_pool_, waited());
      return Lease(this, std::move(conn));
    }
    conn.reset();
    metrics.AddOpen(metrics_pool_, -1);
    std::lock_guard<std::mutex> lock(mu_);
    --open_;
  }
  auto conn = PgConn::Connect(options_);
  if (!conn.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    --open_;
    cv_.notify_one();
    return conn.status();
  }
  metrics.AddOpen(metrics_pool_, 1);
  metrics.RecordWait(metrics_pool_, waited());
  return Lease(this, std::move(*conn));
}

void PgPool::Release(std::unique_ptr<PgConn> conn) {
  std::lock_guard<std::mutex> lock(mu_);
  if (conn->Healthy()) {
    idle_.push_back(std::move(conn));
  } else {
    --open_;
    StoreMetrics::Global().AddOpen(metrics_pool_, -1);
    conn.reset();
  }
  cv_.notify_one();
}

PgPool::Lease::~Lease() {
  if (conn_ != nullptr) {
    if (PQtransactionStatus(conn_->raw()) == PQTRANS_INERROR ||
        PQtransactionStatus(conn_->raw()) == PQTRANS_INTRANS) {
      PGresult* res = PQexec(conn_->raw(), "ROLLBACK");
      if (res != nullptr) {
        PQclear(res);
      }
    }
    pool_->Release(std::move(conn_));
  }
}

Status PgExecutor::Query(const std::string& sql, const std::vector<sql::Param>& params,
                         const std::function<Status(const sql::Row&)>& on_row) {
  // Search SQL: the best plan usually depends on the values (a patient with 14 or 5,000 rows).
  ASSIGN_OR_RETURN(PgResult res, conn_.Exec(sql, params, reuse_plan_));
  for (int i = 0; i < res.rows(); ++i) {
    ResultRow row(res, i);
    RETURN_IF_ERROR(on_row(row));
  }
  return Status::Ok();
}

uint64_t ParseLsn(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return 0;
  }
  std::string hi(text.substr(0, slash));
  std::string lo(text.substr(slash + 1));
  return (std::strtoull(hi.c_str(), nullptr, 16) << 32) | std::strtoull(lo.c_str(), nullptr, 16);
}

}  // namespace portico::store::postgres

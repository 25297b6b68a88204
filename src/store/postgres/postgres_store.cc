#include "src/store/postgres/postgres_store.h"

#include <algorithm>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "src/store/postgres/migrations.h"
#include "src/store/sql/search_runner.h"

namespace portico::store::postgres {

namespace {

// Advisory lock key serializing write batches across nodes ("porticow").
constexpr int64_t kWriteLockKey = 0x706f727469636f77LL;
// Buffered COPY data above which a batch flushes before its commit.
constexpr size_t kFlushBytes = 8 << 20;

constexpr const char* kIndexTables[] = {"idx_token",     "idx_string",    "idx_date",
                                        "idx_reference", "idx_quantity",  "idx_number",
                                        "idx_uri",       "idx_composite", "compartment"};

// COPY targets, in the order of Buffers::tables.
constexpr const char* kCopySql[] = {
    "COPY idx_token (res, patient, type, param, system, code, text) FROM STDIN",
    "COPY idx_string (res, patient, type, param, norm, exact) FROM STDIN",
    "COPY idx_date (res, patient, type, param, lo, hi) FROM STDIN",
    "COPY idx_reference (res, patient, type, param, target_type, target_id, url) FROM STDIN",
    "COPY idx_quantity (res, patient, type, param, value, system, code, unit) FROM STDIN",
    "COPY idx_number (res, patient, type, param, value) FROM STDIN",
    "COPY idx_uri (res, patient, type, param, value) FROM STDIN",
    "COPY idx_composite (res, patient, type, param, grp, comp, system, code, text, norm, exact, "
    "lo, hi, target_type, target_id, url, value, unit) FROM STDIN",
    "COPY compartment (res, patient, type) FROM STDIN",
    "COPY resource_version (type, id, version, last_updated, deleted, body, patient) FROM STDIN",
};
constexpr size_t kTables = sizeof(kCopySql) / sizeof(kCopySql[0]);
constexpr size_t kVersionTable = kTables - 1;

// A COPY text row under construction.
class CopyRow {
 public:
  CopyRow& Add(std::string_view v) {
    Sep();
    AppendCopyField(line_, v);
    return *this;
  }
  CopyRow& Add(int64_t v) {
    Sep();
    AppendCopyField(line_, v);
    return *this;
  }
  CopyRow& AddDouble(double v) {
    Sep();
    AppendCopyDouble(line_, v);
    return *this;
  }
  std::string Done() {
    line_.push_back('\n');
    return std::move(line_);
  }

 private:
  void Sep() {
    if (!line_.empty()) {
      line_.push_back('\t');
    }
  }
  std::string line_;
};

// A PostgreSQL array literal of text values: {"a","b\\"c"}.
std::string TextArray(const std::vector<const std::string*>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) {
      out.push_back(',');
    }
    out.push_back('"');
    for (char c : *values[i]) {
      if (c == '"' || c == '\\') {
        out.push_back('\\');
      }
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

// Keys per prefetch query and sequence values reserved per round trip.
constexpr size_t kPrefetchChunk = 5000;
constexpr int64_t kSeqReserve = 1000;

constexpr const char* kCopyResourceSql =
    "COPY resource (seq, type, id, version, last_updated, deleted, hash, body, patient) FROM STDIN";

}  // namespace

class PgWriteBatch : public WriteBatch {
 public:
  PgWriteBatch(PostgresStore* store, PgPool::Lease lease)
      : store_(store), conn_(std::move(lease)) {}
  ~PgWriteBatch() override {
    if (!done_) {
      (void)conn_->Exec("ROLLBACK");
    }
  }

  // One round trip: BEGIN and the database-wide write lock.
  Status Begin() {
    return conn_->ExecPipeline(
        {{"BEGIN", {}}, {"SELECT pg_advisory_xact_lock($1)", {kWriteLockKey}}});
  }

  Status Prefetch(const std::vector<std::pair<std::string, std::string>>& keys) override {
    for (size_t from = 0; from < keys.size(); from += kPrefetchChunk) {
      size_t to = std::min(keys.size(), from + kPrefetchChunk);
      std::vector<const std::string*> types;
      std::vector<const std::string*> ids;
      for (size_t i = from; i < to; ++i) {
        if (known_.count(Key(keys[i].first, keys[i].second)) > 0) {
          continue;
        }
        types.push_back(&keys[i].first);
        ids.push_back(&keys[i].second);
        known_[Key(keys[i].first, keys[i].second)] = Known{};  // absent unless found below
      }
      if (types.empty()) {
        continue;
      }
      ASSIGN_OR_RETURN(
          PgResult res,
          conn_->Exec("SELECT r.type, r.id, r.seq, r.version, r.hash, r.deleted, r.patient "
                      "FROM resource r JOIN unnest($1::text[], $2::text[]) AS k(type, "
                      "id) ON r.type = k.type AND r.id = k.id",
                      {TextArray(types), TextArray(ids)}));
      for (int i = 0; i < res.rows(); ++i) {
        Known& k = known_[Key(res.Text(i, 0), res.Text(i, 1))];
        k.exists = true;
        k.seq = res.Int(i, 2);
        k.version = res.Int(i, 3);
        k.hash = std::string(res.Text(i, 4));
        k.deleted = res.Int(i, 5) != 0;
        k.patient = std::string(res.Text(i, 6));
      }
    }
    return Status::Ok();
  }

  StatusOr<PutOutcome> Put(const std::string& type, const std::string& id,
                           const std::string& content_hash,
                           const std::function<std::string(int64_t, base::Millis)>& make_body,
                           const fhir::IndexEntries& index) override {
    ASSIGN_OR_RETURN(Known * k, Lookup(type, id));
    if (k->exists && k->hash == content_hash && !k->deleted) {
      return PutOutcome{WriteResult::kUnchanged, k->version};
    }
    if (k->exists && k->buffered) {
      RETURN_IF_ERROR(Flush());  // its row must be in the table before it is updated
    }
    const bool found = k->exists;
    base::Millis now = Now();
    int64_t new_version = k->version + 1;
    std::string body = make_body(new_version, now);
    std::set<std::string> patients(index.patients.begin(), index.patients.end());
    std::string patient = patients.empty() ? "" : *patients.begin();
    int64_t seq = k->seq;
    if (found) {
      RETURN_IF_ERROR(conn_
                          ->Exec("UPDATE resource SET version = $1, last_updated = $2, "
                                 "deleted = 0, hash = $3, body = $4, patient = $5 WHERE seq = $6",
                                 {new_version, now, content_hash, body, patient, seq})
                          .status());
      Clear(seq);
    } else {
      // New rows go in by COPY with a sequence value reserved in bulk (no round trip each).
      ASSIGN_OR_RETURN(seq, NextSeq());
      std::string line = CopyRow()
                             .Add(seq)
                             .Add(type)
                             .Add(id)
                             .Add(new_version)
                             .Add(now)
                             .Add(int64_t{0})
                             .Add(content_hash)
                             .Add(body)
                             .Add(patient)
                             .Done();
      bytes_ += line.size();
      resource_rows_ += line;
      k->buffered = true;
    }
    k->exists = true;
    k->seq = seq;
    k->version = new_version;
    k->hash = content_hash;
    k->deleted = false;
    k->patient = patient;
    buffered_seqs_.insert(seq);
    Buffer(kVersionTable, seq,
           CopyRow()
               .Add(type)
               .Add(id)
               .Add(new_version)
               .Add(now)
               .Add(int64_t{0})
               .Add(body)
               .Add(patient));
    WriteIndex(seq, patient, type, index, patients);
    if (bytes_ > kFlushBytes) {
      RETURN_IF_ERROR(Flush());
    }
    return PutOutcome{found ? WriteResult::kUpdated : WriteResult::kCreated, new_version};
  }

  StatusOr<int64_t> Delete(const std::string& type, const std::string& id) override {
    ASSIGN_OR_RETURN(Known * k, Lookup(type, id));
    if (!k->exists || k->deleted) {
      return NotFoundError(type + "/" + id + " is not known");
    }
    if (k->buffered) {
      RETURN_IF_ERROR(Flush());
    }
    int64_t seq = k->seq;
    int64_t version = k->version + 1;
    const std::string& patient = k->patient;
    base::Millis now = Now();
    RETURN_IF_ERROR(conn_
                        ->Exec("UPDATE resource SET version = $1, last_updated = $2, "
                               "deleted = 1, hash = '' WHERE seq = $3",
                               {version, now, seq})
                        .status());
    k->version = version;
    k->hash.clear();
    k->deleted = true;
    Clear(seq);
    Buffer(kVersionTable, seq,
           CopyRow().Add(type).Add(id).Add(version).Add(now).Add(int64_t{1}).Add("").Add(patient));
    return version;
  }

  StatusOr<std::optional<StoredResource>> Read(const std::string& type,
                                               const std::string& id) override {
    PgExecutor exec(*conn_, /*reuse_plan=*/true);
    std::vector<StoredResource> rows;
    RETURN_IF_ERROR(sql::QueryResources(exec,
                                        std::string("SELECT ") + sql::kResourceColumns +
                                            " FROM resource r WHERE r.type = $1 AND r.id = $2",
                                        {type, id}, rows));
    std::optional<StoredResource> out;
    if (!rows.empty()) {
      out = std::move(rows[0]);
    }
    return out;
  }

  StatusOr<SearchPage> Search(const fhir::SearchQuery& query,
                              const fhir::AccessScope& scope) override {
    PgExecutor exec(*conn_);
    return sql::RunSearch(exec, *store_->registry_, query, scope);
  }

  Status Commit() override {
    RETURN_IF_ERROR(Flush());
    RETURN_IF_ERROR(conn_->Exec("COMMIT").status());
    done_ = true;
    // The read-your-writes mark for this node's replica reads.
    if (store_->replica_ != nullptr) {
      auto lsn = conn_->Exec("SELECT pg_current_wal_lsn()::text");
      if (lsn.ok() && lsn->rows() > 0) {
        uint64_t v = ParseLsn(lsn->Text(0, 0));
        uint64_t prev = store_->last_write_lsn_.load();
        while (v > prev && !store_->last_write_lsn_.compare_exchange_weak(prev, v)) {
        }
      }
    }
    return Status::Ok();
  }

 private:
  struct Pending {
    int64_t seq;
    std::string line;
  };
  // What this batch knows of a stored (type, id): fetched, or written by the batch itself.
  struct Known {
    bool exists = false;
    bool buffered = false;  // its resource row is still in resource_rows_
    bool deleted = false;
    int64_t seq = 0;
    int64_t version = 0;
    std::string hash;
    std::string patient;  // the compartment its row is stored under
  };

  static std::string Key(std::string_view type, std::string_view id) {
    std::string key(type);
    key.push_back('/');
    key.append(id);
    return key;
  }

  StatusOr<Known*> Lookup(const std::string& type, const std::string& id) {
    std::string key = Key(type, id);
    auto it = known_.find(key);
    if (it != known_.end()) {
      return &it->second;
    }
    ASSIGN_OR_RETURN(PgResult sel,
                     conn_->Exec("SELECT seq, version, hash, deleted, patient FROM resource "
                                 "WHERE type = $1 AND id = $2",
                                 {type, id}));
    Known k;
    if (sel.rows() > 0) {
      k.exists = true;
      k.seq = sel.Int(0, 0);
      k.version = sel.Int(0, 1);
      k.hash = std::string(sel.Text(0, 2));
      k.deleted = sel.Int(0, 3) != 0;
      k.patient = std::string(sel.Text(0, 4));
    }
    return &(known_[key] = std::move(k));
  }

  StatusOr<int64_t> NextSeq() {
    if (reserved_.empty()) {
      ASSIGN_OR_RETURN(PgResult res,
                       conn_->Exec("SELECT nextval(pg_get_serial_sequence('resource', 'seq')) "
                                   "FROM generate_series(1, $1) ORDER BY 1 DESC",
                                   {kSeqReserve}));
      for (int i = 0; i < res.rows(); ++i) {
        reserved_.push_back(res.Int(i, 0));  // highest first: pop_back hands out in order
      }
      if (reserved_.empty()) {
        return InternalError("no sequence values for new resources");
      }
    }
    int64_t seq = reserved_.back();
    reserved_.pop_back();
    return seq;
  }

  base::Millis Now() {
    base::Millis now = store_->clock_.NowMillis();
    if (now <= last_now_) {
      now = last_now_ + 1;  // strictly increasing within a batch keeps history order total
    }
    last_now_ = now;
    return now;
  }

  void Buffer(size_t table, int64_t seq, CopyRow row) {
    std::string line = row.Done();
    bytes_ += line.size();
    pending_[table].push_back(Pending{seq, std::move(line)});
  }

  // Drops the index rows of `seq`: buffered ones at once, stored ones at the next flush.
  void Clear(int64_t seq) {
    if (buffered_seqs_.count(seq) > 0) {
      for (size_t t = 0; t < kVersionTable; ++t) {
        auto& rows = pending_[t];
        rows.erase(std::remove_if(rows.begin(), rows.end(),
                                  [&](const Pending& p) { return p.seq == seq; }),
                   rows.end());
      }
    }
    clear_seqs_.push_back(seq);
  }

  void WriteIndex(int64_t seq, const std::string& patient, const std::string& type,
                  const fhir::IndexEntries& e, const std::set<std::string>& patients) {
    auto base = [&]() { return std::move(CopyRow().Add(seq).Add(patient).Add(type)); };
    for (const auto* list : {&e.tokens, &e.tags}) {
      for (const fhir::TokenEntry& t : *list) {
        Buffer(0, seq, base().Add(t.param).Add(t.system).Add(t.code).Add(t.text));
      }
    }
    for (const fhir::StringEntry& s : e.strings) {
      Buffer(1, seq, base().Add(s.param).Add(s.normalized).Add(s.exact));
    }
    for (const fhir::DateEntry& d : e.dates) {
      Buffer(2, seq, base().Add(d.param).Add(d.low).Add(d.high));
    }
    for (const fhir::ReferenceEntry& r : e.references) {
      Buffer(3, seq, base().Add(r.param).Add(r.target_type).Add(r.target_id).Add(r.url));
    }
    for (const fhir::QuantityEntry& q : e.quantities) {
      Buffer(4, seq, base().Add(q.param).AddDouble(q.value).Add(q.system).Add(q.code).Add(q.unit));
    }
    for (const fhir::NumberEntry& n : e.numbers) {
      Buffer(5, seq, base().Add(n.param).AddDouble(n.value));
    }
    for (const fhir::UriEntry& u : e.uris) {
      Buffer(6, seq, base().Add(u.param).Add(u.value));
    }
    for (const std::string& p : e.profiles) {
      Buffer(6, seq, base().Add("_profile").Add(p));
    }
    for (const fhir::CompositeEntry& c : e.composites) {
      Buffer(7, seq,
             base()
                 .Add(c.param)
                 .Add(int64_t{c.group})
                 .Add(int64_t{c.component})
                 .Add(c.system)
                 .Add(c.code)
                 .Add(c.text)
                 .Add(c.norm)
                 .Add(c.exact)
                 .Add(c.lo)
                 .Add(c.hi)
                 .Add(c.target_type)
                 .Add(c.target_id)
                 .Add(c.url)
                 .AddDouble(c.value)
                 .Add(c.unit));
    }
    for (const std::string& p : patients) {
      Buffer(8, seq, CopyRow().Add(seq).Add(p).Add(type));
    }
  }

  // Deletes the stored index rows of updated/deleted resources, then COPYs the buffered rows.
  Status Flush() {
    if (!clear_seqs_.empty()) {
      std::string arr = "{";
      for (size_t i = 0; i < clear_seqs_.size(); ++i) {
        arr += (i > 0 ? "," : "") + std::to_string(clear_seqs_[i]);
      }
      arr += "}";
      // One round trip for the deletes from every index table.
      std::vector<PgStatement> deletes;
      for (const char* table : kIndexTables) {
        deletes.push_back(
            {std::string("DELETE FROM ") + table + " WHERE res = ANY($1::bigint[])", {arr}});
      }
      RETURN_IF_ERROR(conn_->ExecPipeline(deletes));
      clear_seqs_.clear();
    }
    if (!resource_rows_.empty()) {
      RETURN_IF_ERROR(conn_->Copy(kCopyResourceSql, resource_rows_));
      resource_rows_.clear();
      for (auto& [key, k] : known_) {
        k.buffered = false;
      }
    }
    for (size_t t = 0; t < kTables; ++t) {
      if (pending_[t].empty()) {
        continue;
      }
      std::string data;
      for (const Pending& p : pending_[t]) {
        data += p.line;
      }
      RETURN_IF_ERROR(conn_->Copy(kCopySql[t], data));
      pending_[t].clear();
    }
    bytes_ = 0;
    buffered_seqs_.clear();
    return Status::Ok();
  }

  PostgresStore* store_;
  PgPool::Lease conn_;
  bool done_ = false;
  base::Millis last_now_ = 0;
  std::vector<Pending> pending_[kTables];
  size_t bytes_ = 0;
  std::unordered_set<int64_t> buffered_seqs_;  // seqs with rows in pending_
  std::vector<int64_t> clear_seqs_;            // seqs whose stored index rows go at flush
  std::string resource_rows_;                  // COPY rows of new resources
  std::unordered_map<std::string, Known> known_;
  std::vector<int64_t> reserved_;  // sequence values for new rows, highest first
};

PostgresStore::PostgresStore(const PostgresOptions& options,
                             std::shared_ptr<const fhir::SearchParamRegistry> registry,
                             const base::Clock& clock)
    : options_(options), registry_(std::move(registry)), clock_(clock) {
  PgOptions po;
  po.conninfo = options.url;
  po.connect_timeout_seconds = options.connect_timeout_seconds;
  po.statement_timeout_ms = options.statement_timeout_ms;
  po.prepared_statements = options.prepared_statements;
  primary_ = std::make_unique<PgPool>(po, options.pool_size, options.acquire_timeout_ms);
  if (!options.read_url.empty()) {
    po.conninfo = options.read_url;
    po.application_name = "portico-read";
    replica_ = std::make_unique<PgPool>(po, options.pool_size, options.acquire_timeout_ms,
                                        StoreMetrics::kPostgresReplica);
  }
}

PostgresStore::~PostgresStore() = default;

StatusOr<std::unique_ptr<PostgresStore>> PostgresStore::Open(
    const PostgresOptions& options, std::shared_ptr<const fhir::SearchParamRegistry> registry,
    const base::Clock& clock) {
  std::unique_ptr<PostgresStore> store(new PostgresStore(options, std::move(registry), clock));
  Status s = store->EnsureReady();
  if (!s.ok() && s.code() != StatusCode::kUnavailable) {
    return s;
  }
  return store;
}

Status PostgresStore::EnsureReady() {
  if (ready_.load(std::memory_order_acquire)) {
    return Status::Ok();
  }
  std::lock_guard<std::mutex> lock(ready_mu_);
  if (ready_.load(std::memory_order_relaxed)) {
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(PgPool::Lease conn, primary_->Acquire());
  if (options_.migrate) {
    RETURN_IF_ERROR(Migrate(*conn).status());
  } else {
    ASSIGN_OR_RETURN(int v, SchemaVersion(*conn));
    if (v != LatestSchemaVersion()) {
      return Status(StatusCode::kFailedPrecondition,
                    "database schema is at version " + std::to_string(v) + ", this server needs " +
                        std::to_string(LatestSchemaVersion()) + " (run `portico migrate`)");
    }
  }
  ready_.store(true, std::memory_order_release);
  return Status::Ok();
}

StatusOr<PgPool::Lease> PostgresStore::Primary() {
  RETURN_IF_ERROR(EnsureReady());
  return primary_->Acquire();
}

StatusOr<PgPool::Lease> PostgresStore::Reader() {
  RETURN_IF_ERROR(EnsureReady());
  if (replica_ == nullptr) {
    return primary_->Acquire();
  }
  uint64_t need = last_write_lsn_.load();
  if (need <= replica_seen_lsn_.load()) {
    auto lease = replica_->Acquire();
    if (lease.ok()) {
      return lease;
    }
    return primary_->Acquire();  // replica down: the primary serves reads
  }
  auto lease = replica_->Acquire();
  if (!lease.ok()) {
    return primary_->Acquire();
  }
  auto replayed = (*lease)->Exec("SELECT pg_last_wal_replay_lsn()::text");
  if (replayed.ok() && replayed->rows() > 0) {
    // NULL: the server is not a standby (it is a primary itself), so it has every write.
    uint64_t seen = replayed->IsNull(0, 0) ? UINT64_MAX : ParseLsn(replayed->Text(0, 0));
    uint64_t prev = replica_seen_lsn_.load();
    while (seen > prev && !replica_seen_lsn_.compare_exchange_weak(prev, seen)) {
    }
    if (seen >= need) {
      return lease;
    }
  }
  return primary_->Acquire();
}

template <typename Fn>
auto PostgresStore::WithReader(Fn fn) -> decltype(fn(std::declval<PgConn&>())) {
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(PgPool::Lease conn, Reader());
    auto out = fn(*conn);
    if (out.ok() || attempt > 0 || out.status().code() != StatusCode::kUnavailable ||
        !conn->Broken()) {
      return out;
    }
  }
}

namespace {

// Fixed statements (reads by id, versions, history): one prepared plan serves every value.
StatusOr<std::vector<StoredResource>> QueryRows(PgConn& conn, const std::string& sql,
                                                const std::vector<sql::Param>& params) {
  PgExecutor exec(conn, /*reuse_plan=*/true);
  std::vector<StoredResource> out;
  RETURN_IF_ERROR(sql::QueryResources(exec, sql, params, out));
  return out;
}

}  // namespace

StatusOr<std::optional<StoredResource>> PostgresStore::Read(const std::string& type,
                                                            const std::string& id) {
  static const std::string kSql = std::string("SELECT ") + sql::kResourceColumns +
                                  " FROM resource r WHERE r.type = $1 AND r.id = $2";
  ASSIGN_OR_RETURN(auto rows, WithReader([&](PgConn& c) {
                     return QueryRows(c, kSql, {type, id});
                   }));
  std::optional<StoredResource> out;
  if (!rows.empty()) {
    out = std::move(rows[0]);
  }
  return out;
}

StatusOr<std::optional<StoredResource>> PostgresStore::ReadVersion(const std::string& type,
                                                                   const std::string& id,
                                                                   int64_t version) {
  static const std::string kSql =
      "SELECT 0, r.type, r.id, r.version, r.last_updated, r.deleted, r.body FROM "
      "resource_version r WHERE r.type = $1 AND r.id = $2 AND r.version = $3";
  ASSIGN_OR_RETURN(auto rows, WithReader([&](PgConn& c) {
                     return QueryRows(c, kSql, {type, id, version});
                   }));
  std::optional<StoredResource> out;
  if (!rows.empty()) {
    out = std::move(rows[0]);
  }
  return out;
}

StatusOr<std::vector<StoredResource>> PostgresStore::History(const HistoryQuery& q) {
  std::string sql =
      "SELECT 0, r.type, r.id, r.version, r.last_updated, r.deleted, r.body FROM "
      "resource_version r WHERE 1=1";
  std::vector<sql::Param> params;
  auto bind = [&](sql::Param p) {
    params.push_back(std::move(p));
    sql += "$" + std::to_string(params.size());
  };
  if (!q.type.empty()) {
    sql += " AND r.type = ";
    bind(q.type);
  }
  if (!q.id.empty()) {
    sql += " AND r.id = ";
    bind(q.id);
  }
  if (q.since) {
    sql += " AND r.last_updated >= ";
    bind(*q.since);
  }
  if (q.at) {
    sql += " AND r.last_updated <= ";
    bind(*q.at);
  }
  sql += " ORDER BY r.last_updated DESC, r.version DESC LIMIT ";
  bind(static_cast<int64_t>(q.count));
  sql += " OFFSET ";
  bind(static_cast<int64_t>(q.offset));
  return WithReader([&](PgConn& c) { return QueryRows(c, sql, params); });
}

StatusOr<std::vector<std::string>> PostgresStore::PatientsOf(const std::string& type,
                                                             const std::string& id) {
  return WithReader([&](PgConn& c) -> StatusOr<std::vector<std::string>> {
    ASSIGN_OR_RETURN(PgResult res, c.Exec("SELECT c.patient FROM compartment c JOIN resource r "
                                          "ON r.seq = c.res WHERE r.type = $1 AND r.id = $2 "
                                          "ORDER BY c.patient",
                                          {type, id}));
    std::vector<std::string> out;
    for (int i = 0; i < res.rows(); ++i) {
      out.emplace_back(res.Text(i, 0));
    }
    return out;
  });
}

StatusOr<SearchPage> PostgresStore::Search(const fhir::SearchQuery& q,
                                           const fhir::AccessScope& scope) {
  // A lookup by _id alone (the visibility check of every read under a patient scope) has one
  // good plan whatever the values: prepare it. Other searches are planned for their values.
  const bool by_id_only = q.conditions.size() == 1 &&
                          q.conditions[0].special == fhir::Special::kId && q.includes.empty() &&
                          q.sort.empty();
  return WithReader([&](PgConn& c) {
    PgExecutor exec(c, by_id_only);
    return sql::RunSearch(exec, *registry_, q, scope);
  });
}

StatusOr<std::unique_ptr<WriteBatch>> PostgresStore::BeginWrite() {
  // The pool hands out only connections that are still alive (PgPool::Acquire), so BEGIN is not
  // retried: a connection that dies under it fails this write, which the caller reports.
  ASSIGN_OR_RETURN(PgPool::Lease conn, Primary());
  auto batch = std::make_unique<PgWriteBatch>(this, std::move(conn));
  RETURN_IF_ERROR(batch->Begin());
  return std::unique_ptr<WriteBatch>(std::move(batch));
}

Status PostgresStore::UpdateStatistics() {
  ASSIGN_OR_RETURN(PgPool::Lease conn, Primary());
  return conn->Exec("ANALYZE").status();
}

StatusOr<std::vector<std::pair<std::string, int64_t>>> PostgresStore::CountByType() {
  return WithReader([&](PgConn& c) -> StatusOr<std::vector<std::pair<std::string, int64_t>>> {
    ASSIGN_OR_RETURN(PgResult res, c.Exec("SELECT type, COUNT(*) FROM resource WHERE deleted = 0 "
                                          "GROUP BY type ORDER BY type"));
    std::vector<std::pair<std::string, int64_t>> out;
    for (int i = 0; i < res.rows(); ++i) {
      out.emplace_back(std::string(res.Text(i, 0)), res.Int(i, 1));
    }
    return out;
  });
}

}  // namespace portico::store::postgres

#include "src/store/sqlite/sqlite_store.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <string_view>
#include <unordered_map>

#include <sys/stat.h>

#include "src/store/sql/search_runner.h"
#include "src/store/sql/search_sql.h"

namespace portico::store::sqlite {

namespace {

constexpr int kSchemaVersion = 5;

// The tables other than the search index tables (and the index on resource).
constexpr const char* kBaseSchema = R"sql(
CREATE TABLE IF NOT EXISTS resource (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  version INTEGER NOT NULL,
  last_updated INTEGER NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0,
  hash TEXT NOT NULL,
  body TEXT NOT NULL,
  UNIQUE (type, id)
);
CREATE INDEX IF NOT EXISTS resource_type_updated ON resource (type, last_updated);
CREATE INDEX IF NOT EXISTS resource_type_seq ON resource (type, deleted, seq);
CREATE INDEX IF NOT EXISTS resource_updated ON resource (last_updated);
-- Superseded versions only: the current version of every resource is its row in resource, so
-- each body is stored once.
CREATE TABLE IF NOT EXISTS resource_version (
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  version INTEGER NOT NULL,
  last_updated INTEGER NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0,
  body TEXT NOT NULL,
  PRIMARY KEY (type, id, version)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS resource_version_updated ON resource_version (last_updated);
CREATE INDEX IF NOT EXISTS resource_version_type_updated ON resource_version (type, last_updated);
-- One number for each (resource type, search parameter) pair: the index rows carry it instead of
-- the two texts that would lead every index key. Rows are added, never changed or removed.
CREATE TABLE IF NOT EXISTS search_key (k INTEGER PRIMARY KEY, type TEXT NOT NULL, param TEXT NOT
  NULL, UNIQUE (type, param));
CREATE TABLE IF NOT EXISTS compartment (patient TEXT NOT NULL, type TEXT NOT NULL,
  res INTEGER NOT NULL, PRIMARY KEY (patient, type, res)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS compartment_res ON compartment (res);
CREATE TABLE IF NOT EXISTS schema_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
)sql";

// The search index tables: search values of the current versions, clustered by resource.
constexpr const char* kIndexTables = R"sql(
CREATE TABLE IF NOT EXISTS idx_token (res INTEGER NOT NULL, n INTEGER NOT NULL, k INTEGER NOT
  NULL, system TEXT NOT NULL, code TEXT NOT NULL, text TEXT NOT NULL, PRIMARY KEY (res, n))
  WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS idx_string (res INTEGER NOT NULL, n INTEGER NOT NULL, k INTEGER NOT
  NULL, norm TEXT NOT NULL, exact TEXT NOT NULL, PRIMARY KEY (res, n)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS idx_date (res INTEGER NOT NULL, n INTEGER NOT NULL, k INTEGER NOT
  NULL, lo INTEGER NOT NULL, hi INTEGER NOT NULL, PRIMARY KEY (res, n)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS idx_reference (res INTEGER NOT NULL, n INTEGER NOT NULL, k INTEGER NOT
  NULL, target_type TEXT NOT NULL, target_id TEXT NOT NULL, url TEXT NOT NULL, PRIMARY KEY (res,
  n)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS idx_quantity (res INTEGER NOT NULL, n INTEGER NOT NULL, k INTEGER NOT
  NULL, value REAL NOT NULL, system TEXT NOT NULL, code TEXT NOT NULL, unit TEXT NOT NULL,
  PRIMARY KEY (res, n)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS idx_number (res INTEGER NOT NULL, n INTEGER NOT NULL, k INTEGER NOT
  NULL, value REAL NOT NULL, PRIMARY KEY (res, n)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS idx_uri (res INTEGER NOT NULL, n INTEGER NOT NULL, k INTEGER NOT NULL,
  value TEXT NOT NULL, PRIMARY KEY (res, n)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS idx_composite (res INTEGER NOT NULL, n INTEGER NOT NULL, k INTEGER NOT
  NULL, grp INTEGER NOT NULL, comp INTEGER NOT NULL, system TEXT NOT NULL, code TEXT NOT NULL,
  text TEXT NOT NULL, norm TEXT NOT NULL, exact TEXT NOT NULL, lo INTEGER NOT NULL, hi INTEGER NOT
  NULL, target_type TEXT NOT NULL, target_id TEXT NOT NULL, url TEXT NOT NULL, value REAL NOT
  NULL, unit TEXT NOT NULL, PRIMARY KEY (res, n)) WITHOUT ROWID;
)sql";

// The value indexes of the search index tables (a bulk load builds them at its end).
constexpr const char* kIndexIndexes = R"sql(
CREATE INDEX IF NOT EXISTS idx_token_code ON idx_token (k, code, system, res);
CREATE INDEX IF NOT EXISTS idx_string_norm ON idx_string (k, norm, res);
CREATE INDEX IF NOT EXISTS idx_date_lo ON idx_date (k, lo, hi, res);
CREATE INDEX IF NOT EXISTS idx_reference_target ON idx_reference (k, target_id, target_type, res);
CREATE INDEX IF NOT EXISTS idx_reference_rev ON idx_reference (target_type, target_id, k);
CREATE INDEX IF NOT EXISTS idx_quantity_value ON idx_quantity (k, value, res);
CREATE INDEX IF NOT EXISTS idx_number_value ON idx_number (k, value, res);
CREATE INDEX IF NOT EXISTS idx_uri_value ON idx_uri (k, value, res);
-- A search finds a composite by its first component's code and checks the others through the
-- primary key, so only first components are indexed by code.
CREATE INDEX IF NOT EXISTS idx_composite_first ON idx_composite (k, code, res, grp)
  WHERE comp = 0;
)sql";

// Schema 4 -> 5, before kIndexTables: the index tables with type and param texts step aside
// (their indexes go with them) and every pair they use gets its number.
constexpr const char* kUpgrade4To5Rename = R"sql(
INSERT OR IGNORE INTO search_key (type, param) SELECT DISTINCT type, param FROM idx_token;
INSERT OR IGNORE INTO search_key (type, param) SELECT DISTINCT type, param FROM idx_string;
INSERT OR IGNORE INTO search_key (type, param) SELECT DISTINCT type, param FROM idx_date;
INSERT OR IGNORE INTO search_key (type, param) SELECT DISTINCT type, param FROM idx_reference;
INSERT OR IGNORE INTO search_key (type, param) SELECT DISTINCT type, param FROM idx_quantity;
INSERT OR IGNORE INTO search_key (type, param) SELECT DISTINCT type, param FROM idx_number;
INSERT OR IGNORE INTO search_key (type, param) SELECT DISTINCT type, param FROM idx_uri;
INSERT OR IGNORE INTO search_key (type, param) SELECT DISTINCT type, param FROM idx_composite;
ALTER TABLE idx_token RENAME TO idx_token_v4;
ALTER TABLE idx_string RENAME TO idx_string_v4;
ALTER TABLE idx_date RENAME TO idx_date_v4;
ALTER TABLE idx_reference RENAME TO idx_reference_v4;
ALTER TABLE idx_quantity RENAME TO idx_quantity_v4;
ALTER TABLE idx_number RENAME TO idx_number_v4;
ALTER TABLE idx_uri RENAME TO idx_uri_v4;
ALTER TABLE idx_composite RENAME TO idx_composite_v4;
)sql";

// Schema 4 -> 5, after kIndexTables: the rows move over with their numbers, in key order.
constexpr const char* kUpgrade4To5Copy = R"sql(
INSERT INTO idx_token (res, n, k, system, code, text) SELECT x.res, x.n, s.k, x.system, x.code,
  x.text FROM idx_token_v4 x JOIN search_key s ON s.type = x.type AND s.param = x.param ORDER BY
  x.res, x.n;
INSERT INTO idx_string (res, n, k, norm, exact) SELECT x.res, x.n, s.k, x.norm, x.exact FROM
  idx_string_v4 x JOIN search_key s ON s.type = x.type AND s.param = x.param ORDER BY x.res, x.n;
INSERT INTO idx_date (res, n, k, lo, hi) SELECT x.res, x.n, s.k, x.lo, x.hi FROM idx_date_v4 x
  JOIN search_key s ON s.type = x.type AND s.param = x.param ORDER BY x.res, x.n;
INSERT INTO idx_reference (res, n, k, target_type, target_id, url) SELECT x.res, x.n, s.k,
  x.target_type, x.target_id, x.url FROM idx_reference_v4 x JOIN search_key s ON s.type = x.type
  AND s.param = x.param ORDER BY x.res, x.n;
INSERT INTO idx_quantity (res, n, k, value, system, code, unit) SELECT x.res, x.n, s.k, x.value,
  x.system, x.code, x.unit FROM idx_quantity_v4 x JOIN search_key s ON s.type = x.type AND
  s.param = x.param ORDER BY x.res, x.n;
INSERT INTO idx_number (res, n, k, value) SELECT x.res, x.n, s.k, x.value FROM idx_number_v4 x
  JOIN search_key s ON s.type = x.type AND s.param = x.param ORDER BY x.res, x.n;
INSERT INTO idx_uri (res, n, k, value) SELECT x.res, x.n, s.k, x.value FROM idx_uri_v4 x JOIN
  search_key s ON s.type = x.type AND s.param = x.param ORDER BY x.res, x.n;
INSERT INTO idx_composite (res, n, k, grp, comp, system, code, text, norm, exact, lo, hi,
  target_type, target_id, url, value, unit) SELECT x.res, x.n, s.k, x.grp, x.comp, x.system,
  x.code, x.text, x.norm, x.exact, x.lo, x.hi, x.target_type, x.target_id, x.url, x.value, x.unit
  FROM idx_composite_v4 x JOIN search_key s ON s.type = x.type AND s.param = x.param ORDER BY
  x.res, x.n;
DROP TABLE idx_token_v4;
DROP TABLE idx_string_v4;
DROP TABLE idx_date_v4;
DROP TABLE idx_reference_v4;
DROP TABLE idx_quantity_v4;
DROP TABLE idx_number_v4;
DROP TABLE idx_uri_v4;
DROP TABLE idx_composite_v4;
)sql";

// Schema 3 -> 4: the composite index keeps first components only (idx_composite_first, which
// kIndexIndexes creates): the other half of its rows was never looked up.
constexpr const char* kUpgrade3To4 = R"sql(
DROP INDEX IF EXISTS idx_composite_code;
)sql";

// Schema 2 -> 3: the history holds superseded versions only; the current version is read from
// resource (before, every body was stored twice: a third of the database).
constexpr const char* kUpgrade2To3 = R"sql(
DELETE FROM resource_version WHERE EXISTS (SELECT 1 FROM resource r WHERE r.type =
  resource_version.type AND r.id = resource_version.id AND r.version = resource_version.version);
)sql";

// The search indexes a bulk load into an empty store drops and builds at its end (kBaseSchema and
// kIndexIndexes create them again). Not dropped: the keys the load itself looks up by (resource
// (type, id), every table's primary key) and compartment_res, which a deletion in the load uses.
constexpr const char* kDeferredIndexes[] = {
    "resource_type_updated", "resource_type_seq", "resource_updated",     "idx_token_code",
    "idx_string_norm",       "idx_date_lo",       "idx_reference_target", "idx_reference_rev",
    "idx_quantity_value",    "idx_number_value",  "idx_uri_value",        "idx_composite_first",
};

// Schema 1 -> 2: the index tables become clustered by resource (PRIMARY KEY (res, n) WITHOUT
// ROWID) instead of a rowid table plus an index on res: one B-tree less to write per row, and a
// search that checks one resource's index rows reads them together.
constexpr const char* kUpgrade1To2 = R"sql(
DROP INDEX IF EXISTS idx_token_code;
DROP INDEX IF EXISTS idx_token_res;
ALTER TABLE idx_token RENAME TO idx_token_v1;
CREATE TABLE idx_token (res INTEGER NOT NULL, n INTEGER NOT NULL, type TEXT NOT NULL, param TEXT
  NOT NULL, system TEXT NOT NULL, code TEXT NOT NULL, text TEXT NOT NULL, PRIMARY KEY (res, n))
  WITHOUT ROWID;
INSERT INTO idx_token (res, n, type, param, system, code, text) SELECT res, row_number() OVER
  (PARTITION BY res ORDER BY rowid), type, param, system, code, text FROM idx_token_v1;
DROP TABLE idx_token_v1;
CREATE INDEX IF NOT EXISTS idx_token_code ON idx_token (type, param, code, system, res);
DROP INDEX IF EXISTS idx_string_norm;
DROP INDEX IF EXISTS idx_string_res;
ALTER TABLE idx_string RENAME TO idx_string_v1;
CREATE TABLE idx_string (res INTEGER NOT NULL, n INTEGER NOT NULL, type TEXT NOT NULL, param TEXT
  NOT NULL, norm TEXT NOT NULL, exact TEXT NOT NULL, PRIMARY KEY (res, n)) WITHOUT ROWID;
INSERT INTO idx_string (res, n, type, param, norm, exact) SELECT res, row_number() OVER
  (PARTITION BY res ORDER BY rowid), type, param, norm, exact FROM idx_string_v1;
DROP TABLE idx_string_v1;
CREATE INDEX IF NOT EXISTS idx_string_norm ON idx_string (type, param, norm, res);
DROP INDEX IF EXISTS idx_date_lo;
DROP INDEX IF EXISTS idx_date_res;
ALTER TABLE idx_date RENAME TO idx_date_v1;
CREATE TABLE idx_date (res INTEGER NOT NULL, n INTEGER NOT NULL, type TEXT NOT NULL, param TEXT
  NOT NULL, lo INTEGER NOT NULL, hi INTEGER NOT NULL, PRIMARY KEY (res, n)) WITHOUT ROWID;
INSERT INTO idx_date (res, n, type, param, lo, hi) SELECT res, row_number() OVER (PARTITION BY
  res ORDER BY rowid), type, param, lo, hi FROM idx_date_v1;
DROP TABLE idx_date_v1;
CREATE INDEX IF NOT EXISTS idx_date_lo ON idx_date (type, param, lo, hi, res);
DROP INDEX IF EXISTS idx_reference_target;
DROP INDEX IF EXISTS idx_reference_rev;
DROP INDEX IF EXISTS idx_reference_res;
ALTER TABLE idx_reference RENAME TO idx_reference_v1;
CREATE TABLE idx_reference (res INTEGER NOT NULL, n INTEGER NOT NULL, type TEXT NOT NULL, param
  TEXT NOT NULL, target_type TEXT NOT NULL, target_id TEXT NOT NULL, url TEXT NOT NULL, PRIMARY
  KEY (res, n)) WITHOUT ROWID;
INSERT INTO idx_reference (res, n, type, param, target_type, target_id, url) SELECT res,
  row_number() OVER (PARTITION BY res ORDER BY rowid), type, param, target_type, target_id, url
  FROM idx_reference_v1;
DROP TABLE idx_reference_v1;
CREATE INDEX IF NOT EXISTS idx_reference_target ON idx_reference (type, param, target_id, target_type, res);
CREATE INDEX IF NOT EXISTS idx_reference_rev ON idx_reference (target_type, target_id, type, param);
DROP INDEX IF EXISTS idx_quantity_value;
DROP INDEX IF EXISTS idx_quantity_res;
ALTER TABLE idx_quantity RENAME TO idx_quantity_v1;
CREATE TABLE idx_quantity (res INTEGER NOT NULL, n INTEGER NOT NULL, type TEXT NOT NULL, param
  TEXT NOT NULL, value REAL NOT NULL, system TEXT NOT NULL, code TEXT NOT NULL, unit TEXT NOT
  NULL, PRIMARY KEY (res, n)) WITHOUT ROWID;
INSERT INTO idx_quantity (res, n, type, param, value, system, code, unit) SELECT res,
  row_number() OVER (PARTITION BY res ORDER BY rowid), type, param, value, system, code, unit
  FROM idx_quantity_v1;
DROP TABLE idx_quantity_v1;
CREATE INDEX IF NOT EXISTS idx_quantity_value ON idx_quantity (type, param, value, res);
DROP INDEX IF EXISTS idx_number_value;
DROP INDEX IF EXISTS idx_number_res;
ALTER TABLE idx_number RENAME TO idx_number_v1;
CREATE TABLE idx_number (res INTEGER NOT NULL, n INTEGER NOT NULL, type TEXT NOT NULL, param TEXT
  NOT NULL, value REAL NOT NULL, PRIMARY KEY (res, n)) WITHOUT ROWID;
INSERT INTO idx_number (res, n, type, param, value) SELECT res, row_number() OVER (PARTITION BY
  res ORDER BY rowid), type, param, value FROM idx_number_v1;
DROP TABLE idx_number_v1;
CREATE INDEX IF NOT EXISTS idx_number_value ON idx_number (type, param, value, res);
DROP INDEX IF EXISTS idx_uri_value;
DROP INDEX IF EXISTS idx_uri_res;
ALTER TABLE idx_uri RENAME TO idx_uri_v1;
CREATE TABLE idx_uri (res INTEGER NOT NULL, n INTEGER NOT NULL, type TEXT NOT NULL, param TEXT
  NOT NULL, value TEXT NOT NULL, PRIMARY KEY (res, n)) WITHOUT ROWID;
INSERT INTO idx_uri (res, n, type, param, value) SELECT res, row_number() OVER (PARTITION BY res
  ORDER BY rowid), type, param, value FROM idx_uri_v1;
DROP TABLE idx_uri_v1;
CREATE INDEX IF NOT EXISTS idx_uri_value ON idx_uri (type, param, value, res);
DROP INDEX IF EXISTS idx_composite_code;
DROP INDEX IF EXISTS idx_composite_res;
ALTER TABLE idx_composite RENAME TO idx_composite_v1;
CREATE TABLE idx_composite (res INTEGER NOT NULL, n INTEGER NOT NULL, type TEXT NOT NULL, param
  TEXT NOT NULL, grp INTEGER NOT NULL, comp INTEGER NOT NULL, system TEXT NOT NULL, code TEXT NOT
  NULL, text TEXT NOT NULL, norm TEXT NOT NULL, exact TEXT NOT NULL, lo INTEGER NOT NULL, hi
  INTEGER NOT NULL, target_type TEXT NOT NULL, target_id TEXT NOT NULL, url TEXT NOT NULL, value
  REAL NOT NULL, unit TEXT NOT NULL, PRIMARY KEY (res, n)) WITHOUT ROWID;
INSERT INTO idx_composite (res, n, type, param, grp, comp, system, code, text, norm, exact, lo,
  hi, target_type, target_id, url, value, unit) SELECT res, row_number() OVER (PARTITION BY res
  ORDER BY rowid), type, param, grp, comp, system, code, text, norm, exact, lo, hi, target_type,
  target_id, url, value, unit FROM idx_composite_v1;
DROP TABLE idx_composite_v1;
CREATE INDEX IF NOT EXISTS idx_composite_code ON idx_composite (type, param, comp, code, res, grp);
)sql";

constexpr const char* kColumns =
    "r.seq, r.type, r.id, r.version, r.last_updated, r.deleted, r.body";

StoredResource RowToResource(const Statement& st) {
  StoredResource r;
  r.seq = st.Int(0);
  r.type = std::string(st.Text(1));
  r.id = std::string(st.Text(2));
  r.version = st.Int(3);
  r.last_updated = st.Int(4);
  r.deleted = st.Int(5) != 0;
  r.body = std::string(st.Text(6));
  return r;
}

void BindAll(Statement& st, const std::vector<sql::Param>& params) {
  int i = 1;
  for (const sql::Param& p : params) {
    if (const auto* s = std::get_if<std::string>(&p)) {
      st.Bind(i, *s);
    } else if (const auto* n = std::get_if<int64_t>(&p)) {
      st.Bind(i, *n);
    } else {
      st.BindDouble(i, std::get<double>(p));
    }
    ++i;
  }
}

class StatementRow : public sql::Row {
 public:
  explicit StatementRow(const Statement& st) : st_(st) {}
  int64_t Int(int col) const override { return st_.Int(col); }
  double Double(int col) const override { return st_.Double(col); }
  std::string_view Text(int col) const override { return st_.Text(col); }
  bool IsNull(int col) const override { return st_.IsNull(col); }

 private:
  const Statement& st_;
};

// Runs the shared search code on one connection (cached statements): a pooled reader, or the
// writer inside a write batch.
class ConnectionExecutor : public sql::SqlExecutor {
 public:
  explicit ConnectionExecutor(Connection& conn) : conn_(conn) {}
  sql::Dialect dialect() const override { return sql::Dialect::kSqlite; }
  Status Query(const std::string& sql, const std::vector<sql::Param>& params,
               const std::function<Status(const sql::Row&)>& on_row) override {
    ASSIGN_OR_RETURN(Statement * st, conn_.Cached(sql));
    BindAll(*st, params);
    StatementRow row(*st);
    Status s = Status::Ok();
    while (s.ok()) {
      auto more = st->Step();
      if (!more.ok()) {
        s = more.status();
        break;
      }
      if (!*more) {
        break;
      }
      s = on_row(row);
    }
    st->Reset();
    return s;
  }

 private:
  Connection& conn_;
};

// The one row a bound statement yields, if any (the statement is reset either way).
StatusOr<std::optional<StoredResource>> StepOne(Statement* st) {
  auto row = st->Step();
  std::optional<StoredResource> out;
  if (row.ok() && *row) {
    out = RowToResource(*st);
  }
  st->Reset();
  if (!row.ok()) {
    return row.status();
  }
  return out;
}

// The current version of type/id as `db` sees it.
StatusOr<std::optional<StoredResource>> ReadCurrent(Connection& db, const std::string& type,
                                                    const std::string& id) {
  ASSIGN_OR_RETURN(Statement * st, db.Cached(std::string("SELECT ") + kColumns +
                                             " FROM resource r WHERE r.type = ? AND r.id = ?"));
  st->Bind(1, type).Bind(2, id);
  return StepOne(st);
}

}  // namespace

class SqliteWriteBatch : public WriteBatch {
 public:
  explicit SqliteWriteBatch(SqliteStore* store) : store_(store), txn_(*store) {}

  Status Begin() { return txn_.Begin(); }

  StatusOr<PutOutcome> Put(const std::string& type, const std::string& id,
                           const std::string& content_hash,
                           const std::function<std::string(int64_t, base::Millis)>& make_body,
                           const fhir::IndexEntries& index) override {
    Connection& db = *store_->writer_;
    ASSIGN_OR_RETURN(Statement * sel,
                     db.Cached("SELECT seq, version, hash, deleted FROM resource WHERE type = ? "
                               "AND id = ?"));
    sel->Bind(1, type).Bind(2, id);
    ASSIGN_OR_RETURN(bool found, sel->Step());
    int64_t seq = 0;
    int64_t version = 0;
    if (found) {
      seq = sel->Int(0);
      version = sel->Int(1);
      if (sel->Text(2) == content_hash && sel->Int(3) == 0) {
        sel->Reset();
        return PutOutcome{WriteResult::kUnchanged, version};
      }
    }
    sel->Reset();
    base::Millis now = store_->clock_.NowMillis();
    if (now <= last_now_) {
      now = last_now_ + 1;  // strictly increasing within a batch keeps history order total
    }
    last_now_ = now;
    int64_t new_version = version + 1;
    std::string body = make_body(new_version, now);
    if (found) {
      RETURN_IF_ERROR(KeepInHistory(seq));
      ASSIGN_OR_RETURN(Statement * up,
                       db.Cached("UPDATE resource SET version = ?, last_updated = ?, deleted = 0, "
                                 "hash = ?, body = ? WHERE seq = ?"));
      up->Bind(1, new_version).Bind(2, now).Bind(3, content_hash).Bind(4, body).Bind(5, seq);
      RETURN_IF_ERROR(up->Run());
      RETURN_IF_ERROR(ClearIndex(seq));
    } else {
      ASSIGN_OR_RETURN(Statement * ins,
                       db.Cached("INSERT INTO resource (type, id, version, last_updated, deleted, "
                                 "hash, body) VALUES (?, ?, ?, ?, 0, ?, ?)"));
      ins->Bind(1, type)
          .Bind(2, id)
          .Bind(3, new_version)
          .Bind(4, now)
          .Bind(5, content_hash)
          .Bind(6, body);
      RETURN_IF_ERROR(ins->Run());
      seq = db.LastInsertRowId();
    }
    RETURN_IF_ERROR(WriteIndex(seq, type, index));
    return PutOutcome{found ? WriteResult::kUpdated : WriteResult::kCreated, new_version};
  }

  StatusOr<int64_t> Delete(const std::string& type, const std::string& id) override {
    Connection& db = *store_->writer_;
    ASSIGN_OR_RETURN(Statement * sel,
                     db.Cached("SELECT seq, version, deleted FROM resource WHERE type = ? AND "
                               "id = ?"));
    sel->Bind(1, type).Bind(2, id);
    ASSIGN_OR_RETURN(bool found, sel->Step());
    if (!found || sel->Int(2) != 0) {
      sel->Reset();
      return NotFoundError(type + "/" + id + " is not known");
    }
    int64_t seq = sel->Int(0);
    int64_t version = sel->Int(1) + 1;
    sel->Reset();
    base::Millis now = store_->clock_.NowMillis();
    RETURN_IF_ERROR(KeepInHistory(seq));
    // The deletion is the current version now: no body, as history shows it.
    ASSIGN_OR_RETURN(Statement * up,
                     db.Cached("UPDATE resource SET version = ?, last_updated = ?, deleted = 1, "
                               "hash = '', body = '' WHERE seq = ?"));
    up->Bind(1, version).Bind(2, now).Bind(3, seq);
    RETURN_IF_ERROR(up->Run());
    RETURN_IF_ERROR(ClearIndex(seq));
    return version;
  }

  StatusOr<std::optional<StoredResource>> Read(const std::string& type,
                                               const std::string& id) override {
    return ReadCurrent(*store_->writer_, type, id);
  }

  StatusOr<SearchPage> Search(const fhir::SearchQuery& query,
                              const fhir::AccessScope& scope) override {
    ConnectionExecutor exec(*store_->writer_);
    return sql::RunSearch(exec, *store_->registry_, query, scope);
  }

  Status Commit() override {
    RETURN_IF_ERROR(txn_.Commit());
    store_->search_keys_.merge(new_keys_);  // numbers of rolled-back pairs are never kept
    new_keys_.clear();
    return Status::Ok();
  }

 private:
  // Copies the current version of resource `seq` into the history before it is superseded.
  Status KeepInHistory(int64_t seq) {
    ASSIGN_OR_RETURN(Statement * st,
                     store_->writer_->Cached(
                         "INSERT INTO resource_version (type, id, version, last_updated, deleted, "
                         "body) SELECT type, id, version, last_updated, deleted, body FROM "
                         "resource WHERE seq = ?"));
    st->Bind(1, seq);
    return st->Run();
  }

  Status ClearIndex(int64_t seq) {
    for (const char* table :
         {"idx_token", "idx_string", "idx_date", "idx_reference", "idx_quantity", "idx_number",
          "idx_uri", "idx_composite", "compartment"}) {
      ASSIGN_OR_RETURN(Statement * del, store_->writer_->Cached(std::string("DELETE FROM ") +
                                                                table + " WHERE res = ?"));
      del->Bind(1, seq);
      RETURN_IF_ERROR(del->Run());
    }
    return Status::Ok();
  }

  // The number of the pair (type, param) in search_key; a new pair gets one in this transaction.
  StatusOr<int64_t> KeyOf(const std::string& type, std::string_view param) {
    key_buf_.assign(type);
    key_buf_ += '\n';
    key_buf_ += param;
    if (auto it = store_->search_keys_.find(key_buf_); it != store_->search_keys_.end()) {
      return it->second;
    }
    if (auto it = new_keys_.find(key_buf_); it != new_keys_.end()) {
      return it->second;
    }
    Connection& db = *store_->writer_;
    ASSIGN_OR_RETURN(Statement * sel,
                     db.Cached("SELECT k FROM search_key WHERE type = ? AND param = ?"));
    sel->Bind(1, type).Bind(2, param);
    ASSIGN_OR_RETURN(bool found, sel->Step());
    if (found) {
      // Committed by an earlier transaction (this one's own pairs are in new_keys_).
      const int64_t k = sel->Int(0);
      sel->Reset();
      store_->search_keys_.emplace(key_buf_, k);
      return k;
    }
    sel->Reset();
    ASSIGN_OR_RETURN(Statement * ins,
                     db.Cached("INSERT INTO search_key (type, param) VALUES (?, ?)"));
    ins->Bind(1, type).Bind(2, param);
    RETURN_IF_ERROR(ins->Run());
    const int64_t k = db.LastInsertRowId();
    new_keys_.emplace(key_buf_, k);
    return k;
  }

  // Readies `st` for the next index row of resource `seq`: binds res (1) and the key (2) of the
  // pair (type, param).
  Status StartRow(Statement* st, int64_t seq, const std::string& type, std::string_view param) {
    ASSIGN_OR_RETURN(int64_t k, KeyOf(type, param));
    st->Reset();
    st->Bind(1, seq).Bind(2, k);
    return Status::Ok();
  }

  Status WriteIndex(int64_t seq, const std::string& type, const fhir::IndexEntries& e) {
    Connection& db = *store_->writer_;
    int64_t n = 0;  // the row's number within its resource: (res, n) keys every index table
    if (!e.tokens.empty() || !e.tags.empty()) {
      ASSIGN_OR_RETURN(Statement * st,
                       db.Cached("INSERT INTO idx_token (res, k, system, code, text, n) "
                                 "VALUES (?, ?, ?, ?, ?, ?)"));
      for (const auto* list : {&e.tokens, &e.tags}) {
        for (const fhir::TokenEntry& t : *list) {
          RETURN_IF_ERROR(StartRow(st, seq, type, t.param));
          st->Bind(3, t.system).Bind(4, t.code).Bind(5, t.text);
          st->Bind(6, n++);
          RETURN_IF_ERROR(st->Run());
        }
      }
    }
    if (!e.strings.empty()) {
      ASSIGN_OR_RETURN(Statement * st,
                       db.Cached("INSERT INTO idx_string (res, k, norm, exact, n) VALUES "
                                 "(?, ?, ?, ?, ?)"));
      for (const fhir::StringEntry& s : e.strings) {
        RETURN_IF_ERROR(StartRow(st, seq, type, s.param));
        st->Bind(3, s.normalized).Bind(4, s.exact).Bind(5, n++);
        RETURN_IF_ERROR(st->Run());
      }
    }
    if (!e.dates.empty()) {
      ASSIGN_OR_RETURN(Statement * st, db.Cached("INSERT INTO idx_date (res, k, lo, hi, n) "
                                                 "VALUES (?, ?, ?, ?, ?)"));
      for (const fhir::DateEntry& d : e.dates) {
        RETURN_IF_ERROR(StartRow(st, seq, type, d.param));
        st->Bind(3, d.low).Bind(4, d.high).Bind(5, n++);
        RETURN_IF_ERROR(st->Run());
      }
    }
    if (!e.references.empty()) {
      ASSIGN_OR_RETURN(Statement * st, db.Cached("INSERT INTO idx_reference (res, k, target_type, "
                                                 "target_id, url, n) VALUES (?, ?, ?, ?, ?, ?)"));
      for (const fhir::ReferenceEntry& r : e.references) {
        RETURN_IF_ERROR(StartRow(st, seq, type, r.param));
        st->Bind(3, r.target_type).Bind(4, r.target_id).Bind(5, r.url);
        st->Bind(6, n++);
        RETURN_IF_ERROR(st->Run());
      }
    }
    if (!e.quantities.empty()) {
      ASSIGN_OR_RETURN(Statement * st,
                       db.Cached("INSERT INTO idx_quantity (res, k, value, system, code, "
                                 "unit, n) VALUES (?, ?, ?, ?, ?, ?, ?)"));
      for (const fhir::QuantityEntry& q : e.quantities) {
        RETURN_IF_ERROR(StartRow(st, seq, type, q.param));
        st->BindDouble(3, q.value).Bind(4, q.system).Bind(5, q.code);
        st->Bind(6, q.unit).Bind(7, n++);
        RETURN_IF_ERROR(st->Run());
      }
    }
    if (!e.numbers.empty()) {
      ASSIGN_OR_RETURN(Statement * st, db.Cached("INSERT INTO idx_number (res, k, value, n) "
                                                 "VALUES (?, ?, ?, ?)"));
      for (const fhir::NumberEntry& num : e.numbers) {
        RETURN_IF_ERROR(StartRow(st, seq, type, num.param));
        st->BindDouble(3, num.value).Bind(4, n++);
        RETURN_IF_ERROR(st->Run());
      }
    }
    if (!e.uris.empty() || !e.profiles.empty()) {
      ASSIGN_OR_RETURN(Statement * st, db.Cached("INSERT INTO idx_uri (res, k, value, n) "
                                                 "VALUES (?, ?, ?, ?)"));
      for (const fhir::UriEntry& u : e.uris) {
        RETURN_IF_ERROR(StartRow(st, seq, type, u.param));
        st->Bind(3, u.value).Bind(4, n++);
        RETURN_IF_ERROR(st->Run());
      }
      for (const std::string& p : e.profiles) {
        RETURN_IF_ERROR(StartRow(st, seq, type, "_profile"));
        st->Bind(3, p).Bind(4, n++);
        RETURN_IF_ERROR(st->Run());
      }
    }
    if (!e.composites.empty()) {
      ASSIGN_OR_RETURN(Statement * st,
                       db.Cached("INSERT INTO idx_composite (res, k, grp, comp, system, "
                                 "code, text, norm, exact, lo, hi, target_type, target_id, url, "
                                 "value, unit, n) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                                 "?, ?, ?, ?)"));
      for (const fhir::CompositeEntry& c : e.composites) {
        RETURN_IF_ERROR(StartRow(st, seq, type, c.param));
        st->Bind(3, int64_t{c.group}).Bind(4, int64_t{c.component});
        st->Bind(5, c.system).Bind(6, c.code).Bind(7, c.text).Bind(8, c.norm).Bind(9, c.exact);
        st->Bind(10, c.lo).Bind(11, c.hi).Bind(12, c.target_type).Bind(13, c.target_id);
        st->Bind(14, c.url).BindDouble(15, c.value).Bind(16, c.unit).Bind(17, n++);
        RETURN_IF_ERROR(st->Run());
      }
    }
    if (!e.patients.empty()) {
      ASSIGN_OR_RETURN(Statement * st,
                       db.Cached("INSERT OR IGNORE INTO compartment (patient, type, res) VALUES "
                                 "(?, ?, ?)"));
      for (const std::string& p : e.patients) {
        st->Reset();
        st->Bind(1, p).Bind(2, type).Bind(3, seq);
        RETURN_IF_ERROR(st->Run());
      }
    }
    return Status::Ok();
  }

  SqliteStore* store_;
  WriteTxn txn_;  // holds the writer's lock; rolls back unless committed
  base::Millis last_now_ = 0;
  std::string key_buf_;                                // "type\nparam" for the lookups of KeyOf
  std::unordered_map<std::string, int64_t> new_keys_;  // pairs this transaction numbered
};

SqliteStore::SqliteStore(std::string path,
                         std::shared_ptr<const fhir::SearchParamRegistry> registry,
                         const base::Clock& clock)
    : path_(std::move(path)), registry_(std::move(registry)), clock_(clock) {}

SqliteStore::~SqliteStore() {
  StoreMetrics& m = StoreMetrics::Global();
  m.AddOpen(StoreMetrics::kSqliteReader, -static_cast<int>(readers_.size()));
  if (writer_ != nullptr) {
    m.AddOpen(StoreMetrics::kSqliteWriter, -1);
  }
}

SqliteStore::WriterLock SqliteStore::LockWriter() {
  auto start = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(writer_mutex_);
  writer_->NoteMemory();  // idle between two users: what the last one left
  StoreMetrics::Global().RecordWait(
      StoreMetrics::kSqliteWriter,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return WriterLock{std::move(lock), HeldConnection(StoreMetrics::kSqliteWriter)};
}

StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(
    const std::string& path, std::shared_ptr<const fhir::SearchParamRegistry> registry,
    const base::Clock& clock) {
  std::unique_ptr<SqliteStore> store(new SqliteStore(path, std::move(registry), clock));
  {
    // The database holds PHI, password hashes and the signing keys: owner-only from the start
    // (SQLite gives its -wal and -shm files the same mode).
    mode_t old = umask(077);
    auto writer = Connection::Open(path, false);
    umask(old);
    if (!writer.ok()) {
      return writer.status();
    }
    store->writer_ = std::move(*writer);
    StoreMetrics::Global().AddOpen(StoreMetrics::kSqliteWriter, 1);
    StoreMetrics::Global().SetCapacity(StoreMetrics::kSqliteWriter, 1);
  }
  RETURN_IF_ERROR(store->writer_->Exec("PRAGMA journal_mode=WAL"));
  RETURN_IF_ERROR(store->writer_->Exec("PRAGMA synchronous=FULL"));
  RETURN_IF_ERROR(store->writer_->Exec("PRAGMA foreign_keys=ON"));
  // A larger page cache keeps the index B-trees in memory during imports (the default 2 MB makes
  // every insert re-read pages from the OS).
  RETURN_IF_ERROR(store->writer_->Exec("PRAGMA cache_size=-65536"));
  RETURN_IF_ERROR(store->writer_->Exec("PRAGMA temp_store=MEMORY"));
  RETURN_IF_ERROR(store->Migrate());
  return store;
}

Status SqliteStore::Migrate() {
  WriteTxn txn(*this);
  RETURN_IF_ERROR(txn.Begin());
  RETURN_IF_ERROR(writer_->Exec(kBaseSchema));
  ASSIGN_OR_RETURN(auto st,
                   writer_->Prepare("SELECT value FROM schema_info WHERE key = 'resource_schema'"));
  ASSIGN_OR_RETURN(bool row, st->Step());
  const int64_t v = row ? std::stoll(std::string(st->Text(0))) : kSchemaVersion;
  st.reset();  // an ALTER TABLE waits for no statement of this connection
  if (v > kSchemaVersion) {
    return Status(StatusCode::kFailedPrecondition, "database schema " + std::to_string(v) +
                                                       " is newer than this server supports (" +
                                                       std::to_string(kSchemaVersion) + ")");
  }
  const bool upgrade = v < kSchemaVersion;
  if (upgrade) {
    if (v == 1) {
      RETURN_IF_ERROR(writer_->Exec(kUpgrade1To2));
    }
    if (v <= 2) {
      RETURN_IF_ERROR(writer_->Exec(kUpgrade2To3));
    }
    if (v <= 3) {
      RETURN_IF_ERROR(writer_->Exec(kUpgrade3To4));
    }
    RETURN_IF_ERROR(writer_->Exec(kUpgrade4To5Rename));
  }
  RETURN_IF_ERROR(writer_->Exec(kIndexTables));
  if (upgrade) {
    RETURN_IF_ERROR(writer_->Exec(kUpgrade4To5Copy));
  }
  RETURN_IF_ERROR(writer_->Exec(kIndexIndexes));
  if (!row) {
    RETURN_IF_ERROR(
        writer_->Exec("INSERT INTO schema_info (key, value) VALUES ('resource_schema', '" +
                      std::to_string(kSchemaVersion) + "')"));
  } else if (upgrade) {
    RETURN_IF_ERROR(writer_->Exec("UPDATE schema_info SET value = '" +
                                  std::to_string(kSchemaVersion) +
                                  "' WHERE key = 'resource_schema'"));
  }
  return txn.Commit();
}

namespace {

// The read scope this thread holds, if any (a request runs on one thread from start to end).
struct PinnedReader {
  const SqliteStore* store = nullptr;
  Connection* conn = nullptr;
};
thread_local PinnedReader t_pinned;

// Holds a pooled reader inside an open (deferred) transaction, pinned for this thread: the first
// read takes the WAL read lock and the scope's end releases it.
class SqliteReadScope : public ReadScope {
 public:
  // REQUIRES: the lease's connection is inside a transaction.
  SqliteReadScope(const SqliteStore* store, std::unique_ptr<SqliteStore::ReaderLease> lease)
      : lease_(std::move(lease)) {
    t_pinned = {store, &lease_->conn()};
  }
  ~SqliteReadScope() override {
    t_pinned = {};
    if (!lease_->conn().RunCached("COMMIT").ok()) {
      (void)lease_->conn().RunCached("ROLLBACK");
    }
  }

 private:
  std::unique_ptr<SqliteStore::ReaderLease> lease_;
};

}  // namespace

std::unique_ptr<ReadScope> SqliteStore::PinReads() {
  if (t_pinned.store != nullptr) {
    return nullptr;
  }
  // On failure, reads take connections one by one and report it.
  auto lease = AcquireReader();
  if (!lease.ok() || !(*lease)->conn().RunCached("BEGIN").ok()) {
    return nullptr;
  }
  return std::make_unique<SqliteReadScope>(this, std::move(*lease));
}

StatusOr<std::unique_ptr<SqliteStore::ReaderLease>> SqliteStore::AcquireReader() {
  if (t_pinned.store == this) {
    return std::make_unique<ReaderLease>(t_pinned.conn);
  }
  std::unique_ptr<Connection> conn;
  {
    std::lock_guard<std::mutex> lock(readers_mutex_);
    if (!readers_.empty()) {
      conn = std::move(readers_.back());
      readers_.pop_back();
    }
  }
  if (conn == nullptr) {
    ASSIGN_OR_RETURN(conn, Connection::Open(path_, true));
    StoreMetrics::Global().AddOpen(StoreMetrics::kSqliteReader, 1);
    // Readers read pages with pread into a modest cache each, and do not map the file: SQLite
    // drops a connection's whole mapping after any commit, and mapping it again cost the token
    // endpoint (a commit per request) ~7% of its CPU in munmap and TLB shootdowns; reads were
    // the same either way (docs/performance.md, "Token endpoint").
    RETURN_IF_ERROR(conn->Exec("PRAGMA mmap_size=0"));
    RETURN_IF_ERROR(conn->Exec("PRAGMA cache_size=-16384"));
  }
  return std::make_unique<ReaderLease>(this, std::move(conn));
}

void SqliteStore::ReleaseReader(std::unique_ptr<Connection> conn) {
  // Still this thread's. Asking for the cache size takes one of SQLite's global mutexes, so it is
  // done on one release in 256, not on every request.
  if (conn->CountUse() % 256 == 1) {
    conn->NoteMemory();
  }
  std::lock_guard<std::mutex> lock(readers_mutex_);
  if (readers_.size() < 64) {
    readers_.push_back(std::move(conn));
  } else {
    StoreMetrics::Global().AddOpen(StoreMetrics::kSqliteReader, -1);
  }
}

StatusOr<std::optional<StoredResource>> SqliteStore::Read(const std::string& type,
                                                          const std::string& id) {
  ASSIGN_OR_RETURN(auto lease, AcquireReader());
  return ReadCurrent(lease->conn(), type, id);
}

StatusOr<std::optional<StoredResource>> SqliteStore::ReadVersion(const std::string& type,
                                                                 const std::string& id,
                                                                 int64_t version) {
  ASSIGN_OR_RETURN(auto lease, AcquireReader());
  ASSIGN_OR_RETURN(Statement * st,
                   lease->conn().Cached(
                       "SELECT 0, r.type, r.id, r.version, r.last_updated, r.deleted, r.body "
                       "FROM resource r WHERE r.type = ?1 AND r.id = ?2 AND r.version = ?3 "
                       "UNION ALL SELECT 0, r.type, r.id, r.version, r.last_updated, r.deleted, "
                       "r.body FROM resource_version r WHERE r.type = ?1 AND r.id = ?2 AND "
                       "r.version = ?3"));
  st->Bind(1, type).Bind(2, id).Bind(3, version);
  return StepOne(st);
}

StatusOr<std::vector<StoredResource>> SqliteStore::History(const HistoryQuery& q) {
  ASSIGN_OR_RETURN(auto lease, AcquireReader());
  // The current versions (resource) and the superseded ones (resource_version), one order.
  std::string where = " WHERE 1=1";
  std::vector<sql::Param> params;
  if (!q.type.empty()) {
    where += " AND r.type = ?1";
    params.emplace_back(q.type);
  }
  if (!q.id.empty()) {
    where += " AND r.id = ?" + std::to_string(params.size() + 1);
    params.emplace_back(q.id);
  }
  if (q.since) {
    where += " AND r.last_updated >= ?" + std::to_string(params.size() + 1);
    params.emplace_back(*q.since);
  }
  if (q.at) {
    where += " AND r.last_updated <= ?" + std::to_string(params.size() + 1);
    params.emplace_back(*q.at);
  }
  const std::string columns =
      "SELECT 0, r.type, r.id, r.version, r.last_updated, r.deleted, r.body FROM ";
  std::string sql = columns + "resource r" + where + " UNION ALL " + columns +
                    "resource_version r" + where + " ORDER BY 5 DESC, 4 DESC LIMIT ?" +
                    std::to_string(params.size() + 1) + " OFFSET ?" +
                    std::to_string(params.size() + 2);
  params.emplace_back(static_cast<int64_t>(q.count));
  params.emplace_back(static_cast<int64_t>(q.offset));
  ASSIGN_OR_RETURN(Statement * st, lease->conn().Cached(sql));
  BindAll(*st, params);
  std::vector<StoredResource> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) {
      break;
    }
    out.push_back(RowToResource(*st));
  }
  st->Reset();
  return out;
}

StatusOr<std::vector<std::string>> SqliteStore::PatientsOf(const std::string& type,
                                                           const std::string& id) {
  ASSIGN_OR_RETURN(auto lease, AcquireReader());
  ASSIGN_OR_RETURN(Statement * st,
                   lease->conn().Cached("SELECT c.patient FROM compartment c JOIN resource r ON "
                                        "r.seq = c.res WHERE r.type = ? AND r.id = ?"));
  st->Bind(1, type).Bind(2, id);
  std::vector<std::string> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) {
      break;
    }
    out.emplace_back(st->Text(0));
  }
  st->Reset();
  return out;
}

StatusOr<SearchPage> SqliteStore::Search(const fhir::SearchQuery& q,
                                         const fhir::AccessScope& scope) {
  ASSIGN_OR_RETURN(auto lease, AcquireReader());
  ConnectionExecutor exec(lease->conn());
  return sql::RunSearch(exec, *registry_, q, scope);
}

StatusOr<std::unique_ptr<WriteBatch>> SqliteStore::BeginWrite() {
  auto batch = std::make_unique<SqliteWriteBatch>(this);
  RETURN_IF_ERROR(batch->Begin());
  return std::unique_ptr<WriteBatch>(std::move(batch));
}

StatusOr<bool> SqliteStore::StartBulkLoad() {
  WriteTxn txn(*this);
  RETURN_IF_ERROR(txn.Begin());
  ASSIGN_OR_RETURN(auto st, writer_->Prepare("SELECT 1 FROM resource LIMIT 1"));
  ASSIGN_OR_RETURN(bool has_data, st->Step());
  st.reset();  // a DROP INDEX waits for no statement of this connection
  if (has_data) {
    return false;
  }
  for (const char* name : kDeferredIndexes) {
    RETURN_IF_ERROR(writer_->Exec(std::string("DROP INDEX IF EXISTS ") + name));
  }
  RETURN_IF_ERROR(txn.Commit());
  return true;
}

Status SqliteStore::FinishBulkLoad() {
  WriteTxn txn(*this);
  RETURN_IF_ERROR(txn.Begin());
  RETURN_IF_ERROR(writer_->Exec(kBaseSchema));
  RETURN_IF_ERROR(writer_->Exec(kIndexIndexes));
  return txn.Commit();
}

StatusOr<std::vector<std::pair<std::string, int64_t>>> SqliteStore::CountByType() {
  ASSIGN_OR_RETURN(auto lease, AcquireReader());
  ASSIGN_OR_RETURN(Statement * st, lease->conn().Cached("SELECT type, COUNT(*) FROM resource WHERE "
                                                        "deleted = 0 GROUP BY type ORDER BY type"));
  std::vector<std::pair<std::string, int64_t>> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) {
      break;
    }
    out.emplace_back(std::string(st->Text(0)), st->Int(1));
  }
  st->Reset();
  return out;
}

}  // namespace portico::store::sqlite

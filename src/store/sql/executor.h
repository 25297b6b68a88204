// The small seam between the backend-independent SQL code (search orchestration) and a database
// driver: run one parameterized statement and visit its rows.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "src/base/status.h"
#include "src/store/resource_store.h"
#include "src/store/sql/search_sql.h"

namespace portico::store::sql {

// One result row; valid only during the visitor call that receives it.
class Row {
 public:
  virtual ~Row() = default;
  virtual int64_t Int(int col) const = 0;
  virtual double Double(int col) const = 0;
  virtual std::string_view Text(int col) const = 0;
  virtual bool IsNull(int col) const = 0;
};

// Runs statements on one connection. Not thread-safe: an executor is used by one thread at a
// time (it wraps a leased connection).
class SqlExecutor {
 public:
  virtual ~SqlExecutor() = default;
  virtual Dialect dialect() const = 0;
  // Runs `sql` with `params` bound in order, calling `on_row` for every row; stops at the first
  // error (of the statement or of `on_row`).
  virtual Status Query(const std::string& sql, const std::vector<Param>& params,
                       const std::function<Status(const Row&)>& on_row) = 0;
};

// The resource columns every query of StoredResource rows selects, over alias `r`:
// seq, type, id, version, last_updated, deleted, body (columns 0-6).
inline constexpr const char* kResourceColumns =
    "r.seq, r.type, r.id, r.version, r.last_updated, r.deleted, r.body";

StoredResource ResourceFromRow(const Row& row);

// Runs `sql` and appends every row (kResourceColumns first) to `out`.
Status QueryResources(SqlExecutor& exec, const std::string& sql, const std::vector<Param>& params,
                      std::vector<StoredResource>& out);

}  // namespace portico::store::sql

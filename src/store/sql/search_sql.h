// Builds parameterized SQL for FHIR searches over the index schema shared by the SQL backends.
// Every value is a bound parameter; identifiers come only from the registry, never from input.
// The access scope becomes part of the WHERE clause: narrowing is in the query, not after it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "src/base/status.h"
#include "src/fhir/search/query.h"

namespace portico::store::sql {

enum class Dialect { kSqlite, kPostgres };

using Param = std::variant<std::string, int64_t, double>;

class SqlBuilder {
 public:
  explicit SqlBuilder(Dialect dialect) : dialect_(dialect) {}

  // Appends a placeholder for `p` to `sql`.
  void Bind(std::string& sql, Param p);
  const std::vector<Param>& params() const { return params_; }

  // Predicate (SQL boolean expression) over alias `r` of table `resource` for one condition.
  // `correlated` (the default) writes EXISTS subqueries keyed by `r`.seq, so a row is checked
  // with a few index lookups whatever the size of the database; otherwise the form is
  // `r.seq IN (SELECT ...)`, which SQLite may use to drive the query from the matching index
  // rows. Both forms select the same rows.
  Status Condition(const fhir::SearchCondition& c, const std::string& type, const std::string& r,
                   const fhir::AccessScope& scope, std::string& sql, bool correlated = true);
  // Predicate restricting alias `r` (of resource type `type`) to what `scope` may see.
  // `correlated` as for Condition() (shared types always use the uncorrelated form, which is
  // bounded by the patients' own data).
  void Scope(const fhir::AccessScope& scope, const std::string& type, const std::string& r,
             std::string& sql, bool correlated = false);

 private:
  // Scope() without the granular filter.
  void ScopeBase(const fhir::AccessScope& scope, const std::string& type, const std::string& r,
                 std::string& sql, bool correlated);

 public:
  // ORDER BY expression for a sort key over alias r (with direction).
  void SortExpr(const fhir::SortKey& key, const std::string& r, std::string& sql);
  // The value of a sort key for alias r, without direction: a scalar subquery (or column) that
  // is NULL when the resource has no value. Its SQL type is SortValueKind(key).
  void SortValueExpr(const fhir::SortKey& key, const std::string& r, std::string& sql);
  static fhir::SortValue::Kind SortValueKind(const fhir::SortKey& key);
  // Binds a sort value (NULL values must not be bound; callers test for them).
  void BindSortValue(std::string& sql, const fhir::SortValue& v);

  // Types outside the patient compartment that a patient-scoped caller may read when its own
  // data references them.
  static bool IsReferencedSharedType(const std::string& type);

  // Appends the predicate that selects the index rows of resource type `type` and parameter
  // `param` in index table alias `x`; either may be empty, meaning any type or any parameter.
  // SQLite's index rows carry one number for the pair (`k`, looked up in search_key);
  // PostgreSQL's carry both texts. `no_index` as NoIndex(). REQUIRES: `type` or `param` is set.
  void IndexKey(const std::string& x, std::string_view type, std::string_view param,
                std::string& sql, bool no_index = false);
  // The index-row column that tells parameters apart within one resource ("k" or "param").
  std::string KeyColumn() const { return dialect_ == Dialect::kSqlite ? "k" : "param"; }

  // A prefix for a column reference that keeps SQLite's planner off that column's index ("+");
  // empty for PostgreSQL, whose planner needs no such hint (and has no unary + on text).
  std::string NoIndex() const { return dialect_ == Dialect::kSqlite ? "+" : ""; }
  Dialect dialect() const { return dialect_; }

 private:
  Status ValuePredicate(const fhir::SearchCondition& c, const fhir::SearchValue& v,
                        const std::string& x, std::string& sql);
  Status CompositeCondition(const fhir::SearchCondition& c, const std::string& type,
                            const std::string& r, std::string& sql, bool correlated);
  int next_alias_ = 0;
  Dialect dialect_;
  std::vector<Param> params_;
};

// The table that holds index rows of a parameter type.
const char* IndexTable(fhir::ParamType type);

}  // namespace portico::store::sql

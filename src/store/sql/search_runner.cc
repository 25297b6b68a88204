#include "src/store/sql/search_runner.h"

#include <algorithm>
#include <map>
#include <set>

namespace portico::store::sql {

StoredResource ResourceFromRow(const Row& row) {
  StoredResource r;
  r.seq = row.Int(0);
  r.type = std::string(row.Text(1));
  r.id = std::string(row.Text(2));
  r.version = row.Int(3);
  r.last_updated = row.Int(4);
  r.deleted = row.Int(5) != 0;
  r.body = std::string(row.Text(6));
  return r;
}

Status QueryResources(SqlExecutor& exec, const std::string& sql, const std::vector<Param>& params,
                      std::vector<StoredResource>& out) {
  return exec.Query(sql, params, [&](const Row& row) -> Status {
    out.push_back(ResourceFromRow(row));
    return Status::Ok();
  });
}

namespace {

constexpr int kMaxIncludes = 1000;
constexpr int kMaxIncludeDepth = 3;

}  // namespace

StatusOr<SearchPage> RunSearch(SqlExecutor& exec, const fhir::SearchParamRegistry& registry,
                               const fhir::SearchQuery& q, const fhir::AccessScope& scope) {
  const Dialect dialect = exec.dialect();
  SearchPage page;

  // The driver: where the rows come from, in seq order, so that a page costs about its own size.
  //  - kCompartment: one patient's compartment rows of this type (the patient scope itself);
  //  - kReference: the index rows of a `param=Type/id` condition (e.g. EOB?patient=X);
  //  - kResource: the resource table; then one condition may drive through `seq IN (...)`.
  // Every other condition is a correlated EXISTS checked per candidate row.
  enum class Drive { kResource, kCompartment, kReference };
  Drive drive = Drive::kResource;
  int driver_cond = -1;
  bool has_id = false;
  for (const fhir::SearchCondition& c : q.conditions) {
    has_id = has_id || (c.special == fhir::Special::kId && c.modifier.empty());
  }
  const bool shared = SqlBuilder::IsReferencedSharedType(q.type);
  const bool scoped = !scope.unrestricted;
  if (!has_id && scoped && scope.patient_ids.size() == 1 && !shared &&
      registry.InPatientCompartment(q.type)) {
    drive = Drive::kCompartment;
  } else if (!has_id) {
    for (size_t i = 0; i < q.conditions.size(); ++i) {
      const fhir::SearchCondition& c = q.conditions[i];
      if (c.param != nullptr && c.type == fhir::ParamType::kReference && c.modifier.empty() &&
          c.chained == nullptr && c.has_type.empty() && c.values.size() == 1 &&
          !c.values[0].ref_type.empty() && !c.values[0].ref_id.empty()) {
        drive = Drive::kReference;
        driver_cond = static_cast<int>(i);
        break;
      }
    }
  }
  // With the resource table as driver and no narrower scope, the first positive condition may
  // drive the query (SQLite materializes its matches).
  int uncorrelated_cond = -1;
  if (drive == Drive::kResource && !has_id && (!scoped || shared)) {
    for (size_t i = 0; i < q.conditions.size(); ++i) {
      const fhir::SearchCondition& c = q.conditions[i];
      if (c.modifier != "not" && c.modifier != "missing" &&
          c.special != fhir::Special::kLastUpdated && c.special != fhir::Special::kId) {
        uncorrelated_cond = static_cast<int>(i);
        break;
      }
    }
  }
  const std::string seqcol = drive == Drive::kResource ? "r.seq" : "d.res";

  auto build_where = [&](SqlBuilder& b, std::string& sql) -> Status {
    switch (drive) {
      case Drive::kCompartment:
        // The access scope is this join: only the patient's compartment rows are read.
        sql += " FROM compartment d CROSS JOIN resource r WHERE d.patient = ";
        b.Bind(sql, scope.patient_ids[0]);
        sql += " AND d.type = ";
        b.Bind(sql, q.type);
        sql += " AND r.seq = d.res";
        break;
      case Drive::kReference: {
        const fhir::SearchCondition& c = q.conditions[driver_cond];
        sql += " FROM idx_reference d CROSS JOIN resource r WHERE ";
        b.IndexKey("d", q.type, c.name, sql);
        sql += " AND d.target_id = ";
        b.Bind(sql, c.values[0].ref_id);
        sql += " AND d.target_type = ";
        b.Bind(sql, c.values[0].ref_type);
        sql += " AND r.seq = d.res";
        break;
      }
      case Drive::kResource:
        sql += " FROM resource r WHERE r.type = ";
        b.Bind(sql, q.type);
        break;
    }
    sql += " AND r.deleted = 0";
    for (size_t i = 0; i < q.conditions.size(); ++i) {
      if (static_cast<int>(i) == driver_cond) {
        continue;
      }
      sql += " AND ";
      RETURN_IF_ERROR(b.Condition(q.conditions[i], q.type, "r", scope, sql,
                                  static_cast<int>(i) != uncorrelated_cond));
    }
    for (const auto& g : scope.granular) {
      if (g.type != q.type) {
        continue;
      }
      sql += " AND (";
      for (size_t i = 0; i < g.alternatives.size(); ++i) {
        sql += i > 0 ? " OR (" : "(";
        sql += "1=1";
        for (const fhir::SearchCondition& c : g.alternatives[i]) {
          sql += " AND ";
          RETURN_IF_ERROR(b.Condition(c, q.type, "r", scope, sql, true));
        }
        sql += ")";
      }
      sql += ")";
    }
    if (drive != Drive::kCompartment) {
      sql += " AND ";
      // Correlated unless the scope itself is the narrowest driver available.
      b.Scope(scope, q.type, "r", sql, !(drive == Drive::kResource && !has_id));
    }
    return Status::Ok();
  };

  const bool backward = q.cursor.active && q.cursor.backward;
  if (q.summary != fhir::SummaryMode::kCount) {
    SqlBuilder b(dialect);
    std::string sql;
    const size_t nkeys = q.sort.size();
    if (nkeys == 0) {
      sql = std::string("SELECT ") + kResourceColumns;
      RETURN_IF_ERROR(build_where(b, sql));
      if (q.cursor.active) {
        sql += " AND " + seqcol + (backward ? " < " : " > ");
        b.Bind(sql, q.cursor.seq);
      } else if (q.after_seq >= 0) {
        sql += " AND " + seqcol + " > ";
        b.Bind(sql, q.after_seq);
      }
      sql += " ORDER BY " + seqcol + (backward ? " DESC" : " ASC");
    } else {
      // Keyset over (sort values..., seq). A missing value sorts last in both directions.
      sql = std::string("SELECT * FROM (SELECT ") + kResourceColumns;
      for (size_t i = 0; i < nkeys; ++i) {
        sql += ", ";
        b.SortValueExpr(q.sort[i], "r", sql);
        sql += " AS k" + std::to_string(i);
      }
      RETURN_IF_ERROR(build_where(b, sql));
      sql += ") AS q WHERE 1=1";
      if (q.cursor.active) {
        if (q.cursor.values.size() != nkeys) {
          return InvalidArgumentError("paging cursor does not match _sort");
        }
        auto key = [](size_t i) { return "k" + std::to_string(i); };
        // after(i): the row comes after the cursor on key i alone (in the page direction).
        auto after = [&](size_t i, std::string& out) {
          const fhir::SortValue& v = q.cursor.values[i];
          bool desc = q.sort[i].descending;
          if (!backward) {
            if (v.kind == fhir::SortValue::Kind::kNull) {
              out += "1=0";
              return;
            }
            out += "(" + key(i) + (desc ? " < " : " > ");
            b.BindSortValue(out, v);
            out += " OR " + key(i) + " IS NULL)";
          } else {
            if (v.kind == fhir::SortValue::Kind::kNull) {
              out += key(i) + " IS NOT NULL";
              return;
            }
            out += "(" + key(i) + (desc ? " > " : " < ");
            b.BindSortValue(out, v);
            out += ")";
          }
        };
        auto equal = [&](size_t i, std::string& out) {
          const fhir::SortValue& v = q.cursor.values[i];
          if (v.kind == fhir::SortValue::Kind::kNull) {
            out += key(i) + " IS NULL";
            return;
          }
          out += key(i) + " = ";
          b.BindSortValue(out, v);
        };
        sql += " AND (";
        for (size_t i = 0; i <= nkeys; ++i) {
          sql += i > 0 ? " OR (" : "(";
          for (size_t j = 0; j < i; ++j) {
            equal(j, sql);
            sql += " AND ";
          }
          if (i < nkeys) {
            after(i, sql);
          } else {
            sql += std::string("seq") + (backward ? " < " : " > ");
            b.Bind(sql, q.cursor.seq);
          }
          sql += ")";
        }
        sql += ")";
      }
      sql += " ORDER BY ";
      for (size_t i = 0; i < nkeys; ++i) {
        bool desc = q.sort[i].descending != backward;
        sql += "k" + std::to_string(i) + " IS NULL" + (backward ? " DESC, " : ", ");
        sql += "k" + std::to_string(i) + (desc ? " DESC, " : " ASC, ");
      }
      sql += backward ? "seq DESC" : "seq ASC";
    }
    sql += " LIMIT ";
    b.Bind(sql, static_cast<int64_t>(q.count + 1));
    if (q.offset > 0 && !q.cursor.active) {
      sql += " OFFSET ";
      b.Bind(sql, static_cast<int64_t>(q.offset));
    }
    std::vector<std::vector<fhir::SortValue>> keys;
    RETURN_IF_ERROR(exec.Query(sql, b.params(), [&](const Row& row) -> Status {
      page.matches.push_back(ResourceFromRow(row));
      std::vector<fhir::SortValue> k;
      for (size_t i = 0; i < nkeys; ++i) {
        fhir::SortValue v;
        int col = 7 + static_cast<int>(i);
        if (!row.IsNull(col)) {
          v.kind = SqlBuilder::SortValueKind(q.sort[i]);
          if (v.kind == fhir::SortValue::Kind::kInt) {
            v.integer = row.Int(col);
          } else if (v.kind == fhir::SortValue::Kind::kReal) {
            v.real = row.Double(col);
          } else {
            v.text = std::string(row.Text(col));
          }
        }
        k.push_back(std::move(v));
      }
      keys.push_back(std::move(k));
      return Status::Ok();
    }));
    bool more = static_cast<int>(page.matches.size()) > q.count;
    if (more) {
      page.matches.resize(q.count);
      keys.resize(q.count);
    }
    if (backward) {
      std::reverse(page.matches.begin(), page.matches.end());
      std::reverse(keys.begin(), keys.end());
      page.has_before = more;
      page.has_more = true;
    } else {
      page.has_more = more;
      page.has_before = q.cursor.active || q.after_seq >= 0 || q.offset > 0;
    }
    if (!page.matches.empty()) {
      page.first_seq = page.matches.front().seq;
      page.last_seq = page.matches.back().seq;
      page.first_key = keys.front();
      page.last_key = keys.back();
    }
  }
  const bool count_only = q.summary == fhir::SummaryMode::kCount;
  if (!count_only && q.total != fhir::TotalMode::kNone && !page.has_more && !page.has_before) {
    // The whole result is on this first page: its size is the total, no second query needed.
    page.total = static_cast<int64_t>(page.matches.size());
  } else if (count_only || q.total != fhir::TotalMode::kNone) {
    constexpr int64_t kEstimateCap = 10000;
    SqlBuilder b(dialect);
    std::string sql;
    if (q.total == fhir::TotalMode::kEstimate) {
      sql = "SELECT COUNT(*) FROM (SELECT 1";
      RETURN_IF_ERROR(build_where(b, sql));
      sql += " LIMIT ";
      b.Bind(sql, kEstimateCap);
      sql += ") AS q";
    } else {
      sql = "SELECT COUNT(*)";
      RETURN_IF_ERROR(build_where(b, sql));
    }
    int64_t total = 0;
    RETURN_IF_ERROR(exec.Query(sql, b.params(), [&](const Row& row) -> Status {
      total = row.Int(0);
      return Status::Ok();
    }));
    page.total = total;
  }

  // Includes: resolve references from the matches (and, with :iterate, from included ones),
  // each fetch restricted by the same scope.
  if (!q.includes.empty() && !page.matches.empty()) {
    std::set<std::pair<std::string, std::string>> seen;
    for (const StoredResource& r : page.matches) {
      seen.emplace(r.type, r.id);
    }
    std::vector<const StoredResource*> frontier;
    for (const StoredResource& r : page.matches) {
      frontier.push_back(&r);
    }
    std::vector<StoredResource> included;
    included.reserve(kMaxIncludes + 64);
    for (int depth = 0; depth < kMaxIncludeDepth && !frontier.empty(); ++depth) {
      std::vector<StoredResource> found;
      for (const fhir::IncludeSpec& inc : q.includes) {
        if (depth > 0 && !inc.iterate) {
          continue;
        }
        std::vector<const StoredResource*> sources;
        for (const StoredResource* r : frontier) {
          if (inc.reverse ? (inc.target_type.empty() || r->type == inc.target_type)
                          : r->type == inc.source_type) {
            sources.push_back(r);
          }
        }
        if (sources.empty()) {
          continue;
        }
        if (!inc.reverse) {
          // Targets referenced by the sources.
          SqlBuilder b(dialect);
          std::string sql =
              "SELECT DISTINCT x.target_type, x.target_id FROM idx_reference x WHERE "
              "x.target_type <> '' AND x.res IN (";
          for (size_t i = 0; i < sources.size(); ++i) {
            sql += i > 0 ? "," : "";
            b.Bind(sql, sources[i]->seq);
          }
          sql += ")";
          if (inc.param != "*") {
            sql += " AND ";
            b.IndexKey("x", inc.source_type, inc.param, sql);
          }
          if (!inc.target_type.empty()) {
            sql += " AND x.target_type = ";
            b.Bind(sql, inc.target_type);
          }
          std::vector<std::pair<std::string, std::string>> targets;
          RETURN_IF_ERROR(exec.Query(sql, b.params(), [&](const Row& row) -> Status {
            targets.emplace_back(std::string(row.Text(0)), std::string(row.Text(1)));
            return Status::Ok();
          }));
          std::map<std::string, std::vector<std::string>> by_type;
          for (auto& [t, id] : targets) {
            if (!seen.count({t, id})) {
              by_type[t].push_back(id);
            }
          }
          for (auto& [t, ids] : by_type) {
            SqlBuilder b2(dialect);
            std::string s2 =
                std::string("SELECT ") + kResourceColumns + " FROM resource r WHERE r.type = ";
            b2.Bind(s2, t);
            s2 += " AND r.deleted = 0 AND r.id IN (";
            for (size_t i = 0; i < ids.size() && i < static_cast<size_t>(kMaxIncludes); ++i) {
              s2 += i > 0 ? "," : "";
              b2.Bind(s2, ids[i]);
            }
            s2 += ") AND ";
            b2.Scope(scope, t, "r", s2);
            RETURN_IF_ERROR(QueryResources(exec, s2, b2.params(), found));
          }
        } else {
          // Resources of source_type whose `param` references one of the frontier resources.
          SqlBuilder b(dialect);
          std::string sql =
              std::string("SELECT ") + kResourceColumns + " FROM resource r WHERE r.type = ";
          b.Bind(sql, inc.source_type);
          sql += " AND r.deleted = 0 AND r.seq IN (SELECT x.res FROM idx_reference x WHERE ";
          b.IndexKey("x", inc.source_type, inc.param == "*" ? "" : inc.param, sql);
          sql += " AND (";
          for (size_t i = 0; i < sources.size(); ++i) {
            sql += i > 0 ? " OR " : "";
            sql += "(x.target_type = ";
            b.Bind(sql, sources[i]->type);
            sql += " AND x.target_id = ";
            b.Bind(sql, sources[i]->id);
            sql += ")";
          }
          sql += ")) AND ";
          b.Scope(scope, inc.source_type, "r", sql);
          sql += " LIMIT ";
          b.Bind(sql, static_cast<int64_t>(kMaxIncludes));
          RETURN_IF_ERROR(QueryResources(exec, sql, b.params(), found));
        }
      }
      size_t start = included.size();
      for (StoredResource& r : found) {
        if (static_cast<int>(included.size()) >= kMaxIncludes) {
          break;
        }
        if (seen.emplace(r.type, r.id).second) {
          included.push_back(std::move(r));
        }
      }
      frontier.clear();
      for (size_t i = start; i < included.size(); ++i) {
        frontier.push_back(&included[i]);
      }
    }
    page.includes = std::move(included);
  }
  return page;
}

}  // namespace portico::store::sql

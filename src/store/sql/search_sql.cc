#include "src/store/sql/search_sql.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

namespace portico::store::sql {

using fhir::ParamType;
using fhir::Prefix;
using fhir::SearchCondition;
using fhir::SearchValue;
using fhir::Special;

const char* IndexTable(ParamType type) {
  switch (type) {
    case ParamType::kToken:
      return "idx_token";
    case ParamType::kString:
      return "idx_string";
    case ParamType::kDate:
      return "idx_date";
    case ParamType::kReference:
      return "idx_reference";
    case ParamType::kQuantity:
      return "idx_quantity";
    case ParamType::kNumber:
      return "idx_number";
    case ParamType::kUri:
      return "idx_uri";
    default:
      return "idx_token";
  }
}

bool SqlBuilder::IsReferencedSharedType(const std::string& type) {
  return type == "Organization" || type == "Practitioner" || type == "PractitionerRole" ||
         type == "Location" || type == "Medication" || type == "Endpoint" ||
         type == "HealthcareService";
}

void SqlBuilder::Bind(std::string& sql, Param p) {
  params_.push_back(std::move(p));
  if (dialect_ == Dialect::kPostgres) {
    sql += "$" + std::to_string(params_.size());
  } else {
    sql += "?";
  }
}

void SqlBuilder::IndexKey(const std::string& x, std::string_view type, std::string_view param,
                          std::string& sql, bool no_index) {
  const std::string hint = no_index ? NoIndex() : "";
  if (dialect_ == Dialect::kPostgres) {
    const char* sep = "";
    if (!type.empty()) {
      sql += hint + x + ".type = ";
      Bind(sql, std::string(type));
      sep = " AND ";
    }
    if (!param.empty()) {
      sql += sep + hint + x + ".param = ";
      Bind(sql, std::string(param));
    }
    return;
  }
  // One pair is one key: "=" with a scalar subquery (evaluated once per statement), which the
  // planner uses like a bound value; a type or a parameter alone is a set of keys.
  const bool both = !type.empty() && !param.empty();
  sql += hint + x + (both ? ".k = (" : ".k IN (") + "SELECT k FROM search_key WHERE ";
  if (!type.empty()) {
    sql += "type = ";
    Bind(sql, std::string(type));
  }
  if (!param.empty()) {
    sql += both ? " AND param = " : "param = ";
    Bind(sql, std::string(param));
  }
  sql += ")";
}

namespace {

std::string EscapeLike(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '%' || c == '_' || c == '\\') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  return out;
}

// Range predicate of a FHIR prefix between the target range [lo, hi) (SQL expressions) and the
// search range [vlo, vhi). https://hl7.org/fhir/R4/search.html#prefix
void RangePredicate(SqlBuilder& b, Prefix prefix, const std::string& lo, const std::string& hi,
                    int64_t vlo, int64_t vhi, std::string& sql) {
  switch (prefix) {
    case Prefix::kEq:
      sql += "(" + lo + " >= ";
      b.Bind(sql, vlo);
      sql += " AND " + hi + " <= ";
      b.Bind(sql, vhi);
      sql += ")";
      return;
    case Prefix::kNe:
      sql += "NOT (" + lo + " >= ";
      b.Bind(sql, vlo);
      sql += " AND " + hi + " <= ";
      b.Bind(sql, vhi);
      sql += ")";
      return;
    case Prefix::kGt:
      sql += "(" + hi + " > ";
      b.Bind(sql, vhi);
      sql += ")";
      return;
    case Prefix::kLt:
      sql += "(" + lo + " < ";
      b.Bind(sql, vlo);
      sql += ")";
      return;
    case Prefix::kGe:
      sql += "(" + hi + " > ";
      b.Bind(sql, vhi);
      sql += " OR (" + lo + " >= ";
      b.Bind(sql, vlo);
      sql += " AND " + hi + " <= ";
      b.Bind(sql, vhi);
      sql += "))";
      return;
    case Prefix::kLe:
      sql += "(" + lo + " < ";
      b.Bind(sql, vlo);
      sql += " OR (" + lo + " >= ";
      b.Bind(sql, vlo);
      sql += " AND " + hi + " <= ";
      b.Bind(sql, vhi);
      sql += "))";
      return;
    case Prefix::kSa:
      sql += "(" + lo + " >= ";
      b.Bind(sql, vhi);
      sql += ")";
      return;
    case Prefix::kEb:
      sql += "(" + hi + " <= ";
      b.Bind(sql, vlo);
      sql += ")";
      return;
    case Prefix::kAp: {
      int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
      int64_t dist = std::llabs(now - vlo) / 10;
      if (dist < 86400000) {
        dist = 86400000;
      }
      sql += "(" + lo + " < ";
      b.Bind(sql, vhi + dist);
      sql += " AND " + hi + " > ";
      b.Bind(sql, vlo - dist);
      sql += ")";
      return;
    }
  }
}

void NumberPredicate(SqlBuilder& b, Prefix prefix, const std::string& col, const SearchValue& v,
                     std::string& sql) {
  switch (prefix) {
    case Prefix::kEq:
      sql += "(" + col + " >= ";
      b.Bind(sql, v.number_low);
      sql += " AND " + col + " < ";
      b.Bind(sql, v.number_high);
      sql += ")";
      return;
    case Prefix::kNe:
      sql += "NOT (" + col + " >= ";
      b.Bind(sql, v.number_low);
      sql += " AND " + col + " < ";
      b.Bind(sql, v.number_high);
      sql += ")";
      return;
    case Prefix::kGt:
    case Prefix::kSa:
      sql += col + " > ";
      b.Bind(sql, v.number);
      return;
    case Prefix::kLt:
    case Prefix::kEb:
      sql += col + " < ";
      b.Bind(sql, v.number);
      return;
    case Prefix::kGe:
      sql += col + " >= ";
      b.Bind(sql, v.number);
      return;
    case Prefix::kLe:
      sql += col + " <= ";
      b.Bind(sql, v.number);
      return;
    case Prefix::kAp: {
      double d = std::fabs(v.number) * 0.1;
      sql += "(" + col + " >= ";
      b.Bind(sql, v.number - d);
      sql += " AND " + col + " <= ";
      b.Bind(sql, v.number + d);
      sql += ")";
      return;
    }
  }
}

}  // namespace

Status SqlBuilder::ValuePredicate(const SearchCondition& c, const SearchValue& v,
                                  const std::string& x, std::string& sql) {
  switch (c.type) {
    case ParamType::kToken: {
      if (c.modifier == "text") {
        sql += "(" + x + ".text LIKE ";
        Bind(sql, EscapeLike(v.text) + "%");
        sql += " ESCAPE '\\')";
        return Status::Ok();
      }
      sql += "(";
      bool any = false;
      if (v.has_system) {
        sql += x + ".system = ";
        Bind(sql, v.system);
        any = true;
      }
      if (!v.code.empty() || !v.has_system) {
        if (any) {
          sql += " AND ";
        }
        sql += x + ".code = ";
        Bind(sql, v.code);
      }
      sql += ")";
      return Status::Ok();
    }
    case ParamType::kString: {
      if (c.modifier == "exact") {
        sql += x + ".exact = ";
        Bind(sql, v.raw);
      } else if (c.modifier == "contains") {
        sql += x + ".norm LIKE ";
        Bind(sql, "%" + EscapeLike(v.text) + "%");
        sql += " ESCAPE '\\'";
      } else {
        // Starts-with: a range the (type, param, norm) index can use, then LIKE for exactness.
        std::string upper = v.text;
        while (!upper.empty() && static_cast<unsigned char>(upper.back()) == 0xff) {
          upper.pop_back();
        }
        // PostgreSQL rejects parameters that are not valid UTF-8, so there the range is used
        // only when incrementing the last byte keeps it ASCII.
        bool range_ok = !upper.empty() && (dialect_ == Dialect::kSqlite ||
                                           static_cast<unsigned char>(upper.back()) < 0x7f);
        if (range_ok) {
          upper.back() = static_cast<char>(static_cast<unsigned char>(upper.back()) + 1);
          sql += x + ".norm >= ";
          Bind(sql, v.text);
          sql += " AND " + x + ".norm < ";
          Bind(sql, upper);
          sql += " AND ";
        }
        sql += x + ".norm LIKE ";
        Bind(sql, EscapeLike(v.text) + "%");
        sql += " ESCAPE '\\'";
      }
      return Status::Ok();
    }
    case ParamType::kDate:
      RangePredicate(*this, v.prefix, x + ".lo", x + ".hi", v.low, v.high, sql);
      return Status::Ok();
    case ParamType::kReference: {
      sql += "(";
      if (!v.ref_type.empty()) {
        sql += x + ".target_type = ";
        Bind(sql, v.ref_type);
        sql += " AND " + x + ".target_id = ";
        Bind(sql, v.ref_id);
      } else if (!v.ref_id.empty()) {
        sql += x + ".target_id = ";
        Bind(sql, v.ref_id);
      } else {
        sql += x + ".url = ";
        Bind(sql, v.raw);
      }
      sql += ")";
      return Status::Ok();
    }
    case ParamType::kQuantity: {
      sql += "(";
      NumberPredicate(*this, v.prefix, x + ".value", v, sql);
      if (!v.unit_system.empty()) {
        sql += " AND " + x + ".system = ";
        Bind(sql, v.unit_system);
      }
      if (!v.unit_code.empty()) {
        sql += " AND (" + x + ".code = ";
        Bind(sql, v.unit_code);
        if (v.unit_system.empty()) {
          sql += " OR " + x + ".unit = ";
          Bind(sql, v.unit_code);
        }
        sql += ")";
      }
      sql += ")";
      return Status::Ok();
    }
    case ParamType::kNumber:
      NumberPredicate(*this, v.prefix, x + ".value", v, sql);
      return Status::Ok();
    case ParamType::kUri:
      if (c.modifier == "below") {
        sql += x + ".value LIKE ";
        Bind(sql, EscapeLike(v.raw) + "%");
        sql += " ESCAPE '\\'";
      } else {
        sql += x + ".value = ";
        Bind(sql, v.raw);
      }
      return Status::Ok();
    default:
      return InvalidArgumentError("unsupported parameter type for '" + c.name + "'");
  }
}

Status SqlBuilder::CompositeCondition(const SearchCondition& c, const std::string& type,
                                      const std::string& r, std::string& sql, bool correlated) {
  const size_t n = c.components.size();
  std::vector<std::string> a;
  for (size_t i = 0; i < n; ++i) {
    a.push_back("k" + std::to_string(next_alias_++));
  }
  sql += correlated ? "EXISTS (SELECT 1" : r + ".seq IN (SELECT " + a[0] + ".res";
  sql += " FROM idx_composite " + a[0];
  for (size_t i = 1; i < n; ++i) {
    sql += " JOIN idx_composite " + a[i] + " ON " + a[i] + ".res = " + a[0] + ".res AND " + a[i] +
           "." + KeyColumn() + " = " + a[0] + "." + KeyColumn() + " AND " + a[i] +
           ".grp = " + a[0] + ".grp AND " + a[i] + ".comp = " + std::to_string(i);
  }
  sql += " WHERE ";
  if (correlated) {
    sql += a[0] + ".res = " + r + ".seq AND ";
  }
  // Correlated: "+" keeps SQLite on the per-resource index (res, ...) instead of scanning the
  // value index for every candidate row.
  IndexKey(a[0], type, c.name, sql, correlated);
  sql += " AND " + a[0] + ".comp = 0";
  if (c.modifier == "missing") {
    sql += ")";  // the caller writes NOT for :missing=true
    return Status::Ok();
  }
  sql += " AND (";
  for (size_t v = 0; v < c.values.size(); ++v) {
    const SearchValue& value = c.values[v];
    if (value.parts.size() != n) {
      return InvalidArgumentError("composite '" + c.name + "' expects " + std::to_string(n) +
                                  " components separated by '$'");
    }
    sql += v > 0 ? " OR (" : "(";
    for (size_t i = 0; i < n; ++i) {
      SearchCondition part;
      part.name = c.components[i]->name;
      part.type = c.components[i]->type;
      sql += i > 0 ? " AND " : "";
      RETURN_IF_ERROR(ValuePredicate(part, value.parts[i], a[i], sql));
    }
    sql += ")";
  }
  sql += "))";
  return Status::Ok();
}

Status SqlBuilder::Condition(const SearchCondition& c, const std::string& type,
                             const std::string& r, const fhir::AccessScope& scope,
                             std::string& sql, bool correlated) {
  std::string x = "x" + std::to_string(next_alias_++);
  // Specials on the resource row itself.
  if (c.special == Special::kId) {
    if (c.modifier == "missing") {
      sql += c.missing ? "1=0" : "1=1";
      return Status::Ok();
    }
    sql += r + ".id " + std::string(c.modifier == "not" ? "NOT IN (" : "IN (");
    for (size_t i = 0; i < c.values.size(); ++i) {
      sql += i > 0 ? ", " : "";
      Bind(sql, c.values[i].raw);
    }
    sql += ")";
    return Status::Ok();
  }
  if (c.special == Special::kLastUpdated) {
    if (c.modifier == "missing") {
      sql += c.missing ? "1=0" : "1=1";
      return Status::Ok();
    }
    sql += "(";
    for (size_t i = 0; i < c.values.size(); ++i) {
      sql += i > 0 ? " OR " : "";
      RangePredicate(*this, c.values[i].prefix, r + ".last_updated", "(" + r + ".last_updated + 1)",
                     c.values[i].low, c.values[i].high, sql);
    }
    sql += ")";
    return Status::Ok();
  }
  if (c.type == ParamType::kComposite && c.special == Special::kNone && c.chained == nullptr &&
      c.has_type.empty()) {
    if (c.modifier == "missing" && c.missing) {
      sql += "NOT ";
      return CompositeCondition(c, type, r, sql, true);
    }
    return CompositeCondition(c, type, r, sql, correlated);
  }
  std::string table;
  std::string param_name = c.name;
  ParamType vtype = c.type;
  if (c.special == Special::kProfile) {
    table = "idx_uri";
    param_name = "_profile";
    vtype = ParamType::kUri;
  } else if (c.special == Special::kTag || c.special == Special::kSecurity) {
    table = "idx_token";
    param_name = c.special == Special::kTag ? "_tag" : "_security";
    vtype = ParamType::kToken;
  } else if (c.type == ParamType::kReference && c.modifier == "identifier") {
    table = "idx_token";
    param_name = c.name + ":identifier";
    vtype = ParamType::kToken;
  } else {
    table = IndexTable(c.type);
  }
  if (c.modifier == "of-type") {
    param_name = c.name + ":of-type";
  }

  if (!c.has_type.empty()) {
    // _has: resources of has_type referencing us through has_ref_param and matching `chained`.
    std::string h = "h" + std::to_string(next_alias_++);
    if (correlated) {
      sql += "EXISTS (SELECT 1 FROM idx_reference " + x + " JOIN resource " + h + " ON " + h +
             ".seq = " + x + ".res WHERE " + x + ".target_type = ";
      Bind(sql, type);
      sql += " AND " + x + ".target_id = " + r + ".id AND ";
      IndexKey(x, c.has_type, c.has_ref_param->name, sql);
      sql += " AND " + h + ".deleted = 0 AND ";
      RETURN_IF_ERROR(Condition(*c.chained, c.has_type, h, scope, sql, true));
      sql += " AND ";
      Scope(scope, c.has_type, h, sql, true);
      sql += ")";
      return Status::Ok();
    }
    sql += r + ".id IN (SELECT " + x + ".target_id FROM idx_reference " + x + " WHERE ";
    IndexKey(x, c.has_type, c.has_ref_param->name, sql);
    sql += " AND " + x + ".target_type = ";
    Bind(sql, type);
    sql += " AND " + x + ".res IN (SELECT " + h + ".seq FROM resource " + h + " WHERE " + h +
           ".type = ";
    Bind(sql, c.has_type);
    sql += " AND " + h + ".deleted = 0 AND ";
    RETURN_IF_ERROR(Condition(*c.chained, c.has_type, h, scope, sql, false));
    sql += " AND ";
    Scope(scope, c.has_type, h, sql);
    sql += "))";
    return Status::Ok();
  }

  if (c.chained != nullptr) {
    // Chain: our reference param points at a chain_type resource matching `chained`.
    std::string t = "t" + std::to_string(next_alias_++);
    sql += correlated ? "EXISTS (SELECT 1" : r + ".seq IN (SELECT " + x + ".res";
    sql += " FROM idx_reference " + x + " JOIN resource " + t + " ON " + t + ".type = " + x +
           ".target_type AND " + t + ".id = " + x + ".target_id WHERE ";
    if (correlated) {
      sql += x + ".res = " + r + ".seq AND ";
    }
    IndexKey(x, type, c.name, sql, correlated);
    sql += " AND " + x + ".target_type = ";
    Bind(sql, c.chain_type);
    sql += " AND " + t + ".deleted = 0 AND ";
    RETURN_IF_ERROR(Condition(*c.chained, c.chain_type, t, scope, sql, true));
    sql += " AND ";
    Scope(scope, c.chain_type, t, sql, true);
    sql += ")";
    return Status::Ok();
  }

  bool negate = c.modifier == "not" || (c.modifier == "missing" && c.missing);
  if (negate) {
    correlated = true;  // NOT EXISTS never drives a query
  }
  if (correlated) {
    // No index hint on the key: use the per-resource index (res), never a scan of the value
    // index per row.
    sql += std::string(negate ? "NOT " : "") + "EXISTS (SELECT 1 FROM " + table + " " + x +
           " WHERE " + x + ".res = " + r + ".seq AND ";
  } else {
    sql += r + ".seq IN (SELECT " + x + ".res FROM " + table + " " + x + " WHERE ";
  }
  IndexKey(x, type, param_name, sql, correlated);
  if (c.modifier == "missing") {
    sql += ")";
    return Status::Ok();
  }
  if (c.type == ParamType::kReference && !c.modifier.empty() && c.modifier != "not" &&
      c.modifier != "identifier") {
    sql += " AND " + x + ".target_type = ";
    Bind(sql, c.modifier);
  }
  sql += " AND (";
  SearchCondition typed;
  const SearchCondition* cc = &c;
  if (vtype != c.type) {
    typed.name = c.name;
    typed.type = vtype;
    typed.modifier = c.modifier == "identifier" ? "" : c.modifier;
    cc = &typed;
  }
  for (size_t i = 0; i < c.values.size(); ++i) {
    sql += i > 0 ? " OR " : "";
    RETURN_IF_ERROR(ValuePredicate(*cc, c.values[i], x, sql));
  }
  sql += "))";
  return Status::Ok();
}

void SqlBuilder::Scope(const fhir::AccessScope& scope, const std::string& type,
                       const std::string& r, std::string& sql, bool correlated) {
  const fhir::AccessScope::Granular* granular = nullptr;
  for (const auto& g : scope.granular) {
    if (g.type == type) {
      granular = &g;
    }
  }
  if (granular == nullptr) {
    ScopeBase(scope, type, r, sql, correlated);
    return;
  }
  // A granular (v2) scope narrows every path to this type: matches, includes, chains and _has.
  fhir::AccessScope inner;
  inner.unrestricted = scope.unrestricted;
  inner.patient_ids = scope.patient_ids;
  inner.allowed_types = scope.allowed_types;
  sql += "(";
  ScopeBase(scope, type, r, sql, correlated);
  sql += " AND (";
  for (size_t i = 0; i < granular->alternatives.size(); ++i) {
    sql += i > 0 ? " OR (1=1" : "(1=1";
    for (const fhir::SearchCondition& c : granular->alternatives[i]) {
      std::string part;
      if (Condition(c, type, r, inner, part, true).ok()) {
        sql += " AND " + part;
      } else {
        sql += " AND 1=0";  // a constraint that cannot be evaluated grants nothing
      }
    }
    sql += ")";
  }
  if (granular->alternatives.empty()) {
    sql += "1=0";
  }
  sql += "))";
}

void SqlBuilder::ScopeBase(const fhir::AccessScope& scope, const std::string& type,
                           const std::string& r, std::string& sql, bool correlated) {
  if (scope.unrestricted) {
    sql += "1=1";
    return;
  }
  if (!scope.allowed_types.empty() &&
      std::find(scope.allowed_types.begin(), scope.allowed_types.end(), type) ==
          scope.allowed_types.end()) {
    sql += "1=0";  // the token may not read this type at all
    return;
  }
  if (scope.patient_ids.empty()) {
    sql += "1=0";
    return;
  }
  auto patient_list = [&](const std::string& col) {
    if (scope.patient_ids.size() == 1) {
      sql += col + " = ";
      Bind(sql, scope.patient_ids[0]);
      return;
    }
    sql += col + " IN (";
    for (size_t i = 0; i < scope.patient_ids.size(); ++i) {
      sql += i > 0 ? "," : "";
      Bind(sql, scope.patient_ids[i]);
    }
    sql += ")";
  };
  std::string c = "c" + std::to_string(next_alias_++);
  if (IsReferencedSharedType(type)) {
    // Shared resources are visible when the patient's own data references them.
    std::string x = "x" + std::to_string(next_alias_++);
    sql += "(" + r + ".id IN (SELECT " + x + ".target_id FROM idx_reference " + x +
           " JOIN compartment " + c + " ON " + c + ".res = " + x + ".res WHERE " + x +
           ".target_type = ";
    Bind(sql, type);
    sql += " AND ";
    patient_list(c + ".patient");
    sql += ") OR " + r + ".seq IN (SELECT " + c + "2.res FROM compartment " + c + "2 WHERE ";
    patient_list(c + "2.patient");
    sql += "))";
    return;
  }
  if (correlated) {
    sql += "EXISTS (SELECT 1 FROM compartment " + c + " WHERE " + c + ".res = " + r +
           ".seq AND ";
    patient_list(NoIndex() + c + ".patient");  // "+": look up by res, not by the patient's rows
    sql += ")";
    return;
  }
  sql += r + ".seq IN (SELECT " + c + ".res FROM compartment " + c + " WHERE ";
  patient_list(c + ".patient");
  sql += " AND " + c + ".type = ";
  Bind(sql, type);
  sql += ")";
}

fhir::SortValue::Kind SqlBuilder::SortValueKind(const fhir::SortKey& key) {
  using Kind = fhir::SortValue::Kind;
  if (key.param == nullptr) {
    return key.name == "_id" ? Kind::kText : Kind::kInt;
  }
  switch (key.param->type) {
    case ParamType::kDate:
      return Kind::kInt;
    case ParamType::kQuantity:
    case ParamType::kNumber:
      return Kind::kReal;
    default:
      return Kind::kText;
  }
}

void SqlBuilder::SortValueExpr(const fhir::SortKey& key, const std::string& r, std::string& sql) {
  if (key.param == nullptr) {
    sql += key.name == "_id" ? r + ".id" : r + ".last_updated";
    return;
  }
  const char* agg = key.descending ? "MAX" : "MIN";
  std::string col = "code";
  switch (key.param->type) {
    case ParamType::kDate:
      col = key.descending ? "hi" : "lo";
      break;
    case ParamType::kString:
      col = "norm";
      break;
    case ParamType::kQuantity:
    case ParamType::kNumber:
    case ParamType::kUri:
      col = "value";
      break;
    case ParamType::kReference:
      col = "target_id";
      break;
    default:
      break;
  }
  std::string s = "s" + std::to_string(next_alias_++);
  sql += "(SELECT " + std::string(agg) + "(" + s + "." + col + ") FROM " +
         IndexTable(key.param->type) + " " + s + " WHERE " + s + ".res = " + r + ".seq AND ";
  IndexKey(s, "", key.param->name, sql, true);  // res is one resource: its type is known
  sql += ")";
}

void SqlBuilder::SortExpr(const fhir::SortKey& key, const std::string& r, std::string& sql) {
  SortValueExpr(key, r, sql);
  sql += key.descending ? " DESC" : " ASC";
}

void SqlBuilder::BindSortValue(std::string& sql, const fhir::SortValue& v) {
  switch (v.kind) {
    case fhir::SortValue::Kind::kInt:
      Bind(sql, v.integer);
      return;
    case fhir::SortValue::Kind::kReal:
      Bind(sql, v.real);
      return;
    case fhir::SortValue::Kind::kText:
      Bind(sql, v.text);
      return;
    case fhir::SortValue::Kind::kNull:
      sql += "NULL";
      return;
  }
}

}  // namespace portico::store::sql

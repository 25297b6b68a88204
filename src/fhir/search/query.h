// A parsed FHIR search: an AND of conditions, each an OR of values, plus includes, sort, paging
// and the shape of the result. https://hl7.org/fhir/R4/search.html
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/base/time.h"
#include "src/fhir/search/registry.h"

namespace portico::fhir {

enum class Prefix { kEq, kNe, kGt, kLt, kGe, kLe, kSa, kEb, kAp };

struct SearchValue {
  Prefix prefix = Prefix::kEq;
  std::string raw;
  // token: system|code. has_system distinguishes "code" (any system) from "|code" (no system).
  bool has_system = false;
  std::string system;
  std::string code;
  // reference
  std::string ref_type;
  std::string ref_id;
  // date
  base::Millis low = 0;
  base::Millis high = 0;
  // number / quantity
  double number = 0;
  double number_low = 0;   // implicit range from significant figures
  double number_high = 0;
  std::string unit_system;
  std::string unit_code;
  // string (normalized)
  std::string text;
  // composite: one value per component, in the order of SearchParam::components.
  std::vector<SearchValue> parts;
};

enum class Special { kNone, kId, kLastUpdated, kProfile, kTag, kSecurity };

struct SearchCondition {
  std::string name;  // parameter name as sent (without modifier)
  const SearchParam* param = nullptr;  // null for specials and _has
  Special special = Special::kNone;
  ParamType type = ParamType::kToken;
  std::string modifier;  // "", "exact", "contains", "missing", "not", "text", "of-type", "identifier",
                         // "above", "below", or a resource type for reference params
  std::vector<SearchValue> values;  // OR
  bool missing = false;             // for :missing
  // Chained: `name.chain_param=value` -> resources whose `param` references a `chain_type`
  // matching `chained`.
  std::string chain_type;
  std::unique_ptr<SearchCondition> chained;
  // Reverse chain: `_has:has_type:has_ref_param:...` -> resources referenced by a `has_type`
  // (through `has_ref_param`) that matches `chained`.
  std::string has_type;
  const SearchParam* has_ref_param = nullptr;
  // Composite: the parameter of each component (same order as param->components).
  std::vector<const SearchParam*> components;
};

struct IncludeSpec {
  bool reverse = false;   // _revinclude
  bool iterate = false;
  std::string source_type;  // resource holding the reference
  std::string param;        // reference param name, or "*"
  std::string target_type;  // optional restriction
};

struct SortKey {
  std::string name;
  const SearchParam* param = nullptr;  // null for _id / _lastUpdated
  bool descending = false;
};

// The value of one sort key of one row, as the store computed it (for keyset paging).
struct SortValue {
  enum class Kind { kNull, kInt, kReal, kText };
  Kind kind = Kind::kNull;
  int64_t integer = 0;
  double real = 0;
  std::string text;
  bool operator==(const SortValue&) const = default;
};

// A keyset position: the page starts strictly after (or, when `backward`, ends strictly before)
// the row with these sort values and `seq` in the query's order.
struct PageCursor {
  bool active = false;
  bool backward = false;
  int64_t seq = 0;
  std::vector<SortValue> values;  // one per SearchQuery::sort key
};

// Encodes a cursor as text ("n" or "p", seq, then typed values, '~'-separated) and back.
// DecodeCursor returns false on malformed text or a value count different from `keys`.
std::string EncodeCursor(const PageCursor& c);
bool DecodeCursor(std::string_view text, size_t keys, PageCursor& out);

enum class TotalMode { kNone, kEstimate, kAccurate };
enum class SummaryMode { kNone, kTrue, kCount, kData, kText, kFalse };

struct SearchQuery {
  std::string type;
  std::vector<SearchCondition> conditions;  // AND
  std::vector<IncludeSpec> includes;
  std::vector<SortKey> sort;
  int count = 20;
  int offset = 0;            // rows to skip (only with an explicit _offset)
  int64_t after_seq = -1;    // shorthand keyset cursor for the default order (seq > after_seq)
  PageCursor cursor;         // keyset cursor for any order (takes precedence over after_seq)
  TotalMode total = TotalMode::kNone;
  SummaryMode summary = SummaryMode::kNone;
  std::vector<std::string> elements;
  // The canonical query string of the parameters actually used (for the self link).
  std::string canonical;
};

// What the caller may see: all data, or the compartments of some patients plus the resources
// that data references. Built by the authorization layer; the store applies it inside its query.
struct AccessScope {
  bool unrestricted = true;
  std::vector<std::string> patient_ids;  // when !unrestricted
  // Types the caller may see at all (empty = all types).
  std::vector<std::string> allowed_types;
  // Per-type granular constraints (v2 scopes): each entry is an OR of conditions for that type.
  struct Granular {
    std::string type;
    std::vector<std::vector<SearchCondition>> alternatives;  // OR of (AND of conditions)
  };
  std::vector<Granular> granular;
};

}  // namespace portico::fhir

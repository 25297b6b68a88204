// Parses FHIR search parameters (GET query or POST form body) into a SearchQuery.
// https://hl7.org/fhir/R4/search.html
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "src/base/status.h"
#include "src/fhir/search/query.h"
#include "src/fhir/search/registry.h"

namespace portico::fhir {

struct SearchOptions {
  int default_count = 20;
  int max_count = 200;
  bool strict = false;       // Prefer: handling=strict -> unknown parameters are errors
  std::string base_url;      // e.g. "http://host:8080/fhir", to accept absolute references
};

struct ParsedSearch {
  SearchQuery query;
  std::vector<std::string> ignored;  // parameters not understood (lenient mode)
  std::string cursor;                // the opaque _cursor value, if any
};

using QueryPairs = std::vector<std::pair<std::string, std::string>>;

// Parses one search. InvalidArgument (-> 400) for malformed values, unknown parameters in strict
// mode, unsupported modifiers.
StatusOr<ParsedSearch> ParseSearch(const SearchParamRegistry& registry, const std::string& type,
                                   const QueryPairs& pairs, const SearchOptions& options);

// Parses one value of a parameter of `type` (exposed for tests and granular scopes).
Status ParseValue(ParamType type, const std::string& modifier, const std::string& raw,
                  const std::string& base_url, SearchValue& out);

// Builds a condition for `name[:modifier]=value` on `type` (used for granular scope filters).
StatusOr<SearchCondition> ParseCondition(const SearchParamRegistry& registry,
                                         const std::string& type, const std::string& key,
                                         const std::string& value, const SearchOptions& options);

}  // namespace portico::fhir

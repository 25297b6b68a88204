// Extracts search index values from a resource, per parameter *type* (token, string, date, ...),
// following the paths of the SearchParamRegistry. No code is specific to a resource type.
// https://hl7.org/fhir/R4/search.html
#pragma once

#include <string>
#include <vector>

#include "src/base/time.h"
#include "src/fhir/search/registry.h"
#include "src/json/json.h"

namespace portico::fhir {

struct TokenEntry {
  std::string param;
  std::string system;  // "" when the value has no system
  std::string code;
  std::string text;  // normalized display/text, for :text
};

struct StringEntry {
  std::string param;
  std::string normalized;  // lower-cased, accents removed
  std::string exact;
};

struct DateEntry {
  std::string param;
  base::Millis low;   // inclusive
  base::Millis high;  // exclusive
};

struct ReferenceEntry {
  std::string param;
  std::string target_type;  // "" for absolute URLs that are not ours or canonical URLs
  std::string target_id;
  std::string url;  // the reference text as written
};

struct QuantityEntry {
  std::string param;
  double value;
  std::string value_text;
  std::string system;
  std::string code;
  std::string unit;
};

struct NumberEntry {
  std::string param;
  double value;
  std::string value_text;
};

struct UriEntry {
  std::string param;
  std::string value;
};

// One component value of a composite parameter. `group` numbers the base elements of one resource
// (the component values of one match share it); `component` is the index into
// SearchParam::components. Only the columns of the component parameter's type are meaningful:
// token (system, code, text), string (norm, exact), date (lo, hi), reference (target_type,
// target_id, url), quantity (value, system, code, unit), number (value), uri (code).
struct CompositeEntry {
  std::string param;
  int group = 0;
  int component = 0;
  std::string system;
  std::string code;
  std::string text;
  std::string norm;
  std::string exact;
  base::Millis lo = 0;
  base::Millis hi = 0;
  std::string target_type;
  std::string target_id;
  std::string url;
  double value = 0;
  std::string unit;
};

struct IndexEntries {
  std::vector<TokenEntry> tokens;
  std::vector<StringEntry> strings;
  std::vector<DateEntry> dates;
  std::vector<ReferenceEntry> references;
  std::vector<QuantityEntry> quantities;
  std::vector<NumberEntry> numbers;
  std::vector<UriEntry> uris;
  std::vector<CompositeEntry> composites;
  std::vector<std::string> profiles;       // meta.profile
  std::vector<TokenEntry> tags;            // meta.tag, meta.security (param "_tag"/"_security")
  std::vector<std::string> patients;       // patient compartments this resource belongs to
};

// Extracts all entries of `resource` (a parsed resource of type `type`). Reference parameters
// also index the logical `identifier` of a Reference as a token under "<param>:identifier";
// identifiers with a type also go under "<param>:of-type" (system = type system, code =
// "<type code>|<value>").
IndexEntries ExtractIndex(const SearchParamRegistry& registry, std::string_view type,
                          const json::Value& resource);

// Splits "Type/id" (optionally with a base URL prefix and /_history/n suffix) into type and id.
// Returns false for references that are not of that form (contained "#x", urn:uuid:, ...).
bool SplitReference(std::string_view ref, std::string& type, std::string& id);

// Collects the element values reached by `path` from `root`.
void EvaluatePath(const json::Value& root, const std::vector<PathStep>& path,
                  std::vector<const json::Value*>& out);

}  // namespace portico::fhir

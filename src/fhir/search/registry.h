// The search parameters, resource types and patient compartment that the server supports, loaded
// from definition data (data/*.json, built into the binary). Immutable after Load(); share it as
// std::shared_ptr<const SearchParamRegistry>.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "src/base/status.h"

namespace portico::fhir {

enum class ParamType { kToken, kReference, kDate, kString, kQuantity, kUri, kNumber, kComposite,
                       kSpecial };

std::string_view ParamTypeName(ParamType t);

struct PathStep {
  std::string name;
  std::string filter_field;  // keep only elements whose child `filter_field` ...
  std::string filter_value;  // ... equals this value
};

struct CompositeComponent {
  std::string param;  // name of the component's own parameter (its type gives the match rules)
  std::vector<std::vector<PathStep>> paths;  // alternatives, relative to the base element
};

struct SearchParam {
  std::string resource;
  std::string name;
  ParamType type = ParamType::kToken;
  std::string description;
  std::string source;
  std::vector<std::vector<PathStep>> paths;
  std::vector<std::string> targets;  // reference params: allowed target types (empty = any)
  // Composite: paths of the elements that hold the components (an empty path = the resource);
  // all component values of one match must come from the same such element.
  std::vector<std::vector<PathStep>> composite_bases;
  std::vector<CompositeComponent> components;
};

class SearchParamRegistry {
 public:
  // Parses the three data documents. Fails with a precise message on malformed data.
  static StatusOr<std::shared_ptr<const SearchParamRegistry>> Load(std::string_view params_json,
                                                                   std::string_view compartment_json,
                                                                   std::string_view resource_types);
  // The registry built from the data compiled into the binary.
  static StatusOr<std::shared_ptr<const SearchParamRegistry>> LoadBuiltin();

  bool IsResourceType(std::string_view type) const;
  const std::set<std::string, std::less<>>& resource_types() const { return resource_types_; }
  const SearchParam* Find(std::string_view type, std::string_view name) const;
  // Parameters of one type, sorted by name; empty for an unknown type.
  const std::vector<const SearchParam*>& ForType(std::string_view type) const;
  // Types that have at least one search parameter, sorted.
  std::vector<std::string> SearchableTypes() const;

  // Patient compartment: the reference parameters that place a resource of `type` in a patient's
  // compartment ("{def}" for Patient itself). Empty when the type is not in the compartment.
  const std::vector<std::string>& PatientCompartmentParams(std::string_view type) const;
  bool InPatientCompartment(std::string_view type) const {
    return !PatientCompartmentParams(type).empty();
  }

 private:
  std::set<std::string, std::less<>> resource_types_;
  std::vector<std::unique_ptr<SearchParam>> params_;
  std::map<std::string, std::vector<const SearchParam*>, std::less<>> by_type_;
  std::map<std::string, std::vector<std::string>, std::less<>> compartment_;
};

// Parses "a.b[c=d].e" into steps.
StatusOr<std::vector<PathStep>> ParsePath(std::string_view path);

}  // namespace portico::fhir

// Structural validation of FHIR R4 JSON resources against the base element model
// (data/elements.json, compiled into the binary as builtin::ElementsJson()).
//
// What is checked (https://hl7.org/fhir/R4/json.html, datatypes.html):
//   * every member is an element of its type (or a `_name` primitive-extension sibling of a
//     primitive element, or `fhir_comments`); unknown members are errors;
//   * the JSON kind of each value: boolean / number / string for primitives, object for complex
//     types; an element with max "*" is an array, an element with max 1 is not;
//   * choice elements (`value[x]`) are spelled with a type suffix and at most one type is present;
//   * primitive formats (id, date, dateTime, instant, time, integer ranges, decimal, uri, code,
//     oid, uuid, base64Binary, string, xhtml), hand-written after the R4 regular expressions;
//   * elements with min 1 are present; no empty objects, arrays or strings;
//   * contained resources, Bundle.entry.resource and Parameters.parameter.resource are validated
//     recursively as resources of their own resourceType;
//   * Extension has a url and either a value or nested extensions (ext-1).
// Not checked: terminology bindings, reference targets, invariants other than ext-1, profiles.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "src/base/status.h"
#include "src/json/json.h"

namespace portico::fhir {

// One problem found in a resource. `path` is FHIRPath-like from the resource root, with array
// indices: "Patient.name[0].given[1]". Inside a nested resource (contained, Bundle entry) the
// nested resource's type is named with ofType():
// "Bundle.entry[3].resource.ofType(ExplanationOfBenefit).created".
struct ValidationIssue {
  enum class Severity : uint8_t { kError, kWarning };
  std::string path;
  std::string message;
  // The structural validator reports errors only; the profile checker (profile_checker.h) also
  // reports warnings (e.g. a meta.profile this server does not know).
  Severity severity = Severity::kError;
};

// Primitive datatypes, each with its JSON representation and lexical rules.
enum class PrimitiveKind : uint8_t {
  kNone,  // not a primitive
  kBoolean,
  kInteger,
  kPositiveInt,
  kUnsignedInt,
  kDecimal,
  kString,
  kMarkdown,
  kCode,
  kId,
  kUri,
  kUrl,
  kCanonical,
  kOid,
  kUuid,
  kDate,
  kDateTime,
  kInstant,
  kTime,
  kBase64Binary,
  kXhtml,
};

// The FHIR R4 type system: primitive, complex, resource and backbone (nested) types with their
// elements. Immutable after Load(); share it as std::shared_ptr<const ElementModel>. All lookups
// are safe to call concurrently.
class ElementModel {
 public:
  enum class TypeKind : uint8_t { kPrimitive, kComplex, kResource, kBackbone };

  struct TypeInfo;

  struct ElementInfo {
    std::string name;                    // as defined, e.g. "birthDate" or "deceased[x]"
    std::vector<const TypeInfo*> types;  // more than one only for choice elements
    int min = 0;
    bool repeating = false;  // max is not "1": the JSON value is an array
    bool choice = false;     // name ends in "[x]"
    bool summary = false;    // isSummary
    bool modifier = false;   // isModifier
  };

  // What a JSON member name denotes within a type.
  struct KeyInfo {
    uint16_t element = 0;  // index into TypeInfo::elements
    uint16_t type = 0;     // index into ElementInfo::types (the choice's type)
  };

  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using KeyMap = std::unordered_map<std::string, KeyInfo, StringHash, std::equal_to<>>;

  struct TypeInfo {
    std::string name;
    TypeKind kind = TypeKind::kComplex;
    bool is_abstract = false;
    PrimitiveKind primitive = PrimitiveKind::kNone;
    const TypeInfo* base = nullptr;
    // Own and inherited elements, inherited first (Resource, DomainResource, Element, ...).
    std::vector<ElementInfo> elements;
    // JSON member name (choices expanded, e.g. "valueQuantity") -> element and type.
    KeyMap keys;
    // Indices of elements with min >= 1.
    std::vector<uint16_t> required;

    // nullptr when `json_key` is not an element of this type.
    const KeyInfo* FindKey(std::string_view json_key) const;
  };

  // Parses an elements.json document (see data/elements.json "about"). Fails with a precise
  // message on malformed data or dangling type names.
  static StatusOr<std::shared_ptr<const ElementModel>> Load(std::string_view elements_json);
  // The model built from the data compiled into the binary (builtin::ElementsJson()).
  static StatusOr<std::shared_ptr<const ElementModel>> LoadBuiltin();

  // Any type by name ("Patient", "HumanName", "Patient.contact", "string"); nullptr if unknown.
  const TypeInfo* FindType(std::string_view name) const;
  // A concrete (non-abstract) resource type; nullptr otherwise.
  const TypeInfo* FindResourceType(std::string_view name) const;

  // Names of the top-level elements of `type` marked isSummary (including inherited ones such as
  // id and meta), in definition order, for _summary=true. Choice elements keep their "[x]"
  // ("deceased[x]"); use IsSummaryKey() to test a JSON member name. Empty for an unknown type.
  std::vector<std::string> SummaryElements(std::string_view type) const;
  // Whether the JSON member `json_key` of a `type` resource belongs in a _summary=true view:
  // summary elements (choice spellings and `_name` siblings included) and "resourceType".
  bool IsSummaryKey(std::string_view type, std::string_view json_key) const;

  size_t type_count() const { return types_.size(); }

 private:
  std::vector<std::unique_ptr<TypeInfo>> types_;
  std::unordered_map<std::string, const TypeInfo*, StringHash, std::equal_to<>> by_name_;
};

// Validates one resource (a JSON object with "resourceType"), including contained resources and
// Bundle entries. Returns the issues found, in document order, at most `max_issues` of them
// (empty = valid). Never fails otherwise; any JSON value is accepted as input.
std::vector<ValidationIssue> ValidateResource(const ElementModel& model,
                                              const json::Value& resource, int max_issues = 20);

// Lexical check of one primitive value given as text (the string contents, or a number's source
// text). Returns "" when valid, else a short reason. Exposed for tests and search-parameter
// parsing; the JSON kind is checked by ValidateResource, not here.
std::string CheckPrimitiveText(PrimitiveKind kind, std::string_view text);

}  // namespace portico::fhir

// Profile conformance checks for the profiles the server declares (US Core 3.1.1, CARIN BB 1.0.0,
// PDex 1.0.0 and the R4 vital-signs profiles), driven by the compact facts in data/profiles.json
// (compiled into the binary as builtin::ProfilesJson()).
//
// What is checked, for each meta.profile of a resource (a "|version" suffix is ignored):
//   * the profile is known (unknown ones are a warning: other guides exist) and is a profile of
//     the resource's type (error otherwise);
//   * required elements: paths with min >= 1 in the profile ("identifier.system" means every
//     identifier present has a system); a primitive that carries only an extension (such as
//     data-absent-reason in "_occurrenceDateTime") counts as present;
//   * fixed / pattern codes that identify the profile (a vital sign's LOINC code, the
//     laboratory category, the claim type of a CARIN EOB, required slices such as the pharmacy
//     EOB's supportingInfo categories);
//   * required bindings to small value sets (status codes and the like). Large terminologies
//     (LOINC, SNOMED CT, RxNorm, NDC) are checked by code system only, where the binding
//     names one.
// Not checked: structure (see validator.h), invariants, max cardinalities, reference targets,
// profiles of contained resources.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "src/base/status.h"
#include "src/fhir/model/validator.h"
#include "src/json/json.h"

namespace portico::fhir {

class ProfileRegistry {
 public:
  // One entry of a value set: codes of one system. An empty system matches any system (and is
  // the only kind that matches a bare `code` element); empty codes match any code of the system.
  struct Include {
    std::string system;
    std::vector<std::string> codes;
  };
  struct ValueSet {
    std::string name;
    std::vector<Include> includes;
  };
  // Each fact keeps `from`, the name of the profile that states it (a parent's facts are merged
  // into its children), so that messages name the right profile and duplicates can be dropped.
  struct Required {
    std::string path;  // dot-separated from the resource root; a choice ends in "[x]"
    std::string from;
  };
  struct Pattern {
    std::string path;
    std::string system;  // "" for a code element
    std::string code;
    std::string from;
  };
  struct Binding {
    std::string path;
    const ValueSet* value_set = nullptr;
    std::string from;
  };
  // A profile with the facts of its parents merged in.
  struct Profile {
    std::string url;
    std::string type;
    std::string ig;
    std::string name;  // last segment of the url, for messages
    std::vector<Required> required;
    std::vector<Pattern> patterns;
    std::vector<Binding> bindings;
  };

  // Parses a profiles.json document. Fails with a precise message on malformed data, unknown
  // value sets or parents, and parent cycles.
  static StatusOr<std::shared_ptr<const ProfileRegistry>> Load(std::string_view profiles_json);
  // The registry built from builtin::ProfilesJson(), loaded once.
  static StatusOr<std::shared_ptr<const ProfileRegistry>> LoadBuiltin();

  // The profile with canonical `url`, ignoring a "|version" suffix; nullptr if unknown.
  const Profile* Find(std::string_view url) const;
  const std::vector<std::unique_ptr<Profile>>& profiles() const { return profiles_; }

 private:
  std::vector<std::unique_ptr<ValueSet>> value_sets_;
  std::vector<std::unique_ptr<Profile>> profiles_;
  std::unordered_map<std::string, const Profile*> by_url_;
};

// Checks `resource` against every profile named in its meta.profile. Issues carry a severity
// (errors: the resource does not conform; warnings: unknown profiles) and a FHIRPath-like path
// with indices, as in validator.h ("Patient.identifier[0].system"). Empty when there is nothing
// to report, including when the resource names no profile.
std::vector<ValidationIssue> CheckProfiles(const ProfileRegistry& registry,
                                           const json::Value& resource);

// Checks `resource` against one profile (whatever its meta.profile says).
std::vector<ValidationIssue> CheckProfile(const ProfileRegistry::Profile& profile,
                                          const json::Value& resource);

// Whether `issues` holds an error (not only warnings).
bool HasErrors(const std::vector<ValidationIssue>& issues);

}  // namespace portico::fhir

// SMART App Launch scopes, v1 and v2
// (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html):
//
//   resource scope  := context "/" type "." permissions [ "?" constraint *( "&" constraint ) ]
//   constraint      := param "=" value
//   context         := "patient" | "user" | "system"
//   type            := "*" | FHIR resource type ([A-Z][A-Za-z]*)
//   permissions     := v1: "read" (= r+s) | "write" (= c+u+d) | "*" (= cruds)
//                      v2: a non-empty, ordered subsequence of "cruds" (e.g. "rs", "cud", "cruds")
//
// Granular constraints ("?category=...|laboratory") are a v2 feature and are rejected on v1
// permissions; names and values are percent-decoded and must be non-empty. Several constraints
// in one scope are a conjunction (like repeated FHIR search parameters); several scopes for the
// same type are a union.
//
// Non-resource scopes recognized: openid, fhirUser, profile, launch, launch/patient,
// launch/encounter, offline_access, online_access. Anything else (including scopes with
// characters outside the RFC 6749 scope-token set) is reported as invalid; the caller decides
// whether to drop it or fail the request. Invalid scope text is attacker-controlled: escape it
// before rendering and do not log it verbatim.
//
// All functions are pure and thread-safe.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portico::auth {

enum class Context { kPatient, kUser, kSystem };
enum class Interaction { kRead, kSearch, kCreate, kUpdate, kDelete };

using ScopeConstraints = std::vector<std::pair<std::string, std::string>>;

struct ResourceScope {
  Context context = Context::kPatient;
  std::string type;  // FHIR resource type or "*".
  bool c = false;
  bool r = false;
  bool u = false;
  bool d = false;
  bool s = false;
  ScopeConstraints constraints;  // Decoded (param, value) pairs; empty = unconstrained.
  bool v2 = false;               // Parsed from v2 permission letters.

  bool Permits(Interaction interaction) const;
  bool operator==(const ResourceScope&) const = default;
};

// Parses one resource scope; returns false (leaving `out` unspecified) if `scope` is not a valid
// v1/v2 resource scope.
bool ParseResourceScope(std::string_view scope, ResourceScope& out);

// Canonical text: v1 form ("read"/"write"/"*") when v2 is false, there are no constraints and the
// permissions are exactly a v1 set; otherwise v2 letters. Constraint names and values are
// percent-encoded where needed ('%', '&', '=', '?', '#', '+', '"', '\', space, control and
// non-ASCII bytes); '|', ':' and '/' stay literal, so parsed scopes round-trip to their input.
std::string ToString(const ResourceScope& scope);

// True for the non-resource scopes listed in the file comment.
bool IsKnownNonResourceScope(std::string_view scope);

struct ScopeSet {
  std::vector<ResourceScope> resources;  // In input order, exact duplicates removed.
  std::set<std::string> others;          // Recognized non-resource scopes.
  std::vector<std::string> invalid;      // Unparseable or unknown scope tokens, de-duplicated.

  // Space-separated resource scopes (in order, canonical ToString form) then `others` (sorted).
  // `invalid` entries are not included.
  std::string ToString() const;
  bool Has(std::string_view other) const { return others.count(std::string(other)) > 0; }
};

// Splits on spaces (runs of spaces are tolerated) and classifies every token.
ScopeSet ParseScopeString(std::string_view scopes);

// True if some scope with this exact context and type (or type "*") permits the interaction.
// IGNORES granular constraints: when this returns true, the caller must still apply
// ConstraintsFor() to restrict reads/searches (or use ConstraintsFor() alone).
bool Allows(const ScopeSet& set, Context context, std::string_view type, Interaction interaction);

struct AccessConstraints {
  bool allowed = false;        // Some scope grants the interaction (== Allows()).
  bool unconstrained = false;  // Some granting scope has no constraints: no filtering needed.
  // When allowed && !unconstrained: a resource is accessible iff it matches at least one entry;
  // each entry is a conjunction of (search parameter, value) pairs. Empty otherwise.
  std::vector<ScopeConstraints> any_of;
};

// Granular constraints applicable to `type` for `interaction` in `context` (union semantics:
// one unconstrained granting scope makes the result unconstrained).
AccessConstraints ConstraintsFor(const ScopeSet& set, Context context, std::string_view type,
                                 Interaction interaction);

// Returns the part of `requested` that `granted` covers, for refresh-time and consent-time
// narrowing (RFC 6749 section 6). A requested resource scope is covered when the granted scopes
// with the same context, whose type is the same or "*", and whose constraints are a subset of
// the requested scope's constraints (i.e. no broader), together permit every requested
// interaction. Other scopes are covered when granted. Covered scopes keep their requested form.
// Requested scopes that are not covered, plus requested.invalid, are placed in the result's
// `invalid` (as text) so the caller can reject or drop them.
ScopeSet Narrow(const ScopeSet& requested, const ScopeSet& granted);

// Plain-language name for a FHIR resource type (US Core and CARIN Blue Button types), e.g.
// "ExplanationOfBenefit" -> "claims and explanations of benefit". Unknown types get
// "<Type> records".
std::string FriendlyResourceName(std::string_view type);

// Plain-language consent-screen text for a resource scope, e.g. "Read and search your lab
// results (Observation, category laboratory)" or "Read and search all current and future types
// of your health data".
std::string Describe(const ResourceScope& scope);

// Plain-language text for a recognized non-resource scope; "" for unknown scopes.
std::string DescribeOther(std::string_view scope);

}  // namespace portico::auth

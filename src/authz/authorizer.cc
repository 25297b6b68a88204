#include "src/authz/authorizer.h"

#include <algorithm>
#include <set>

#include "src/fhir/search/query_parser.h"

namespace portico::authz {

namespace {

auth::Interaction ToInteraction(Access a) {
  return a == Access::kRead ? auth::Interaction::kRead : auth::Interaction::kSearch;
}

// What either of two grants allows (e.g. read or search, for included resources).
auth::AccessConstraints Union(const auth::AccessConstraints& a, const auth::AccessConstraints& b) {
  auth::AccessConstraints out;
  out.allowed = a.allowed || b.allowed;
  out.unconstrained = a.unconstrained || b.unconstrained;
  if (out.allowed && !out.unconstrained) {
    out.any_of = a.any_of;
    out.any_of.insert(out.any_of.end(), b.any_of.begin(), b.any_of.end());
  }
  return out;
}

// Union over the patient/ and user/ contexts: a member's user/ scopes reach no further than the
// patient context in the token anyway.
auth::AccessConstraints Constraints(const auth::ScopeSet& scopes, const std::string& type,
                                    auth::Interaction interaction) {
  return Union(auth::ConstraintsFor(scopes, auth::Context::kPatient, type, interaction),
               auth::ConstraintsFor(scopes, auth::Context::kUser, type, interaction));
}

// Adds the granular filter of `type` to `scope`. False when the scope grants nothing usable.
bool AddGranular(const auth::AccessConstraints& c, const std::string& type,
                 const fhir::SearchParamRegistry& registry, const std::string& base_url,
                 fhir::AccessScope& scope) {
  if (c.unconstrained) {
    return true;
  }
  fhir::AccessScope::Granular g;
  g.type = type;
  fhir::SearchOptions so;
  so.base_url = base_url;
  for (const auth::ScopeConstraints& conj : c.any_of) {
    std::vector<fhir::SearchCondition> conds;
    bool ok = true;
    for (const auto& [name, value] : conj) {
      auto cond = fhir::ParseCondition(registry, type, name, value, so);
      if (!cond.ok()) {
        ok = false;  // a constraint we cannot evaluate grants nothing
        break;
      }
      conds.push_back(std::move(*cond));
    }
    if (ok) {
      g.alternatives.push_back(std::move(conds));
    }
  }
  if (g.alternatives.empty()) {
    return false;
  }
  scope.granular.push_back(std::move(g));
  return true;
}

}  // namespace

fhir::AccessScope ScopeForPrincipal(const Principal& principal,
                                    const fhir::SearchParamRegistry& registry,
                                    const std::string& base_url) {
  fhir::AccessScope scope;
  scope.unrestricted = false;
  if (!principal.patient.empty()) {
    scope.patient_ids.push_back(principal.patient);
  }
  // The types the token may see at all (r or s: a search returns whole resources too).
  bool wildcard = false;              // an unconstrained patient/*.r or .s: every type, unfiltered
  bool constrained_wildcard = false;  // e.g. patient/*.rs?category=...: each type, filtered
  std::set<std::string> types;
  for (const auth::ResourceScope& rs : principal.scopes.resources) {
    if (rs.context == auth::Context::kSystem || !(rs.r || rs.s)) {
      continue;
    }
    if (rs.type != "*") {
      types.insert(rs.type);
    } else if (rs.constraints.empty()) {
      wildcard = true;
    } else {
      constrained_wildcard = true;
    }
  }
  if (wildcard) {
    return scope;  // allowed_types empty = all types; nothing is constrained
  }
  if (constrained_wildcard) {
    // Only the types the constraint can be evaluated on (AddGranular drops the others).
    for (const std::string& t : registry.SearchableTypes()) {
      types.insert(t);
    }
  }
  // An explicit list, so that a type whose constraints cannot be applied is left out.
  for (const std::string& t : types) {
    auth::AccessConstraints c = Union(Constraints(principal.scopes, t, auth::Interaction::kRead),
                                      Constraints(principal.scopes, t, auth::Interaction::kSearch));
    if (c.allowed && AddGranular(c, t, registry, base_url, scope)) {
      scope.allowed_types.push_back(t);
    }
  }
  if (scope.allowed_types.empty()) {
    scope.allowed_types.push_back("-");  // nothing at all
  }
  return scope;
}

StatusOr<fhir::AccessScope> Authorize(const Principal& principal, const std::string& type,
                                      Access access, const fhir::SearchParamRegistry& registry,
                                      const std::string& base_url) {
  if (principal.patient.empty()) {
    // Only system/ scopes (operators and backend services) reach data without a patient; their
    // granular constraints apply like any other.
    auth::AccessConstraints c =
        auth::ConstraintsFor(principal.scopes, auth::Context::kSystem, type, ToInteraction(access));
    fhir::AccessScope scope;  // unrestricted: every patient
    if (!c.allowed || !AddGranular(c, type, registry, base_url, scope)) {
      return PermissionDeniedError("insufficient_scope: the token has no patient context and no "
                                   "usable system scope for " + type);
    }
    return scope;
  }
  auth::AccessConstraints c = Constraints(principal.scopes, type, ToInteraction(access));
  if (!c.allowed) {
    return PermissionDeniedError("insufficient_scope: the token does not grant " +
                                 std::string(access == Access::kRead ? "read" : "search") +
                                 " access to " + type);
  }
  fhir::AccessScope scope = ScopeForPrincipal(principal, registry, base_url);
  // The requested type's own constraint for this interaction (search may differ from read).
  scope.granular.erase(std::remove_if(scope.granular.begin(), scope.granular.end(),
                                      [&](const auto& g) { return g.type == type; }),
                       scope.granular.end());
  if (!AddGranular(c, type, registry, base_url, scope)) {
    return PermissionDeniedError("insufficient_scope: the token's constraints on " + type +
                                 " cannot be applied");
  }
  if (!scope.allowed_types.empty() &&
      std::find(scope.allowed_types.begin(), scope.allowed_types.end(), type) ==
          scope.allowed_types.end()) {
    scope.allowed_types.push_back(type);
  }
  return scope;
}

}  // namespace portico::authz

// Decides what a verified token may do: Principal x interaction x resource type ->
// deny (403 insufficient_scope) or an AccessScope that the store applies inside its queries.
// Deny by default: a token without a patient context sees no member data.
#pragma once

#include <string>

#include "src/authz/token_verifier.h"
#include "src/fhir/search/query.h"
#include "src/fhir/search/registry.h"

namespace portico::authz {

enum class Access { kRead, kSearch };

// The scope for `type`; PermissionDenied when no scope grants the interaction.
StatusOr<fhir::AccessScope> Authorize(const Principal& principal, const std::string& type,
                                      Access access, const fhir::SearchParamRegistry& registry,
                                      const std::string& base_url);

// The scope for searches that reach several types (includes, $everything): the patient
// compartment plus, per type, the same rules as Authorize. Types the token may not read are
// listed in `allowed_types` by omission.
fhir::AccessScope ScopeForPrincipal(const Principal& principal,
                                    const fhir::SearchParamRegistry& registry,
                                    const std::string& base_url);

}  // namespace portico::authz

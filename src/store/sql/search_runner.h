// The backend-independent part of ResourceStore::Search: chooses the driving table, builds the
// match query (with the access scope in its WHERE clause), the total, the keyset page and the
// _include/_revinclude fetches (each scoped the same way, capped at 1,000 resources and three
// :iterate rounds). Both SQL backends call it with an executor over one of their connections.
#pragma once

#include "src/fhir/search/query.h"
#include "src/fhir/search/registry.h"
#include "src/store/resource_store.h"
#include "src/store/sql/executor.h"

namespace portico::store::sql {

// Thread-compatible: uses only `exec`, which the caller holds for the duration of the call.
// The statements read a consistent snapshot only if the caller runs them in one transaction.
StatusOr<SearchPage> RunSearch(SqlExecutor& exec, const fhir::SearchParamRegistry& registry,
                               const fhir::SearchQuery& query, const fhir::AccessScope& scope);

}  // namespace portico::store::sql

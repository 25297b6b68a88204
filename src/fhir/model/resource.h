// Resource-level helpers: validation of what a client or file supplies, and the server-owned
// parts of a stored resource (id, meta.versionId, meta.lastUpdated).
#pragma once

#include <string>
#include <string_view>

#include "src/base/status.h"
#include "src/base/time.h"
#include "src/fhir/search/registry.h"
#include "src/json/json.h"

namespace portico::fhir {

// https://hl7.org/fhir/R4/datatypes.html#id
bool IsValidId(std::string_view id);

// Checks that `resource` is a JSON object with a known resourceType and, when present, a valid
// id. Returns the resource type.
StatusOr<std::string> CheckResource(const json::Value& resource,
                                    const SearchParamRegistry& registry);

struct PreparedResource {
  std::string type;
  std::string id;
  std::string content_hash;  // SHA-256 of the content without meta.versionId/lastUpdated
  json::Value value;         // the resource with id set (meta server fields removed)
};

// Sets the id, strips server-owned meta fields and hashes the content.
PreparedResource PrepareResource(json::Value resource, std::string type, std::string id);

// Renders the stored bytes: `prepared.value` with meta.versionId and meta.lastUpdated set.
std::string RenderStored(const json::Value& value, int64_t version, base::Millis last_updated);

}  // namespace portico::fhir

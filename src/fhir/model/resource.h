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
  std::string content_hash;  // SHA-256 of `text`
  json::Value value;         // the resource with id set (meta server fields removed)
  // `value` serialized (resourceType, id, then meta if any is left, then the rest), and the
  // offset just after its id member, where RenderStored puts the server's meta fields. Kept so
  // that the bytes hashed are the bytes stored, and rendering a version is a splice, not a
  // second serialization (an import renders on its single writer thread).
  std::string text;
  size_t meta_at = 0;
  bool has_meta = false;  // `text` has a meta member (right at meta_at)
};

// Sets the id, strips server-owned meta fields, serializes and hashes the content.
PreparedResource PrepareResource(json::Value resource, std::string type, std::string id);

// Renders the stored bytes: `prepared.text` with meta.versionId and meta.lastUpdated first in
// its meta. Does not read `prepared.value`, which the caller may have released.
std::string RenderStored(const PreparedResource& prepared, int64_t version,
                         base::Millis last_updated);

}  // namespace portico::fhir

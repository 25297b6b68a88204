#include "src/fhir/model/resource.h"

#include "src/base/digest.h"

namespace portico::fhir {

bool IsValidId(std::string_view id) {
  if (id.empty() || id.size() > 64) {
    return false;
  }
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.';
    if (!ok) {
      return false;
    }
  }
  return true;
}

StatusOr<std::string> CheckResource(const json::Value& resource,
                                    const SearchParamRegistry& registry) {
  if (!resource.is_object()) {
    return InvalidArgumentError("a resource must be a JSON object");
  }
  const json::Value* rt = resource.Find("resourceType");
  if (rt == nullptr) {
    return InvalidArgumentError("the resource has no resourceType");
  }
  if (!rt->is_string() || !registry.IsResourceType(rt->str())) {
    return InvalidArgumentError("unknown resourceType '" + (rt->is_string() ? rt->str() : "?") +
                                "'");
  }
  if (const json::Value* id = resource.Find("id"); id != nullptr) {
    if (!id->is_string() || !IsValidId(id->str())) {
      return InvalidArgumentError("id " + json::Serialize(*id) +
                                  " is not a valid FHIR id ([A-Za-z0-9-.]{1,64})");
    }
  }
  return rt->str();
}

PreparedResource PrepareResource(json::Value resource, std::string type, std::string id) {
  PreparedResource p;
  p.type = std::move(type);
  p.id = std::move(id);
  // Rebuild with resourceType, id first, then the rest in the original order.
  json::Value out = json::Value::MakeObject();
  out.Set("resourceType", json::Value::String(p.type));
  out.Set("id", json::Value::String(p.id));
  for (auto& m : resource.object()) {
    if (m.key == "resourceType" || m.key == "id") {
      continue;
    }
    if (m.key == "meta" && m.value.is_object()) {
      m.value.Erase("versionId");
      m.value.Erase("lastUpdated");
      if (!m.value.object().empty()) {
        // Right after id, where RenderStored puts it, so that a stored resource prepares to the
        // same content hash as its source did (found by fhir_json_fuzz).
        out.object().insert(out.object().begin() + 2,
                            json::Value::Member{"meta", std::move(m.value)});
      }
      continue;
    }
    out.object().push_back(std::move(m));
  }
  p.content_hash = base::Sha256Hex(json::Serialize(out));
  p.value = std::move(out);
  return p;
}

std::string RenderStored(const json::Value& value, int64_t version, base::Millis last_updated) {
  // Insert meta right after id, with versionId and lastUpdated first.
  std::string out;
  out.reserve(256);
  out.append("{");
  bool first = true;
  bool meta_done = false;
  auto write_meta = [&](const json::Value* meta) {
    if (!first) {
      out.push_back(',');
    }
    first = false;
    out.append("\"meta\":{\"versionId\":");
    json::AppendQuoted(std::to_string(version), out);
    out.append(",\"lastUpdated\":");
    json::AppendQuoted(base::FormatInstant(last_updated), out);
    if (meta != nullptr) {
      for (const auto& m : meta->object()) {
        out.push_back(',');
        json::AppendQuoted(m.key, out);
        out.push_back(':');
        json::SerializeTo(m.value, out);
      }
    }
    out.push_back('}');
    meta_done = true;
  };
  for (const auto& m : value.object()) {
    if (m.key == "meta") {
      continue;
    }
    if (!first) {
      out.push_back(',');
    }
    first = false;
    json::AppendQuoted(m.key, out);
    out.push_back(':');
    json::SerializeTo(m.value, out);
    if (m.key == "id") {
      write_meta(value.Find("meta"));
    }
  }
  if (!meta_done) {
    write_meta(value.Find("meta"));
  }
  out.push_back('}');
  return out;
}

}  // namespace portico::fhir

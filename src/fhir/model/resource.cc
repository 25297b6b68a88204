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
    if (m.key == "meta") {
      if (!m.value.is_object()) {
        continue;  // not a Meta (only without validation): the server's meta replaces it
      }
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
  p.text = json::Serialize(out);
  std::string head = "{";
  json::AppendQuoted("resourceType", head);
  head.push_back(':');
  json::AppendQuoted(p.type, head);
  head.push_back(',');
  json::AppendQuoted("id", head);
  head.push_back(':');
  json::AppendQuoted(p.id, head);
  p.meta_at = head.size();  // `text` starts with `head`: resourceType and id come first
  p.has_meta = out.object().size() > 2 && out.object()[2].key == "meta";
  p.content_hash = base::Sha256Hex(p.text);
  p.value = std::move(out);
  return p;
}

std::string RenderStored(const PreparedResource& prepared, int64_t version,
                         base::Millis last_updated) {
  constexpr std::string_view kMetaOpen = ",\"meta\":{";
  const std::string& text = prepared.text;
  std::string out;
  out.reserve(text.size() + 80);
  out.append(text, 0, prepared.meta_at);
  out.append(kMetaOpen);
  out.append("\"versionId\":");
  json::AppendQuoted(std::to_string(version), out);
  out.append(",\"lastUpdated\":");
  json::AppendQuoted(base::FormatInstant(last_updated), out);
  if (prepared.has_meta) {
    // The other meta members (PrepareResource keeps a meta only when it has some) follow the
    // server's two: skip `,"meta":{` in the text.
    out.push_back(',');
    out.append(text, prepared.meta_at + kMetaOpen.size());
  } else {
    out.push_back('}');
    out.append(text, prepared.meta_at);
  }
  return out;
}

}  // namespace portico::fhir

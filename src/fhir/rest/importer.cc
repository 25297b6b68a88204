#include "src/fhir/rest/importer.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <thread>

#include "src/base/digest.h"
#include "src/base/strings.h"
#include "src/fhir/model/resource.h"
#include "src/fhir/search/indexer.h"

namespace portico::fhir {

namespace {

// Rewrites every "reference" string found in `map` (urn:uuid:... -> Type/id).
void RewriteReferences(json::Value& v, const std::map<std::string, std::string>& map) {
  if (v.is_object()) {
    for (auto& m : v.object()) {
      if (m.key == "reference" && m.value.is_string()) {
        auto it = map.find(m.value.str());
        if (it != map.end()) {
          m.value = json::Value::String(it->second);
        }
      } else {
        RewriteReferences(m.value, map);
      }
    }
  } else if (v.is_array()) {
    for (json::Value& item : v.array()) {
      RewriteReferences(item, map);
    }
  }
}

// Collects the relative "Type/id" references in `v` (at FHIRPath-like `path`) into `out`.
void CollectReferences(const json::Value& v, const std::string& path,
                       const SearchParamRegistry& registry,
                       std::vector<std::pair<std::string, std::string>>& out) {
  if (v.is_object()) {
    for (const auto& m : v.object()) {
      if (m.key == "reference" && m.value.is_string()) {
        std::string_view ref = m.value.str();
        std::string type;
        std::string id;
        if (!ref.empty() && ref.front() != '#' && ref.find(':') == std::string_view::npos &&
            SplitReference(ref, type, id) && registry.IsResourceType(type)) {
          out.emplace_back(path, type + "/" + id);
        }
      } else if (m.value.is_array()) {
        for (size_t i = 0; i < m.value.array().size(); ++i) {
          CollectReferences(m.value.array()[i], path + "." + m.key + "[" + std::to_string(i) + "]",
                            registry, out);
        }
      } else if (m.value.is_object()) {
        CollectReferences(m.value, path + "." + m.key, registry, out);
      }
    }
  }
}

bool LooksLikeNdjson(std::string_view content) {
  size_t nl = content.find('\n');
  if (nl == std::string_view::npos) {
    return false;
  }
  std::string_view rest = base::Trim(content.substr(nl + 1));
  std::string_view first = base::Trim(content.substr(0, nl));
  return !first.empty() && first.front() == '{' && first.back() == '}' && !rest.empty() &&
         rest.front() == '{';
}

// Reads the JSON string at `pos` (at its opening quote) into `out` when it has no escape;
// false otherwise. Leaves `pos` after the closing quote.
bool PlainString(std::string_view s, size_t& pos, std::string_view& out) {
  size_t end = pos + 1;
  while (end < s.size() && s[end] != '"') {
    if (s[end] == '\\' || static_cast<unsigned char>(s[end]) < 0x20) {
      return false;
    }
    ++end;
  }
  if (end >= s.size()) {
    return false;
  }
  out = s.substr(pos + 1, end - pos - 1);
  pos = end + 1;
  return true;
}

// Moves `pos` past the JSON value that starts there, to the ',' or '}' after it (the value is
// not checked beyond finding its extent).
bool SkipValue(std::string_view s, size_t& pos) {
  int depth = 0;
  while (pos < s.size()) {
    char c = s[pos];
    if (c == '"') {
      ++pos;
      while (pos < s.size() && s[pos] != '"') {
        pos += s[pos] == '\\' ? 2 : 1;
      }
      if (pos >= s.size()) {
        return false;
      }
      ++pos;
    } else if (c == '{' || c == '[') {
      ++depth;
      ++pos;
    } else if (c == '}' || c == ']') {
      if (depth == 0) {
        return true;  // the enclosing object ends: the value was a number or literal
      }
      --depth;
      ++pos;
    } else if (c == ',' && depth == 0) {
      return true;
    } else {
      ++pos;
    }
    if (depth == 0 && (c == '"' || c == '}' || c == ']')) {
      return true;  // a string, object or array at the top ended
    }
  }
  return false;
}

void SkipSpace(std::string_view s, size_t& pos) {
  while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\r' || s[pos] == '\n')) {
    ++pos;
  }
}

// The top-level resourceType and id of one NDJSON line, when both are plain strings.
bool TypeAndId(std::string_view line, std::string_view& type, std::string_view& id) {
  size_t pos = 0;
  SkipSpace(line, pos);
  if (pos >= line.size() || line[pos] != '{') {
    return false;
  }
  ++pos;
  bool have_type = false;
  bool have_id = false;
  while (true) {
    SkipSpace(line, pos);
    std::string_view key;
    if (pos >= line.size() || line[pos] != '"' || !PlainString(line, pos, key)) {
      return false;
    }
    SkipSpace(line, pos);
    if (pos >= line.size() || line[pos] != ':') {
      return false;
    }
    ++pos;
    SkipSpace(line, pos);
    if (key == "resourceType" || key == "id") {
      bool& have = key == "id" ? have_id : have_type;
      std::string_view& value = key == "id" ? id : type;
      if (have || pos >= line.size() || line[pos] != '"' || !PlainString(line, pos, value)) {
        return false;
      }
      have = true;
      if (have_type && have_id) {
        // The rest of the line cannot change the key of a line that parses (a second id would
        // be a duplicate member), and a line that does not parse fails its file, whose keys
        // then only matter if they repeat one, which sends the caller to the full check.
        return !type.empty() && !id.empty() && type != "Bundle";
      }
    } else if (!SkipValue(line, pos)) {
      return false;
    }
    SkipSpace(line, pos);
    if (pos >= line.size() || line[pos] != ',') {
      return false;  // the object ended (or broke off) before both were read
    }
    ++pos;
  }
}

}  // namespace

std::optional<std::vector<std::string>> Importer::QuickKeys(std::string_view content) {
  if (!LooksLikeNdjson(content)) {
    return std::nullopt;
  }
  std::vector<std::string> keys;
  for (std::string_view line : base::Split(content, '\n')) {
    if (base::Trim(line).empty()) {
      continue;
    }
    std::string_view type;
    std::string_view id;
    if (!TypeAndId(line, type, id)) {
      return std::nullopt;
    }
    std::string key;
    key.reserve(type.size() + 1 + id.size());
    key.append(type).push_back('/');
    key.append(id);
    keys.push_back(std::move(key));
  }
  return keys;
}

Importer::Importer(store::ResourceStore& store, std::shared_ptr<const SearchParamRegistry> registry,
                   ResourceValidator validator)
    : store_(store), registry_(std::move(registry)), validator_(std::move(validator)) {}

bool Importer::CheckOne(const std::string& source, int64_t entry, json::Value& resource,
                        Sink sink) const {
  std::vector<ImportError>& errors = sink.errors;
  auto type = CheckResource(resource, *registry_);
  if (!type.ok()) {
    errors.push_back({source, entry, type.status().message()});
    return false;
  }
  if (validator_) {
    std::vector<std::string> problems = validator_(resource);
    if (!problems.empty()) {
      std::string msg = "invalid " + *type + ": " + problems[0];
      for (size_t i = 1; i < problems.size() && i < 5; ++i) {
        msg += "; " + problems[i];
      }
      if (problems.size() > 5) {
        msg += "; and " + std::to_string(problems.size() - 5) + " more";
      }
      errors.push_back({source, entry, msg});
      return false;
    }
  }
  if (profile_validator_ && !keys_only_) {
    std::vector<std::string> rejected;
    for (ValidationIssue& issue : profile_validator_(resource)) {
      if (reject_profile_errors_ && issue.severity == ValidationIssue::Severity::kError) {
        rejected.push_back(issue.path + ": " + issue.message);
      } else {
        sink.warnings.push_back({source, entry, issue.path + ": " + issue.message});
      }
    }
    if (!rejected.empty()) {
      std::string msg = "does not conform to its profile: " + rejected[0];
      for (size_t i = 1; i < rejected.size() && i < 5; ++i) {
        msg += "; " + rejected[i];
      }
      if (rejected.size() > 5) {
        msg += "; and " + std::to_string(rejected.size() - 5) + " more";
      }
      errors.push_back({source, entry, msg});
      return false;
    }
  }
  std::vector<std::pair<std::string, std::string>> references;
  if (reference_observer_ && !keys_only_) {
    CollectReferences(resource, *type, *registry_, references);
  }
  std::string id(resource.GetString("id"));
  if (id.empty()) {
    // A resource without an id: derive one from its content (idempotent re-import).
    id = base::Sha256Hex(json::Serialize(resource)).substr(0, 40);
  }
  Pending p{*type, std::move(id), false, entry, std::move(references), {}, {}};
  if (keys_only_) {
    sink.out.push_back(std::move(p));
    return true;
  }
  // Prepared and indexed here, so that with several threads this work is done in parallel.
  p.prepared = PrepareResource(std::move(resource), p.type, p.id);
  p.index = ExtractIndex(*registry_, p.type, p.prepared.value);
  p.prepared.value = json::Value();  // freed here rather than on the writer thread
  sink.out.push_back(std::move(p));
  return true;
}

bool Importer::CollectBundle(const std::string& source, json::Value bundle, Sink sink) const {
  std::vector<ImportError>& errors = sink.errors;
  std::string_view btype = bundle.GetString("type");
  if (btype != "collection" && btype != "transaction" && btype != "batch" && btype != "searchset" &&
      btype != "transaction-response" && btype != "batch-response" && btype != "history") {
    // document, message: a Bundle stored as a resource of its own.
    return CheckOne(source, -1, bundle, sink);
  }
  json::Value* entries = bundle.Find("entry");
  if (entries == nullptr) {
    return true;
  }
  if (!entries->is_array()) {
    errors.push_back({source, -1, "Bundle.entry must be an array"});
    return false;
  }
  // First pass: decide ids and map urn fullUrls to Type/id.
  std::map<std::string, std::string> urn_map;
  struct Planned {
    int64_t index;
    json::Value* resource;
    std::string delete_url;
  };
  std::vector<Planned> planned;
  bool ok = true;
  int64_t index = 0;
  for (json::Value& e : entries->array()) {
    int64_t i = index++;
    if (!e.is_object()) {
      errors.push_back({source, i, "Bundle entry is not an object"});
      ok = false;
      continue;
    }
    const json::Value* request = e.Find("request");
    std::string_view method = request != nullptr ? request->GetString("method") : "";
    if (method == "DELETE") {
      planned.push_back({i, nullptr, std::string(request->GetString("url"))});
      continue;
    }
    if (method == "GET" || method == "HEAD") {
      continue;  // a read in a batch stores nothing
    }
    json::Value* res = e.Find("resource");
    if (res == nullptr) {
      continue;  // response-only entries
    }
    if (const json::Value* search = e.Find("search");
        search != nullptr && search->GetString("mode") == "outcome") {
      continue;
    }
    if (!res->is_object()) {
      errors.push_back({source, i, "Bundle entry resource is not an object"});
      ok = false;
      continue;
    }
    // A copy: res->Set("id") below may reallocate res's members (found by fhir_json_fuzz).
    std::string rtype(res->GetString("resourceType"));
    std::string_view full_url = e.GetString("fullUrl");
    if (res->Find("id") == nullptr && !rtype.empty()) {
      std::string id;
      std::string_view url = request != nullptr ? request->GetString("url") : "";
      if (method == "PUT" && url.find('/') != std::string_view::npos) {
        std::string t;
        if (SplitReference(url.substr(0, url.find('?')), t, id) && t != rtype) {
          id.clear();
        }
      }
      if (id.empty() && base::StartsWith(full_url, "urn:uuid:")) {
        id = std::string(full_url.substr(9));
      }
      if (id.empty() && !full_url.empty() && !base::StartsWith(full_url, "urn:")) {
        std::string t;
        SplitReference(full_url, t, id);
      }
      if (id.empty()) {
        // No id anywhere: derive one from the content so that a re-import is idempotent.
        id = base::Sha256Hex(json::Serialize(*res)).substr(0, 40);
      }
      res->Set("id", json::Value::String(id));
    }
    if (base::StartsWith(full_url, "urn:") && !rtype.empty()) {
      urn_map[std::string(full_url)] = std::string(rtype) + "/" + std::string(res->GetString("id"));
    }
    planned.push_back({i, res, ""});
  }
  for (Planned& p : planned) {
    if (p.resource == nullptr) {
      std::string t;
      std::string id;
      if (!SplitReference(p.delete_url, t, id) || !registry_->IsResourceType(t)) {
        errors.push_back(
            {source, p.index, "DELETE url must be Type/id, got '" + p.delete_url + "'"});
        ok = false;
        continue;
      }
      sink.out.push_back({t, id, true, p.index, {}, {}, {}});
      continue;
    }
    if (!urn_map.empty()) {
      RewriteReferences(*p.resource, urn_map);
    }
    if (p.resource->GetString("resourceType") == "Bundle") {
      ok = CollectBundle(source, std::move(*p.resource), sink) && ok;
      continue;
    }
    ok = CheckOne(source, p.index, *p.resource, sink) && ok;
  }
  return ok;
}

bool Importer::Apply(const std::string& source, std::vector<Pending>& pending, ImportCounts& counts,
                     std::vector<ImportError>& errors) {
  auto batch = store_.BeginWrite();
  if (!batch.ok()) {
    errors.push_back({source, -1, "cannot write: " + batch.status().message()});
    return false;
  }
  {
    std::vector<std::pair<std::string, std::string>> keys;
    keys.reserve(pending.size());
    for (const Pending& p : pending) {
      keys.emplace_back(p.type, p.id);
    }
    Status s = (*batch)->Prefetch(keys);
    if (!s.ok()) {
      errors.push_back({source, -1, "cannot write: " + s.message()});
      return false;
    }
  }
  ImportCounts local;
  std::vector<const Pending*> stored;
  int64_t ordinal = -1;
  for (Pending& p : pending) {
    ++ordinal;
    if (skip_ && skip_(p.type + "/" + p.id, ordinal)) {
      ++local.superseded;
      continue;
    }
    if (p.is_delete) {
      auto r = (*batch)->Delete(p.type, p.id);
      if (!r.ok()) {
        if (r.status().code() == StatusCode::kNotFound) {
          continue;  // deleting what is not there is a no-op
        }
        errors.push_back({source, p.entry, r.status().message()});
        return false;
      }
      ++local.deleted;
      continue;
    }
    if (reference_observer_ && !p.references.empty()) {
      stored.push_back(&p);
    }
    auto r = (*batch)->Put(
        p.type, p.id, p.prepared.content_hash,
        [&p](int64_t version, base::Millis at) { return RenderStored(p.prepared, version, at); },
        p.index);
    if (!r.ok()) {
      errors.push_back({source, p.entry, r.status().message()});
      return false;
    }
    switch (r->result) {
      case store::WriteResult::kCreated:
        ++local.created;
        break;
      case store::WriteResult::kUpdated:
        ++local.updated;
        break;
      case store::WriteResult::kUnchanged:
        ++local.unchanged;
        break;
    }
  }
  Status s = (*batch)->Commit();
  if (!s.ok()) {
    errors.push_back({source, -1, "commit failed: " + s.message()});
    return false;
  }
  for (const Pending* p : stored) {
    for (const auto& [path, target] : p->references) {
      reference_observer_({source, p->entry, path, target});
    }
  }
  counts.created += local.created;
  counts.updated += local.updated;
  counts.unchanged += local.unchanged;
  counts.deleted += local.deleted;
  counts.superseded += local.superseded;
  return true;
}

bool Importer::Collect(const std::string& source, std::string_view content,
                       std::vector<Pending>& pending, std::vector<ImportError>& errors,
                       std::vector<ImportError>& warnings) const {
  size_t errors_before = errors.size();
  if (base::Trim(content).empty()) {
    errors.push_back({source, -1, "the file is empty"});
    return false;
  }
  if (LooksLikeNdjson(content)) {
    std::vector<std::string_view> lines = base::Split(content, '\n');
    size_t parts = std::min<size_t>(static_cast<size_t>(threads_), lines.size() / 64 + 1);
    if (parts <= 1) {
      CollectLines(source, lines, 0, lines.size(), Sink{pending, errors, warnings});
    } else {
      // Contiguous ranges of lines, one per thread, joined in file order afterwards.
      struct Part {
        std::vector<Pending> pending;
        std::vector<ImportError> errors;
        std::vector<ImportError> warnings;
      };
      std::vector<Part> results(parts);
      std::vector<std::thread> workers;
      size_t per = (lines.size() + parts - 1) / parts;
      for (size_t t = 1; t < parts; ++t) {
        workers.emplace_back([&, t] {
          Part& r = results[t];
          CollectLines(source, lines, std::min(lines.size(), t * per),
                       std::min(lines.size(), (t + 1) * per),
                       Sink{r.pending, r.errors, r.warnings});
        });
      }
      CollectLines(source, lines, 0, std::min(lines.size(), per),
                   Sink{results[0].pending, results[0].errors, results[0].warnings});
      for (std::thread& w : workers) {
        w.join();
      }
      for (Part& r : results) {
        std::move(r.pending.begin(), r.pending.end(), std::back_inserter(pending));
        std::move(r.errors.begin(), r.errors.end(), std::back_inserter(errors));
        std::move(r.warnings.begin(), r.warnings.end(), std::back_inserter(warnings));
      }
    }
  } else {
    auto v = json::Parse(content);
    if (!v.ok()) {
      errors.push_back({source, -1, v.status().message()});
      return false;
    }
    Sink sink{pending, errors, warnings};
    if (v->is_object() && v->GetString("resourceType") == "Bundle") {
      CollectBundle(source, std::move(*v), sink);
    } else {
      CheckOne(source, -1, *v, sink);
    }
  }
  return errors.size() == errors_before;
}

void Importer::CollectLines(const std::string& source, const std::vector<std::string_view>& lines,
                            size_t from, size_t to, Sink sink) const {
  for (size_t i = from; i < to; ++i) {
    int64_t line_no = static_cast<int64_t>(i) + 1;
    std::string_view line = base::Trim(lines[i]);
    if (line.empty()) {
      continue;
    }
    auto v = json::Parse(line);
    if (!v.ok()) {
      sink.errors.push_back({source, line_no, v.status().message()});
      continue;
    }
    if (v->is_object() && v->GetString("resourceType") == "Bundle") {
      CollectBundle(source, std::move(*v), sink);
    } else {
      CheckOne(source, line_no, *v, sink);
    }
  }
}

bool Importer::ImportContent(const std::string& source, std::string_view content,
                             ImportCounts& counts, std::vector<ImportError>& errors) {
  Parsed parsed = Parse(source, content);
  return Store(parsed, counts, errors);
}

Importer::Parsed Importer::Parse(const std::string& source, std::string_view content) const {
  Parsed parsed;
  parsed.source = source;
  parsed.ok = Collect(source, content, parsed.pending, parsed.errors, parsed.warnings);
  return parsed;
}

bool Importer::Store(Parsed& parsed, ImportCounts& counts, std::vector<ImportError>& errors) {
  std::move(parsed.warnings.begin(), parsed.warnings.end(), std::back_inserter(warnings_));
  parsed.warnings.clear();
  std::move(parsed.errors.begin(), parsed.errors.end(), std::back_inserter(errors));
  parsed.errors.clear();
  if (!parsed.ok) {
    return false;
  }
  return Apply(parsed.source, parsed.pending, counts, errors);
}

std::vector<std::string> Importer::Keys(std::string_view content) {
  std::vector<Pending> pending;
  std::vector<ImportError> errors;
  std::vector<std::string> keys;
  keys_only_ = true;
  std::vector<ImportError> warnings;
  bool collected = Collect("", content, pending, errors, warnings);
  keys_only_ = false;
  if (!collected) {
    return keys;  // the file will fail as a whole and write nothing
  }
  keys.reserve(pending.size());
  for (const Pending& p : pending) {
    keys.push_back(p.type + "/" + p.id);
  }
  return keys;
}

}  // namespace portico::fhir

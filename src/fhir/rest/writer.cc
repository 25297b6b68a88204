#include "src/fhir/rest/writer.h"

#include <random>

#include "src/base/digest.h"
#include "src/base/strings.h"
#include "src/fhir/model/outcome.h"
#include "src/fhir/model/resource.h"
#include "src/fhir/rest/responses.h"
#include "src/fhir/search/indexer.h"
#include "src/fhir/search/query_parser.h"

namespace portico::fhir {

namespace {

std::string NewId() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return base::Sha256Hex(std::to_string(rng()) + std::to_string(rng())).substr(0, 32);
}

std::vector<std::string> Segments(std::string_view path) {
  std::vector<std::string> out;
  for (std::string_view s : base::Split(path, '/')) {
    if (!s.empty()) {
      out.emplace_back(s);
    }
  }
  return out;
}

bool IsJson(const http::Request& req) {
  std::string ct = base::ToLowerAscii(req.Header("content-type"));
  return base::StartsWith(ct, "application/fhir+json") || base::StartsWith(ct, "application/json");
}

// "W/\"3\"" or "\"3\"" -> 3; -1 when malformed.
int64_t ParseETag(std::string_view etag) {
  if (base::StartsWith(etag, "W/")) {
    etag.remove_prefix(2);
  }
  if (etag.size() < 3 || etag.front() != '"' || etag.back() != '"') {
    return -1;
  }
  auto n = base::ParseInt(etag.substr(1, etag.size() - 2));
  return n ? *n : -1;
}

}  // namespace

Writer::Writer(store::ResourceStore& store, std::shared_ptr<const SearchParamRegistry> registry,
               ResourceValidator validator, std::string base_url)
    : store_(store),
      registry_(std::move(registry)),
      validator_(std::move(validator)),
      base_url_(std::move(base_url)) {}

http::Response Writer::Put(const std::string& type, std::string id, json::Value resource,
                           std::string_view if_match, bool created_by_post,
                           const SearchQuery* condition) {
  auto checked = CheckResource(resource, *registry_);
  if (!checked.ok()) {
    return FhirErrorResponse(400, "invalid", checked.status().message());
  }
  if (*checked != type) {
    return FhirErrorResponse(400, "invalid", "the body is a " + *checked + ", not a " + type);
  }
  std::string body_id(resource.GetString("id"));
  if (condition == nullptr && !created_by_post && !body_id.empty() && body_id != id) {
    return FhirErrorResponse(400, "invalid", "the id in the body does not match the URL");
  }
  if (validator_) {
    std::vector<std::string> problems = validator_(resource);
    if (!problems.empty()) {
      return FhirErrorResponse(422, "processing", "invalid " + type + ": " + problems[0]);
    }
  }
  auto batch = store_.BeginWrite();
  if (!batch.ok()) {
    return FhirErrorResponse(503, "transient", "the database is not available");
  }
  // Decided under the write lock, on the primary: no other write can slip in between.
  if (condition != nullptr) {
    auto page = (*batch)->Search(*condition, AccessScope{});
    if (!page.ok()) {
      return FhirErrorResponse(503, "transient", "the database is not available");
    }
    if (page->matches.size() > 1) {
      return FhirErrorResponse(412, "multiple-matches",
                               "the condition matches more than one resource");
    }
    created_by_post = page->matches.empty();
    if (!created_by_post && !body_id.empty() && body_id != page->matches[0].id) {
      return FhirErrorResponse(400, "invalid",
                               "the id in the body is not the id of the resource that matches");
    }
    id = !created_by_post ? page->matches[0].id : !body_id.empty() ? body_id : NewId();
    if (!IsValidId(id)) {
      return FhirErrorResponse(400, "invalid", "'" + id + "' is not a valid id");
    }
  }
  if (!if_match.empty()) {
    int64_t wanted = ParseETag(if_match);
    auto current = (*batch)->Read(type, id);
    if (!current.ok()) {
      return FhirErrorResponse(503, "transient", "the database is not available");
    }
    if (wanted < 0 || !current->has_value() || (*current)->version != wanted) {
      return FhirErrorResponse(412, "conflict", "If-Match does not name the current version");
    }
  }
  PreparedResource prepared = PrepareResource(std::move(resource), type, id);
  IndexEntries index = ExtractIndex(*registry_, type, prepared.value);
  auto put = (*batch)->Put(
      type, id, prepared.content_hash,
      [&prepared](int64_t v, base::Millis at) { return RenderStored(prepared, v, at); }, index);
  if (!put.ok()) {
    if (put.status().code() == StatusCode::kUnavailable) {  // e.g. the disk is full
      return FhirErrorResponse(503, "transient", "the database cannot take writes right now");
    }
    return FhirErrorResponse(500, "exception", "the write failed");
  }
  if (Status s = (*batch)->Commit(); !s.ok()) {
    return FhirErrorResponse(503, "transient", "the write was not committed");
  }
  auto stored = store_.Read(type, id);
  http::Response r;
  r.status = put->result == store::WriteResult::kCreated ? 201 : 200;
  r.SetHeader("Content-Type", kFhirJsonContentType);
  r.SetHeader("ETag", "W/\"" + std::to_string(put->version) + "\"");
  r.SetHeader("Location",
              base_url_ + "/" + type + "/" + id + "/_history/" + std::to_string(put->version));
  if (stored.ok() && stored->has_value()) {
    r.body = (*stored)->body;
    r.SetHeader("Last-Modified", base::FormatHttpDate((*stored)->last_updated));
  }
  return r;
}

http::Response Writer::Handle(const http::Request& req, std::string_view path,
                              const WritePermission& allowed) {
  std::vector<std::string> seg = Segments(path);
  if (seg.empty() && req.method == "POST") {
    return Transaction(req, allowed);
  }
  if (seg.empty() || !registry_->IsResourceType(seg[0])) {
    return FhirErrorResponse(404, "not-supported", "Unknown resource type");
  }
  const std::string& type = seg[0];
  if (req.method == "DELETE" && seg.size() == 2) {
    if (!allowed(type, 'd')) {
      return FhirErrorResponse(403, "forbidden",
                               "insufficient_scope: no delete permission on " + type);
    }
    auto batch = store_.BeginWrite();
    if (!batch.ok()) {
      return FhirErrorResponse(503, "transient", "the database is not available");
    }
    auto deleted = (*batch)->Delete(type, seg[1]);
    if (!deleted.ok()) {
      if (deleted.status().code() == StatusCode::kNotFound) {
        http::Response r;
        r.status = 204;  // deleting what is not there succeeds (idempotent)
        return r;
      }
      if (deleted.status().code() == StatusCode::kUnavailable) {
        return FhirErrorResponse(503, "transient", "the database cannot take writes right now");
      }
      return FhirErrorResponse(500, "exception", "the delete failed");
    }
    if (!(*batch)->Commit().ok()) {
      return FhirErrorResponse(503, "transient", "the delete was not committed");
    }
    http::Response r;
    r.status = 204;
    r.SetHeader("ETag", "W/\"" + std::to_string(*deleted) + "\"");
    return r;
  }
  if (req.method != "POST" && req.method != "PUT") {
    return FhirErrorResponse(405, "not-supported", req.method + " is not supported here");
  }
  if (!IsJson(req)) {
    return FhirErrorResponse(415, "not-supported",
                             "send FHIR JSON (Content-Type application/fhir+json)");
  }
  auto body = json::Parse(req.body);
  if (!body.ok()) {
    return FhirErrorResponse(400, "invalid", body.status().message());
  }
  if (req.method == "POST" && seg.size() == 1) {
    if (!allowed(type, 'c')) {
      return FhirErrorResponse(403, "forbidden",
                               "insufficient_scope: no create permission on " + type);
    }
    body->Erase("id");
    return Put(type, NewId(), std::move(*body), "", true);
  }
  if (req.method == "PUT" && seg.size() == 2) {
    if (!allowed(type, 'u') || !allowed(type, 'c')) {
      return FhirErrorResponse(403, "forbidden",
                               "insufficient_scope: no update permission on " + type);
    }
    if (!IsValidId(seg[1])) {
      return FhirErrorResponse(400, "invalid", "'" + seg[1] + "' is not a valid id");
    }
    return Put(type, seg[1], std::move(*body), req.Header("if-match"), false);
  }
  if (req.method == "PUT" && seg.size() == 1 && !req.query.empty()) {
    // Conditional update: no match creates, one match updates it, several are an error.
    if (!allowed(type, 'u') || !allowed(type, 'c')) {
      return FhirErrorResponse(403, "forbidden",
                               "insufficient_scope: no update permission on " + type);
    }
    QueryPairs pairs;
    if (!http::ParseFormEncoded(req.query, pairs)) {
      return FhirErrorResponse(400, "invalid", "malformed query");
    }
    SearchOptions so;
    so.base_url = base_url_;
    so.strict = true;
    auto parsed = ParseSearch(*registry_, type, pairs, so);
    if (!parsed.ok()) {
      return FhirErrorResponse(400, "invalid", parsed.status().message());
    }
    parsed->query.count = 2;
    return Put(type, "", std::move(*body), req.Header("if-match"), false, &parsed->query);
  }
  return FhirErrorResponse(405, "not-supported", "this write interaction is not supported");
}

http::Response Writer::Transaction(const http::Request& req, const WritePermission& allowed) {
  if (!IsJson(req)) {
    return FhirErrorResponse(415, "not-supported",
                             "send FHIR JSON (Content-Type application/fhir+json)");
  }
  auto bundle = json::Parse(req.body);
  if (!bundle.ok() || bundle->GetString("resourceType") != "Bundle") {
    return FhirErrorResponse(400, "invalid", "the body must be a Bundle");
  }
  std::string_view btype = bundle->GetString("type");
  if (btype != "transaction" && btype != "batch") {
    return FhirErrorResponse(400, "invalid",
                             "only transaction and batch Bundles can be posted to the base");
  }
  // Permission per entry, before anything is written.
  if (const json::Value* entries = bundle->Find("entry");
      entries != nullptr && entries->is_array()) {
    for (const json::Value& e : entries->array()) {
      const json::Value* request = e.Find("request");
      std::string method(request != nullptr ? request->GetString("method") : "POST");
      std::string type;
      if (const json::Value* r = e.Find("resource"); r != nullptr) {
        type = std::string(r->GetString("resourceType"));
      } else if (request != nullptr) {
        std::string url(request->GetString("url"));
        type = url.substr(0, url.find_first_of("/?"));
      }
      char op = method == "DELETE" ? 'd' : method == "PUT" ? 'u' : 'c';
      if (type.empty() || !allowed(type, op) || (op == 'u' && !allowed(type, 'c'))) {
        return FhirErrorResponse(403, "forbidden",
                                 "insufficient_scope: the token may not " + method + " " + type);
      }
    }
  }
  // All or nothing: the importer stores one Bundle in one transaction.
  Importer importer(store_, registry_, validator_);
  ImportCounts counts;
  std::vector<ImportError> errors;
  std::vector<std::string> keys = importer.Keys(req.body);
  if (!importer.ImportContent("transaction", req.body, counts, errors)) {
    std::string msg = errors.empty() ? "the transaction failed" : errors[0].message;
    if (!errors.empty() && errors[0].entry >= 0) {
      msg = "entry " + std::to_string(errors[0].entry) + ": " + msg;
    }
    return FhirErrorResponse(400, "invalid", msg + " (nothing was written)");
  }
  std::string out =
      "{\"resourceType\":\"Bundle\",\"type\":\"" + std::string(btype) + "-response\",\"entry\":[";
  bool first = true;
  for (const std::string& key : keys) {
    size_t slash = key.find('/');
    auto cur = store_.Read(key.substr(0, slash), key.substr(slash + 1));
    out += first ? "{" : ",{";
    first = false;
    out += "\"response\":{";
    if (cur.ok() && cur->has_value() && !(*cur)->deleted) {
      out += std::string("\"status\":\"") + ((*cur)->version == 1 ? "201 Created" : "200 OK") +
             "\",\"location\":\"" + key + "/_history/" + std::to_string((*cur)->version) +
             "\",\"etag\":\"W/\\\"" + std::to_string((*cur)->version) + "\\\"\"";
    } else {
      out += "\"status\":\"204 No Content\"";
    }
    out += "}}";
  }
  out += "]}";
  http::Response r;
  r.status = 200;
  r.body = std::move(out);
  r.SetHeader("Content-Type", kFhirJsonContentType);
  return r;
}

}  // namespace portico::fhir

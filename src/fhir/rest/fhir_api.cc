#include "src/fhir/rest/fhir_api.h"

#include <algorithm>
#include <cctype>
#include <random>

#include "src/base/digest.h"
#include "src/base/strings.h"
#include "src/fhir/model/outcome.h"
#include "src/fhir/model/resource.h"
#include "src/fhir/model/validator.h"
#include "src/fhir/search/builtin_data.h"
#include "src/json/json.h"

namespace portico::fhir {

namespace {

constexpr const char* kFhirJson = "application/fhir+json; charset=utf-8";

std::string NewUuid() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  uint64_t a = rng();
  uint64_t b = rng();
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx",
                static_cast<unsigned>(a >> 32), static_cast<unsigned>((a >> 16) & 0xffff),
                static_cast<unsigned>(a & 0xffff), static_cast<unsigned>(b >> 48),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> out;
  for (std::string_view seg : base::Split(path, '/')) {
    if (!seg.empty()) {
      out.emplace_back(seg);
    }
  }
  return out;
}

// True when the client asked for a format we cannot produce (XML, Turtle).
bool WantsUnsupportedFormat(const http::Request& req, const QueryPairs& pairs) {
  for (const auto& [k, v] : pairs) {
    if (k == "_format") {
      std::string f = base::ToLowerAscii(v);
      return !(f == "json" || f == "application/json" || f == "application/fhir+json" ||
               base::StartsWith(f, "application/fhir+json;") ||
               base::StartsWith(f, "application/json;"));
    }
  }
  std::string accept = base::ToLowerAscii(req.Header("accept"));
  if (accept.empty()) {
    return false;
  }
  for (std::string_view part : base::Split(accept, ',')) {
    std::string_view mt = base::Trim(part.substr(0, part.find(';')));
    if (mt == "*/*" || mt == "application/*" || mt == "application/json" ||
        mt == "application/fhir+json" || mt == "application/json+fhir" || mt == "text/*" ||
        mt == "text/html" || mt == "text/plain") {
      return false;
    }
  }
  return true;
}

http::Response JsonResponse(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.SetHeader("Content-Type", kFhirJson);
  return r;
}

std::string ETag(int64_t version) { return "W/\"" + std::to_string(version) + "\""; }

std::string BuildCapability(const SearchParamRegistry& registry, const FhirApiOptions& options) {
  auto doc = json::Parse(builtin::ServerResourcesJson());
  json::Value cs = json::Value::MakeObject();
  cs.Set("resourceType", json::Value::String("CapabilityStatement"));
  cs.Set("id", json::Value::String("portico"));
  cs.Set("url", json::Value::String(options.base_url + "/metadata"));
  cs.Set("version", json::Value::String(options.software_version));
  cs.Set("name", json::Value::String("PorticoPatientAccessApi"));
  cs.Set("title", json::Value::String("Portico CMS Patient Access API"));
  cs.Set("status", json::Value::String("active"));
  cs.Set("experimental", json::Value::Bool(false));
  cs.Set("date", json::Value::String("2026-11-28"));
  cs.Set("publisher", json::Value::String("Portico"));
  cs.Set("description",
         json::Value::String("FHIR R4 Patient Access API: CARIN Blue Button 1.0.0, US Core 3.1.1, "
                             "Da Vinci PDex 1.0.0 and HRex 0.2.0, protected by SMART App Launch."));
  cs.Set("kind", json::Value::String("instance"));
  json::Value inst = json::Value::MakeArray();
  json::Value igs = json::Value::MakeArray();
  if (doc.ok()) {
    if (const json::Value* i = doc->Find("instantiates")) {
      inst = *i;
    }
    if (const json::Value* i = doc->Find("implementationGuide")) {
      igs = *i;
    }
  }
  cs.Set("instantiates", std::move(inst));
  json::Value software = json::Value::MakeObject();
  software.Set("name", json::Value::String("Portico"));
  software.Set("version", json::Value::String(options.software_version));
  cs.Set("software", std::move(software));
  json::Value impl = json::Value::MakeObject();
  impl.Set("description", json::Value::String("Portico FHIR server"));
  impl.Set("url", json::Value::String(options.base_url));
  cs.Set("implementation", std::move(impl));
  cs.Set("fhirVersion", json::Value::String("4.0.1"));
  json::Value formats = json::Value::MakeArray();
  formats.Push(json::Value::String("application/fhir+json"));
  formats.Push(json::Value::String("json"));
  cs.Set("format", std::move(formats));
  cs.Set("implementationGuide", std::move(igs));

  json::Value rest = json::Value::MakeObject();
  rest.Set("mode", json::Value::String("server"));
  rest.Set("documentation",
           json::Value::String("Read-only Patient Access API. Paging uses opaque next links; "
                               "_count is capped at " +
                               std::to_string(options.max_count) + "."));
  if (!options.capability_extra_security.empty()) {
    auto sec = json::Parse(options.capability_extra_security);
    if (sec.ok()) {
      rest.Set("security", std::move(*sec));
    }
  }
  json::Value resources = json::Value::MakeArray();
  if (doc.ok()) {
    for (const json::Value& r : doc->Find("resources")->array()) {
      std::string type(r.GetString("type"));
      json::Value res = json::Value::MakeObject();
      res.Set("type", json::Value::String(type));
      if (const json::Value* p = r.Find("profiles"); p != nullptr && !p->array().empty()) {
        res.Set("supportedProfile", *p);
      }
      json::Value interactions = json::Value::MakeArray();
      for (const char* code : {"read", "vread", "history-instance", "search-type"}) {
        json::Value i = json::Value::MakeObject();
        i.Set("code", json::Value::String(code));
        interactions.Push(std::move(i));
      }
      res.Set("interaction", std::move(interactions));
      res.Set("versioning", json::Value::String("versioned"));
      res.Set("readHistory", json::Value::Bool(true));
      res.Set("updateCreate", json::Value::Bool(false));
      res.Set("conditionalRead", json::Value::String("modified-since"));
      if (const json::Value* i = r.Find("searchInclude"); i != nullptr && !i->array().empty()) {
        res.Set("searchInclude", *i);
      }
      if (const json::Value* i = r.Find("searchRevInclude"); i != nullptr && !i->array().empty()) {
        res.Set("searchRevInclude", *i);
      }
      if (const json::Value* ops = r.Find("operations"); ops != nullptr && ops->is_array()) {
        json::Value list = json::Value::MakeArray();
        for (const json::Value& op : ops->array()) {
          list.Push(op);
        }
        if (doc->Find("systemOperations") != nullptr) {
          for (const json::Value& op : doc->Find("systemOperations")->array()) {
            list.Push(op);
          }
        }
        if (!list.array().empty()) {
          res.Set("operation", std::move(list));
        }
      }
      json::Value params = json::Value::MakeArray();
      auto add_param = [&](std::string name, std::string_view type_name, std::string doc_text) {
        json::Value p = json::Value::MakeObject();
        p.Set("name", json::Value::String(std::move(name)));
        p.Set("type", json::Value::String(std::string(type_name)));
        p.Set("documentation", json::Value::String(std::move(doc_text)));
        params.Push(std::move(p));
      };
      add_param("_id", "token", "Logical id of the resource");
      add_param("_lastUpdated", "date", "When the resource version last changed");
      add_param("_profile", "uri", "Profiles the resource claims to conform to");
      add_param("_tag", "token", "Tags in meta.tag");
      add_param("_security", "token", "Security labels in meta.security");
      for (const SearchParam* p : registry.ForType(type)) {
        if (p->type == ParamType::kComposite || p->type == ParamType::kSpecial) {
          continue;
        }
        add_param(p->name, ParamTypeName(p->type), p->description);
      }
      res.Set("searchParam", std::move(params));
      resources.Push(std::move(res));
    }
  }
  rest.Set("resource", std::move(resources));
  json::Value interactions = json::Value::MakeArray();
  json::Value hs = json::Value::MakeObject();
  hs.Set("code", json::Value::String("history-system"));
  interactions.Push(std::move(hs));
  rest.Set("interaction", std::move(interactions));
  json::Value rests = json::Value::MakeArray();
  rests.Push(std::move(rest));
  cs.Set("rest", std::move(rests));
  return json::Serialize(cs);
}

}  // namespace

FhirApi::FhirApi(store::ResourceStore& store, std::shared_ptr<const SearchParamRegistry> registry,
                 FhirApiOptions options, const base::Clock& clock)
    : store_(store), registry_(std::move(registry)), options_(std::move(options)), clock_(clock) {
  if (options_.paging_secret.empty()) {
    std::random_device rd;
    for (int i = 0; i < 4; ++i) {
      options_.paging_secret += std::to_string(rd());
    }
  }
  capability_ = BuildCapability(*registry_, options_);
  operations_ = std::make_unique<Operations>(store_, registry_, options_.base_url,
                                             options_.max_count, options_.paging_secret, clock_);
}

http::Response FhirApi::Error(int status, std::string_view code, std::string_view diagnostics) {
  return JsonResponse(status, OperationOutcome(status >= 500 ? "fatal" : "error", code, diagnostics));
}

http::Response FhirApi::ErrorFor(const Status& s) {
  int status = HttpStatusFor(s.code());
  std::string msg = status >= 500 && s.code() == StatusCode::kInternal
                        ? "Internal error while processing the request"
                        : s.message();
  return Error(status, IssueTypeFor(s.code()), msg);
}

namespace {

// type?_id=id, one match at most.
SearchQuery IdQuery(const std::string& type, const std::string& id) {
  SearchQuery q;
  q.type = type;
  q.count = 1;
  SearchCondition c;
  c.name = "_id";
  c.special = Special::kId;
  SearchValue v;
  v.raw = id;
  c.values.push_back(v);
  q.conditions.push_back(std::move(c));
  return q;
}

}  // namespace

StatusOr<bool> FhirApi::Visible(const std::string& type, const std::string& id,
                                const AccessScope& scope) {
  if (scope.unrestricted && scope.granular.empty()) {
    return true;
  }
  ASSIGN_OR_RETURN(store::SearchPage page, store_.Search(IdQuery(type, id), scope));
  return !page.matches.empty();
}

StatusOr<std::optional<store::StoredResource>> FhirApi::ReadVisible(const std::string& type,
                                                                    const std::string& id,
                                                                    const AccessScope& scope) {
  if (scope.unrestricted && scope.granular.empty()) {
    return store_.Read(type, id);
  }
  // The scope's own search for the id: it yields the resource only when the token may see it,
  // in one query instead of a read and a visibility check.
  ASSIGN_OR_RETURN(store::SearchPage page, store_.Search(IdQuery(type, id), scope));
  if (!page.matches.empty()) {
    return std::optional<store::StoredResource>(std::move(page.matches.front()));
  }
  // Not visible, not there, or deleted. Only an unrestricted caller (here: one narrowed by
  // granular scopes) learns that a resource was deleted; the caller answers 404 for the rest.
  if (scope.unrestricted) {
    ASSIGN_OR_RETURN(std::optional<store::StoredResource> current, store_.Read(type, id));
    if (current.has_value() && current->deleted) {
      return current;
    }
  }
  return std::optional<store::StoredResource>();
}

http::Response FhirApi::Handle(const http::Request& req, std::string_view path,
                               const AccessScope& scope) {
  std::vector<std::string> seg = SplitPath(path);
  QueryPairs pairs;
  if (!http::ParseFormEncoded(req.query, pairs)) {
    return Error(400, "invalid", "Malformed percent-encoding in the query string");
  }
  const bool is_get = req.method == "GET" || req.method == "HEAD";
  if (WantsUnsupportedFormat(req, pairs)) {
    return Error(406, "not-supported",
                 "Only JSON is supported (application/fhir+json); use _format=json");
  }
  if (seg.empty()) {
    return Error(is_get ? 404 : 405, "not-supported",
                 is_get ? "No interaction at the FHIR base; try /metadata"
                        : "Batch and transaction are not supported by this read-only API");
  }
  if (seg.size() == 1 && seg[0] == "metadata") {
    if (!is_get) {
      return Error(405, "not-supported", "metadata supports GET only");
    }
    http::Response r = JsonResponse(200, capability_);
    r.SetHeader("ETag", "W/\"" + base::Sha256Hex(capability_).substr(0, 16) + "\"");
    return r;
  }
  if (seg.size() == 1 && seg[0] == "_history") {
    if (!is_get) {
      return Error(405, "not-supported", "history supports GET only");
    }
    return History(req, "", "", scope);
  }
  const std::string& type = seg[0];
  if (!registry_->IsResourceType(type)) {
    return Error(404, "not-supported", "Unknown resource type '" + type + "'");
  }
  // Operations: [type]/$name and [type]/[id]/$name.
  if ((seg.size() == 2 && !seg[1].empty() && seg[1][0] == '$') ||
      (seg.size() == 3 && !seg[2].empty() && seg[2][0] == '$')) {
    return operations_->Handle(req, type, seg.size() == 3 ? seg[1] : "", seg.back(), pairs,
                               scope);
  }
  // Search via POST [type]/_search with a form body.
  if (seg.size() == 2 && seg[1] == "_search") {
    if (req.method != "POST") {
      return Error(405, "not-supported", "Use POST for [type]/_search, or GET [type]?...");
    }
    std::string_view ct = req.Header("content-type");
    if (!base::StartsWith(base::ToLowerAscii(ct), "application/x-www-form-urlencoded")) {
      return Error(415, "not-supported",
                   "POST _search requires Content-Type application/x-www-form-urlencoded");
    }
    QueryPairs body_pairs = pairs;
    if (!http::ParseFormEncoded(req.body, body_pairs)) {
      return Error(400, "invalid", "Malformed percent-encoding in the form body");
    }
    return Search(req, type, body_pairs, scope);
  }
  if (!is_get) {
    return Error(405, "not-supported",
                 "This Patient Access API is read-only: " + req.method + " is not allowed");
  }
  if (seg.size() == 1) {
    return Search(req, type, pairs, scope);
  }
  if (seg.size() == 2 && seg[1] == "_history") {
    return History(req, type, "", scope);
  }
  const std::string& id = seg[1];
  if (!IsValidId(id)) {
    return Error(400, "invalid", "'" + id + "' is not a valid resource id");
  }
  if (seg.size() == 2) {
    return Read(req, type, id, scope);
  }
  if (seg.size() == 3 && seg[2] == "_history") {
    return History(req, type, id, scope);
  }
  if (seg.size() == 4 && seg[2] == "_history") {
    return VRead(req, type, id, seg[3], scope);
  }
  return Error(404, "not-supported", "Unknown path");
}

namespace {

const std::vector<std::string>* ElementsParam(const QueryPairs& pairs,
                                              std::vector<std::string>& storage,
                                              SummaryMode& summary) {
  bool any = false;
  for (const auto& [k, v] : pairs) {
    if (k == "_elements") {
      for (std::string_view e : base::Split(v, ',')) {
        e = base::Trim(e);
        if (!e.empty()) {
          storage.emplace_back(e);
        }
      }
      any = true;
    } else if (k == "_summary") {
      if (v == "true") {
        summary = SummaryMode::kTrue;
      } else if (v == "text") {
        summary = SummaryMode::kText;
      } else if (v == "data") {
        summary = SummaryMode::kData;
      }
      any = true;
    }
  }
  return any ? &storage : nullptr;
}

}  // namespace

http::Response FhirApi::Read(const http::Request& req, const std::string& type,
                             const std::string& id, const AccessScope& scope) {
  auto res = ReadVisible(type, id, scope);
  if (!res.ok()) {
    return ErrorFor(res.status());
  }
  if (!res->has_value()) {
    return Error(404, "not-found", type + "/" + id + " is not known");
  }
  store::StoredResource& r = **res;
  if (r.deleted) {
    if (!scope.unrestricted) {
      return Error(404, "not-found", type + "/" + id + " is not known");
    }
    http::Response gone = Error(410, "deleted", type + "/" + id + " has been deleted");
    gone.SetHeader("ETag", ETag(r.version));
    return gone;
  }
  std::string etag = ETag(r.version);
  std::string_view inm = req.Header("if-none-match");
  if (!inm.empty() && (inm == etag || inm == "\"" + std::to_string(r.version) + "\"" ||
                       inm == "*")) {
    http::Response nm;
    nm.status = 304;
    nm.SetHeader("ETag", etag);
    return nm;
  }
  if (std::string_view ims = req.Header("if-modified-since"); !ims.empty()) {
    auto t = base::ParseHttpDate(ims);
    if (t && r.last_updated / 1000 <= *t / 1000) {
      http::Response nm;
      nm.status = 304;
      nm.SetHeader("ETag", etag);
      return nm;
    }
  }
  QueryPairs pairs;
  (void)http::ParseFormEncoded(req.query, pairs);
  std::vector<std::string> elements;
  SummaryMode summary = SummaryMode::kNone;
  http::Response resp;
  if (ElementsParam(pairs, elements, summary) != nullptr) {
    resp = JsonResponse(200, ApplySubset(r.body, summary, elements));
  } else {
    // The body moves from the row into the response: no copy of it on a plain read.
    resp = JsonResponse(200, std::move(r.body));
  }
  resp.SetHeader("ETag", etag);
  resp.SetHeader("Last-Modified", base::FormatHttpDate(r.last_updated));
  return resp;
}

http::Response FhirApi::VRead(const http::Request& req, const std::string& type,
                              const std::string& id, const std::string& vid,
                              const AccessScope& scope) {
  (void)req;
  auto v = base::ParseInt(vid);
  if (!v || *v < 1) {
    return Error(400, "invalid", "'" + vid + "' is not a valid version id");
  }
  auto visible = Visible(type, id, scope);
  if (!visible.ok()) {
    return ErrorFor(visible.status());
  }
  if (!*visible) {
    return Error(404, "not-found", type + "/" + id + " is not known");
  }
  auto res = store_.ReadVersion(type, id, *v);
  if (!res.ok()) {
    return ErrorFor(res.status());
  }
  if (!res->has_value()) {
    return Error(404, "not-found", type + "/" + id + " has no version " + vid);
  }
  const store::StoredResource& r = **res;
  if (r.deleted) {
    return Error(410, "deleted", type + "/" + id + " version " + vid + " is a deletion");
  }
  http::Response resp = JsonResponse(200, r.body);
  resp.SetHeader("ETag", ETag(r.version));
  resp.SetHeader("Last-Modified", base::FormatHttpDate(r.last_updated));
  return resp;
}

http::Response FhirApi::History(const http::Request& req, const std::string& type,
                                const std::string& id, const AccessScope& scope) {
  QueryPairs pairs;
  (void)http::ParseFormEncoded(req.query, pairs);
  store::HistoryQuery q;
  q.type = type;
  q.id = id;
  q.count = options_.default_count;
  std::string canonical;
  for (const auto& [k, v] : pairs) {
    if (k == "_count") {
      auto n = base::ParseInt(v);
      if (!n || *n < 1) {
        return Error(400, "invalid", "_count must be a positive integer");
      }
      q.count = static_cast<int>(std::min<int64_t>(*n, options_.max_count));
    } else if (k == "_since" || k == "_at") {
      auto r = base::ParseFhirDateRange(v);
      if (!r) {
        return Error(400, "invalid", k + " must be a FHIR instant");
      }
      if (k == "_since") {
        q.since = r->low;
      } else {
        q.at = r->high - 1;
      }
      canonical += "&" + k + "=" + base::PercentEncode(v);
    } else if (k == "_offset") {
      auto n = base::ParseInt(v);
      if (!n || *n < 0) {
        return Error(400, "invalid", "_offset must be a non-negative integer");
      }
      q.offset = static_cast<int>(*n);
    }
  }
  if (!scope.unrestricted) {
    if (id.empty()) {
      // Type and system history would cross patients; a patient-scoped caller reads history
      // per instance.
      return Error(403, "forbidden",
                   "Type and system history are not available with a patient-scoped token");
    }
    auto visible = Visible(type, id, scope);
    if (!visible.ok()) {
      return ErrorFor(visible.status());
    }
    if (!*visible) {
      return Error(404, "not-found", type + "/" + id + " is not known");
    }
  }
  if (!id.empty()) {
    auto cur = store_.Read(type, id);
    if (!cur.ok()) {
      return ErrorFor(cur.status());
    }
    if (!cur->has_value()) {
      return Error(404, "not-found", type + "/" + id + " is not known");
    }
  }
  q.count += 1;
  auto rows = store_.History(q);
  if (!rows.ok()) {
    return ErrorFor(rows.status());
  }
  q.count -= 1;
  bool more = static_cast<int>(rows->size()) > q.count;
  if (more) {
    rows->resize(q.count);
  }
  std::string self_path = options_.base_url + (type.empty() ? "" : "/" + type) +
                          (id.empty() ? "" : "/" + id) + "/_history";
  std::string out = "{\"resourceType\":\"Bundle\",\"id\":\"" + NewUuid() +
                    "\",\"type\":\"history\",\"link\":[{\"relation\":\"self\",\"url\":";
  json::AppendQuoted(self_path + "?_count=" + std::to_string(q.count) + canonical +
                         (q.offset > 0 ? "&_offset=" + std::to_string(q.offset) : ""),
                     out);
  out += "}";
  if (more) {
    out += ",{\"relation\":\"next\",\"url\":";
    json::AppendQuoted(self_path + "?_count=" + std::to_string(q.count) + canonical +
                           "&_offset=" + std::to_string(q.offset + q.count),
                       out);
    out += "}";
  }
  out += "],\"entry\":[";
  bool first = true;
  for (const store::StoredResource& r : *rows) {
    out += first ? "{" : ",{";
    first = false;
    out += "\"fullUrl\":";
    json::AppendQuoted(options_.base_url + "/" + r.type + "/" + r.id, out);
    if (!r.deleted) {
      out += ",\"resource\":";
      out += r.body;
    }
    out += ",\"request\":{\"method\":\"";
    out += r.deleted ? "DELETE" : (r.version == 1 ? "POST" : "PUT");
    out += "\",\"url\":";
    json::AppendQuoted(r.version == 1 && !r.deleted ? r.type : r.type + "/" + r.id, out);
    out += "},\"response\":{\"status\":\"";
    out += r.deleted ? "204" : (r.version == 1 ? "201" : "200");
    out += "\",\"etag\":";
    json::AppendQuoted(ETag(r.version), out);
    out += ",\"lastModified\":";
    json::AppendQuoted(base::FormatInstant(r.last_updated), out);
    out += "}}";
  }
  out += "]}";
  return JsonResponse(200, std::move(out));
}

std::string FhirApi::SignCursor(const std::string& canonical, const std::string& position) const {
  return position + "." +
         base::HmacSha256Hex(options_.paging_secret, canonical + "#" + position).substr(0, 24);
}

http::Response FhirApi::Search(const http::Request& req, const std::string& type,
                               const QueryPairs& pairs, const AccessScope& scope) {
  SearchOptions so;
  so.default_count = options_.default_count;
  so.max_count = options_.max_count;
  so.base_url = options_.base_url;
  std::string_view prefer = req.Header("prefer");
  so.strict = prefer.find("handling=strict") != std::string_view::npos;
  auto parsed = ParseSearch(*registry_, type, pairs, so);
  if (!parsed.ok()) {
    return ErrorFor(parsed.status());
  }
  SearchQuery& q = parsed->query;
  if (!parsed->cursor.empty()) {
    // "<position>.<mac>": the position is bound to the canonical query by an HMAC, so a client
    // cannot move the cursor into another query (or widen this one).
    size_t dot = parsed->cursor.rfind('.');
    std::string position = parsed->cursor.substr(0, dot == std::string::npos ? 0 : dot);
    if (dot == std::string::npos || position.empty() ||
        SignCursor(q.canonical, position) != parsed->cursor) {
      return Error(400, "invalid",
                   "The paging cursor does not belong to this query; start the search again");
    }
    if (!DecodeCursor(position, q.sort.size(), q.cursor)) {
      return Error(400, "invalid", "Malformed paging cursor");
    }
  }
  if (q.total == TotalMode::kNone && parsed->cursor.empty() && q.offset == 0) {
    bool explicit_none = false;
    for (const auto& [k, v] : pairs) {
      explicit_none = explicit_none || (k == "_total" && v == "none");
    }
    if (!explicit_none) {
      q.total = TotalMode::kAccurate;
    }
  }
  auto page = store_.Search(q, scope);
  if (!page.ok()) {
    return ErrorFor(page.status());
  }
  std::string self_base = options_.base_url + "/" + type;
  std::string out = "{\"resourceType\":\"Bundle\",\"id\":\"" + NewUuid() +
                    "\",\"meta\":{\"lastUpdated\":\"" + base::FormatInstant(clock_.NowMillis()) +
                    "\"},\"type\":\"searchset\"";
  if (page->total) {
    out += ",\"total\":" + std::to_string(*page->total);
  }
  out += ",\"link\":[{\"relation\":\"self\",\"url\":";
  std::string self = self_base + (q.canonical.empty() ? "" : "?" + q.canonical);
  if (!parsed->cursor.empty()) {
    self += (q.canonical.empty() ? "?" : "&") + std::string("_cursor=") +
            base::PercentEncode(parsed->cursor);
  }
  json::AppendQuoted(self, out);
  out += "}";
  auto link = [&](const char* relation, const std::string& url) {
    out += ",{\"relation\":\"";
    out += relation;
    out += "\",\"url\":";
    json::AppendQuoted(url, out);
    out += "}";
  };
  auto page_url = [&](bool backward, int64_t seq, const std::vector<SortValue>& key) {
    PageCursor c;
    c.active = true;
    c.backward = backward;
    c.seq = seq;
    c.values = key;
    std::string position = EncodeCursor(c);
    return self_base + "?" + q.canonical + (q.canonical.empty() ? "" : "&") +
           "_cursor=" + base::PercentEncode(SignCursor(q.canonical, position));
  };
  const bool paged = q.summary != SummaryMode::kCount;
  if (paged && (page->has_before || page->has_more || !parsed->cursor.empty())) {
    link("first", self_base + (q.canonical.empty() ? "" : "?" + q.canonical));
  }
  if (paged && page->has_before && !page->matches.empty()) {
    link("previous", page_url(true, page->first_seq, page->first_key));
  }
  if (paged && page->has_more && !page->matches.empty()) {
    link("next", page_url(false, page->last_seq, page->last_key));
  }
  out += "]";
  if (q.summary != SummaryMode::kCount) {
    // One allocation for the whole page (50 claims are a few hundred KiB).
    size_t need = out.size() + 64;
    for (const auto* list : {&page->matches, &page->includes}) {
      for (const store::StoredResource& r : *list) {
        need += r.body.size() + r.type.size() + r.id.size() + options_.base_url.size() + 64;
      }
    }
    out.reserve(need);
    out += ",\"entry\":[";
    bool first = true;
    bool subset = !q.elements.empty() || q.summary == SummaryMode::kTrue ||
                  q.summary == SummaryMode::kText || q.summary == SummaryMode::kData;
    auto add = [&](const store::StoredResource& r, const char* mode) {
      out += first ? "{" : ",{";
      first = false;
      out += "\"fullUrl\":";
      json::AppendQuoted(options_.base_url + "/" + r.type + "/" + r.id, out);
      out += ",\"resource\":";
      // Appended in place: a conditional expression here would copy the body into a temporary.
      if (subset && std::string_view(mode) == "match") {
        out += ApplySubset(r.body, q.summary, q.elements);
      } else {
        out += r.body;
      }
      out += ",\"search\":{\"mode\":\"";
      out += mode;
      out += "\"}}";
    };
    for (const store::StoredResource& r : page->matches) {
      add(r, "match");
    }
    for (const store::StoredResource& r : page->includes) {
      add(r, "include");
    }
    if (!parsed->ignored.empty()) {
      out += first ? "{" : ",{";
      first = false;
      out += "\"resource\":";
      out += OperationOutcome("warning", "not-supported",
                              "Ignored unknown or unsupported parameters: " +
                                  base::Join(parsed->ignored, ", "));
      out += ",\"search\":{\"mode\":\"outcome\"}}";
    }
    out += "]";
  }
  out += "}";
  return JsonResponse(200, std::move(out));
}

namespace {

// The element model for _summary=true (loaded once; null if the built-in data fails to load,
// in which case a conservative rule applies).
const ElementModel* SummaryModel() {
  static const std::shared_ptr<const ElementModel> model = [] {
    auto m = ElementModel::LoadBuiltin();
    return m.ok() ? *m : nullptr;
  }();
  return model.get();
}

// Whether JSON member `key` is the element `name` of _elements: the name itself, a choice
// spelling (value -> valueQuantity) or the primitive extension sibling (_birthDate).
bool MatchesElement(std::string_view key, std::string_view name) {
  if (!key.empty() && key[0] == '_') {
    key.remove_prefix(1);
  }
  if (key == name) {
    return true;
  }
  return key.size() > name.size() && base::StartsWith(key, name) &&
         std::isupper(static_cast<unsigned char>(key[name.size()]));
}

}  // namespace

std::string ApplySubset(const std::string& body, SummaryMode summary,
                        const std::vector<std::string>& elements) {
  auto parsed = json::Parse(body);
  if (!parsed.ok() || !parsed->is_object()) {
    return body;
  }
  json::Value& v = *parsed;
  const std::string type(v.GetString("resourceType"));
  const ElementModel* model = SummaryModel();
  json::Value out = json::Value::MakeObject();
  auto mandatory = [](const std::string& k) {
    return k == "resourceType" || k == "id" || k == "meta";
  };
  for (auto& m : v.object()) {
    bool keep = false;
    if (mandatory(m.key)) {
      keep = true;
    } else if (!elements.empty()) {
      keep = std::any_of(elements.begin(), elements.end(),
                         [&](const std::string& e) { return MatchesElement(m.key, e); });
    } else if (summary == SummaryMode::kText) {
      keep = m.key == "text";
    } else if (summary == SummaryMode::kData) {
      keep = m.key != "text";
    } else if (summary == SummaryMode::kTrue) {
      keep = model != nullptr ? model->IsSummaryKey(type, m.key)
                              : m.key != "text" && m.key != "contained" &&
                                    m.key != "extension" && m.key != "modifierExtension";
    } else {
      keep = true;
    }
    if (keep) {
      out.object().push_back(std::move(m));
    }
  }
  json::Value* meta = out.Find("meta");
  if (meta == nullptr) {
    meta = &out.Set("meta", json::Value::MakeObject());
  }
  json::Value* tags = meta->Find("tag");
  if (tags == nullptr || !tags->is_array()) {
    tags = &meta->Set("tag", json::Value::MakeArray());
  }
  json::Value tag = json::Value::MakeObject();
  tag.Set("system", json::Value::String("http://terminology.hl7.org/CodeSystem/v3-ObservationValue"));
  tag.Set("code", json::Value::String("SUBSETTED"));
  tag.Set("display", json::Value::String("subsetted"));
  tags->Push(std::move(tag));
  return json::Serialize(out);
}

}  // namespace portico::fhir

#include "src/fhir/rest/operations.h"

#include <algorithm>
#include <random>
#include <set>

#include "src/base/digest.h"
#include "src/base/strings.h"
#include "src/fhir/model/outcome.h"
#include "src/fhir/model/profile_checker.h"
#include "src/fhir/model/resource.h"
#include "src/fhir/model/validator.h"
#include "src/fhir/rest/responses.h"
#include "src/json/json.h"
#include "src/store/sql/search_sql.h"

namespace portico::fhir {

namespace {

std::string Uuid() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return base::Sha256Hex(std::to_string(rng())).substr(0, 32);
}

std::string Get(const QueryPairs& q, std::string_view key) {
  for (const auto& [k, v] : q) {
    if (k == key) {
      return v;
    }
  }
  return {};
}

// The Parameters body of a POST operation: a JSON object of resourceType Parameters.
StatusOr<json::Value> ParametersBody(const http::Request& req) {
  std::string ct = base::ToLowerAscii(req.Header("content-type"));
  if (!base::StartsWith(ct, "application/fhir+json") && !base::StartsWith(ct, "application/json")) {
    return Status(StatusCode::kInvalidArgument,
                  "the body must be FHIR JSON (Content-Type application/fhir+json)");
  }
  return json::Parse(req.body);
}

bool SameText(std::string_view a, std::string_view b) {
  return base::NormalizeForSearch(base::Trim(a)) == base::NormalizeForSearch(base::Trim(b));
}

// Demographics of `candidate` agree with what the requesting payer sent.
bool DemographicsMatch(const json::Value& sent, const json::Value& candidate) {
  std::string_view birth = sent.GetString("birthDate");
  if (birth.empty() || birth != candidate.GetString("birthDate")) {
    return false;
  }
  std::string_view gender = sent.GetString("gender");
  if (!gender.empty() && !candidate.GetString("gender").empty() &&
      gender != candidate.GetString("gender")) {
    return false;
  }
  const json::Value* sent_names = sent.Find("name");
  const json::Value* names = candidate.Find("name");
  if (sent_names == nullptr || !sent_names->is_array() || names == nullptr || !names->is_array()) {
    return false;
  }
  for (const json::Value& sn : sent_names->array()) {
    for (const json::Value& n : names->array()) {
      if (!sn.GetString("family").empty() &&
          SameText(sn.GetString("family"), n.GetString("family"))) {
        const json::Value* sg = sn.Find("given");
        const json::Value* g = n.Find("given");
        if (sg == nullptr || !sg->is_array() || sg->array().empty() || g == nullptr ||
            !g->is_array() || g->array().empty()) {
          return true;
        }
        if (SameText(sg->array()[0].str(), g->array()[0].str())) {
          return true;
        }
      }
    }
  }
  return false;
}

SearchQuery QueryOf(const SearchParamRegistry& registry, const std::string& type,
                    const QueryPairs& pairs, int count, const std::string& base_url,
                    Status& status) {
  SearchOptions so;
  so.base_url = base_url;
  so.max_count = count;
  so.default_count = count;
  auto parsed = ParseSearch(registry, type, pairs, so);
  if (!parsed.ok()) {
    status = parsed.status();
    return {};
  }
  return std::move(parsed->query);
}

void AddEntry(std::string& out, bool& first, const std::string& base_url,
              const store::StoredResource& r, const char* mode) {
  out += first ? "{" : ",{";
  first = false;
  out += "\"fullUrl\":";
  json::AppendQuoted(base_url + "/" + r.type + "/" + r.id, out);
  out += ",\"resource\":";
  out += r.body;
  out += ",\"search\":{\"mode\":\"";
  out += mode;
  out += "\"}}";
}

}  // namespace

Operations::Operations(store::ResourceStore& store,
                       std::shared_ptr<const SearchParamRegistry> registry, std::string base_url,
                       int max_count, std::string paging_secret, const base::Clock& clock)
    : store_(store),
      registry_(std::move(registry)),
      base_url_(std::move(base_url)),
      max_count_(max_count),
      paging_secret_(std::move(paging_secret)),
      clock_(clock) {}

http::Response Operations::Handle(const http::Request& req, const std::string& type,
                                  const std::string& id, const std::string& name,
                                  const QueryPairs& query, const AccessScope& scope) {
  bool get = req.method == "GET" || req.method == "HEAD";
  if (name == "$member-match" && type == "Patient" && id.empty()) {
    if (req.method != "POST") {
      return FhirErrorResponse(405, "not-supported", "$member-match is invoked with POST");
    }
    return MemberMatch(req, scope);
  }
  if (name == "$everything" && type == "Patient" && !id.empty()) {
    if (!get) {
      return FhirErrorResponse(405, "not-supported", "$everything is invoked with GET");
    }
    return Everything(req, id, query, scope);
  }
  if (name == "$docref" && type == "DocumentReference" && id.empty()) {
    if (get) {
      return DocRef(query, scope);
    }
    if (req.method == "POST") {
      // Parameters in a form body are accepted like the query string.
      QueryPairs pairs = query;
      if (!http::ParseFormEncoded(req.body, pairs)) {
        return FhirErrorResponse(400, "invalid", "malformed form body");
      }
      return DocRef(pairs, scope);
    }
    return FhirErrorResponse(405, "not-supported", "$docref is invoked with GET or POST");
  }
  if (name == "$validate" && id.empty()) {
    if (req.method != "POST") {
      return FhirErrorResponse(405, "not-supported", "$validate is invoked with POST");
    }
    return Validate(req, type, query);
  }
  return FhirErrorResponse(
      404, "not-supported",
      "Operation " + name + " is not supported on " + type + (id.empty() ? "" : "/[id]"));
}

http::Response Operations::MemberMatch(const http::Request& req, const AccessScope& scope) {
  if (!scope.unrestricted) {
    return FhirErrorResponse(403, "forbidden",
                             "$member-match is for payer systems: it needs a system/ scoped token");
  }
  auto body = ParametersBody(req);
  if (!body.ok()) {
    return FhirErrorResponse(400, "invalid", body.status().message());
  }
  if (!body->is_object() || body->GetString("resourceType") != "Parameters") {
    return FhirErrorResponse(400, "invalid", "the body must be a Parameters resource");
  }
  const json::Value* params = body->Find("parameter");
  if (params == nullptr || !params->is_array()) {
    return FhirErrorResponse(400, "invalid", "Parameters.parameter is missing");
  }
  const json::Value* patient = nullptr;
  const json::Value* old_coverage = nullptr;
  const json::Value* new_coverage = nullptr;
  for (const json::Value& p : params->array()) {
    std::string_view n = p.GetString("name");
    const json::Value* res = p.Find("resource");
    const json::Value** slot = nullptr;
    std::string_view expected;
    if (n == "MemberPatient") {
      slot = &patient;
      expected = "Patient";
    } else if (n == "OldCoverage") {
      slot = &old_coverage;
      expected = "Coverage";
    } else if (n == "NewCoverage") {
      slot = &new_coverage;
      expected = "Coverage";
    } else {
      return FhirErrorResponse(
          400, "invalid",
          "unknown parameter '" + std::string(n) +
              "' (HRex 0.2.0 defines MemberPatient, OldCoverage and NewCoverage)");
    }
    if (*slot != nullptr) {
      return FhirErrorResponse(400, "invalid", "parameter " + std::string(n) + " is repeated");
    }
    if (res == nullptr || res->GetString("resourceType") != expected) {
      return FhirErrorResponse(
          400, "invalid", "parameter " + std::string(n) + " must carry a " + std::string(expected));
    }
    *slot = res;
  }
  if (patient == nullptr || old_coverage == nullptr || new_coverage == nullptr) {
    return FhirErrorResponse(400, "required",
                             "MemberPatient, OldCoverage and NewCoverage are all required");
  }
  // Candidates: our Coverages carrying an identifier the old coverage names, else a demographic
  // search. Every candidate must then agree on the demographics.
  std::set<std::string> candidates;
  AccessScope all;
  Status status;
  if (const json::Value* ids = old_coverage->Find("identifier");
      ids != nullptr && ids->is_array()) {
    for (const json::Value& ident : ids->array()) {
      std::string value(ident.GetString("value"));
      if (value.empty()) {
        continue;
      }
      std::string system(ident.GetString("system"));
      SearchQuery q = QueryOf(*registry_, "Coverage",
                              {{"identifier", system.empty() ? value : system + "|" + value}}, 50,
                              base_url_, status);
      if (!status.ok()) {
        return FhirErrorResponse(400, "invalid", status.message());
      }
      auto page = store_.Search(q, all);
      if (!page.ok()) {
        return FhirErrorResponse(500, "exception", "search failed");
      }
      for (const auto& r : page->matches) {
        auto cov = json::Parse(r.body);
        if (!cov.ok()) {
          continue;
        }
        std::string t;
        std::string pid;
        if (const json::Value* b = cov->Find("beneficiary");
            b != nullptr && SplitReference(b->GetString("reference"), t, pid) && t == "Patient") {
          candidates.insert(pid);
        }
      }
    }
  }
  if (candidates.empty()) {
    std::string family;
    if (const json::Value* names = patient->Find("name");
        names != nullptr && names->is_array() && !names->array().empty()) {
      family = std::string(names->array()[0].GetString("family"));
    }
    std::string birth(patient->GetString("birthDate"));
    if (family.empty() || birth.empty()) {
      return FhirErrorResponse(
          422, "processing",
          "no member matched: MemberPatient needs at least family name and birthDate");
    }
    SearchQuery q = QueryOf(*registry_, "Patient", {{"family", family}, {"birthdate", birth}}, 50,
                            base_url_, status);
    if (!status.ok()) {
      return FhirErrorResponse(400, "invalid", status.message());
    }
    auto page = store_.Search(q, all);
    if (!page.ok()) {
      return FhirErrorResponse(500, "exception", "search failed");
    }
    for (const auto& r : page->matches) {
      candidates.insert(r.id);
    }
  }
  std::vector<json::Value> matched;
  for (const std::string& pid : candidates) {
    auto r = store_.Read("Patient", pid);
    if (!r.ok() || !r->has_value() || (*r)->deleted) {
      continue;
    }
    auto v = json::Parse((*r)->body);
    if (v.ok() && DemographicsMatch(*patient, *v)) {
      matched.push_back(std::move(*v));
    }
  }
  if (matched.empty()) {
    return FhirErrorResponse(422, "processing",
                             "no member matched the demographics and coverage given");
  }
  if (matched.size() > 1) {
    return FhirErrorResponse(
        422, "multiple-matches",
        "more than one member matched; the request must identify the member uniquely");
  }
  const json::Value& m = matched[0];
  json::Value identifier;
  if (const json::Value* ids = m.Find("identifier"); ids != nullptr && ids->is_array()) {
    for (const json::Value& ident : ids->array()) {
      if (json::Serialize(ident).find("\"code\":\"MB\"") != std::string::npos) {
        identifier = ident;
        break;
      }
    }
    if (identifier.is_null() && !ids->array().empty()) {
      identifier = ids->array()[0];
    }
  }
  if (identifier.is_null()) {
    auto ident = json::Parse(
        R"({"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MB"}]}})");
    identifier = std::move(*ident);
    identifier.Set("system", json::Value::String(base_url_ + "/Patient"));
    identifier.Set("value", json::Value::String(std::string(m.GetString("id"))));
  }
  std::string out =
      "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"MemberIdentifier\","
      "\"valueIdentifier\":" +
      json::Serialize(identifier) + "}]}";
  return FhirJsonResponse(200, std::move(out));
}

http::Response Operations::Everything(const http::Request& req, const std::string& id,
                                      const QueryPairs& query, const AccessScope& scope) {
  (void)req;
  if (!IsValidId(id)) {
    return FhirErrorResponse(400, "invalid", "'" + id + "' is not a valid id");
  }
  if (!scope.unrestricted && std::find(scope.patient_ids.begin(), scope.patient_ids.end(), id) ==
                                 scope.patient_ids.end()) {
    return FhirErrorResponse(404, "not-found", "Patient/" + id + " is not known");
  }
  auto patient = store_.Read("Patient", id);
  if (!patient.ok()) {
    return FhirErrorResponse(500, "exception", "read failed");
  }
  if (!patient->has_value() || (*patient)->deleted) {
    return FhirErrorResponse(404, "not-found", "Patient/" + id + " is not known");
  }
  AccessScope s;
  s.unrestricted = false;
  s.patient_ids = {id};
  s.allowed_types = scope.allowed_types;
  // Types: the patient first, then every compartment type, then shared types it references.
  std::vector<std::string> types = {"Patient"};
  for (const std::string& t : registry_->resource_types()) {
    if (t != "Patient" &&
        (registry_->InPatientCompartment(t) || store::sql::SqlBuilder::IsReferencedSharedType(t))) {
      types.push_back(t);
    }
  }
  std::string type_filter = Get(query, "_type");
  if (!type_filter.empty()) {
    std::set<std::string> wanted;
    for (std::string_view t : base::Split(type_filter, ',')) {
      wanted.insert(std::string(base::Trim(t)));
    }
    types.erase(std::remove_if(types.begin(), types.end(),
                               [&](const std::string& t) { return !wanted.count(t); }),
                types.end());
  }
  int count = 50;
  if (std::string c = Get(query, "_count"); !c.empty()) {
    auto n = base::ParseInt(c);
    if (!n || *n < 1) {
      return FhirErrorResponse(400, "invalid", "_count must be a positive integer");
    }
    count = static_cast<int>(std::min<int64_t>(*n, max_count_));
  }
  std::string canonical = "_count=" + std::to_string(count) +
                          (type_filter.empty() ? "" : "&_type=" + base::PercentEncode(type_filter));
  size_t type_index = 0;
  int64_t after = -1;
  if (std::string cursor = Get(query, "_cursor"); !cursor.empty()) {
    std::vector<std::string_view> parts = base::Split(cursor, '.');
    std::string position =
        parts.size() == 3 ? std::string(parts[0]) + "." + std::string(parts[1]) : "";
    std::string sig =
        base::HmacSha256Hex(paging_secret_, "everything#" + id + "#" + canonical + "#" + position)
            .substr(0, 24);
    auto ti = parts.size() == 3 ? base::ParseInt(parts[0]) : std::nullopt;
    auto af = parts.size() == 3 ? base::ParseInt(parts[1]) : std::nullopt;
    if (!ti || !af || *ti < 0 || static_cast<size_t>(*ti) >= types.size() || parts[2] != sig) {
      return FhirErrorResponse(400, "invalid", "The paging cursor does not belong to this request");
    }
    type_index = static_cast<size_t>(*ti);
    after = *af;
  }
  std::vector<store::StoredResource> found;
  std::string next_position;
  while (type_index < types.size() && static_cast<int>(found.size()) < count) {
    SearchQuery q;
    q.type = types[type_index];
    q.count = count - static_cast<int>(found.size());
    q.after_seq = after;
    auto page = store_.Search(q, s);
    if (!page.ok()) {
      return FhirErrorResponse(500, "exception", "search failed");
    }
    for (auto& r : page->matches) {
      found.push_back(std::move(r));
    }
    if (page->has_more) {
      next_position = std::to_string(type_index) + "." + std::to_string(page->last_seq);
      break;
    }
    ++type_index;
    after = -1;
    if (static_cast<int>(found.size()) >= count && type_index < types.size()) {
      next_position = std::to_string(type_index) + ".-1";
    }
  }
  std::string self = base_url_ + "/Patient/" + id + "/$everything?" + canonical;
  std::string out = "{\"resourceType\":\"Bundle\",\"id\":\"" + Uuid() +
                    "\",\"meta\":{\"lastUpdated\":\"" + base::FormatInstant(clock_.NowMillis()) +
                    "\"},\"type\":\"searchset\",\"link\":[{\"relation\":\"self\",\"url\":";
  json::AppendQuoted(self, out);
  out += "}";
  if (!next_position.empty()) {
    std::string sig = base::HmacSha256Hex(paging_secret_, "everything#" + id + "#" + canonical +
                                                              "#" + next_position)
                          .substr(0, 24);
    out += ",{\"relation\":\"next\",\"url\":";
    json::AppendQuoted(self + "&_cursor=" + next_position + "." + sig, out);
    out += "}";
  }
  out += "],\"entry\":[";
  bool first = true;
  for (const auto& r : found) {
    AddEntry(out, first, base_url_, r, "match");
  }
  out += "]}";
  return FhirJsonResponse(200, std::move(out));
}

http::Response Operations::DocRef(const QueryPairs& query, const AccessScope& scope) {
  std::string patient = Get(query, "patient");
  if (patient.empty()) {
    return FhirErrorResponse(400, "required", "$docref needs the patient parameter");
  }
  if (size_t slash = patient.rfind('/'); slash != std::string::npos) {
    patient = patient.substr(slash + 1);
  }
  QueryPairs pairs = {{"patient", patient}, {"_sort", "-date"}};
  if (std::string start = Get(query, "start"); !start.empty()) {
    pairs.emplace_back("period", "ge" + start);
  }
  if (std::string end = Get(query, "end"); !end.empty()) {
    pairs.emplace_back("period", "le" + end);
  }
  if (std::string type = Get(query, "type"); !type.empty()) {
    pairs.emplace_back("type", type);
  }
  if (std::string od = Get(query, "on-demand"); od == "true") {
    return FhirErrorResponse(
        422, "not-supported",
        "on-demand document generation is not supported; existing documents only");
  }
  Status status;
  SearchQuery q = QueryOf(*registry_, "DocumentReference", pairs, max_count_, base_url_, status);
  if (!status.ok()) {
    return FhirErrorResponse(400, "invalid", status.message());
  }
  q.count = max_count_;
  auto page = store_.Search(q, scope);
  if (!page.ok()) {
    return FhirErrorResponse(500, "exception", "search failed");
  }
  std::string out = "{\"resourceType\":\"Bundle\",\"id\":\"" + Uuid() +
                    "\",\"meta\":{\"lastUpdated\":\"" + base::FormatInstant(clock_.NowMillis()) +
                    "\"},\"type\":\"searchset\",\"total\":" + std::to_string(page->matches.size()) +
                    ",\"link\":[{\"relation\":\"self\","
                    "\"url\":";
  json::AppendQuoted(base_url_ + "/DocumentReference/$docref?patient=" + patient, out);
  out += "}],\"entry\":[";
  bool first = true;
  for (const auto& r : page->matches) {
    AddEntry(out, first, base_url_, r, "match");
  }
  out += "]}";
  return FhirJsonResponse(200, std::move(out));
}

http::Response Operations::Validate(const http::Request& req, const std::string& type,
                                    const QueryPairs& query) {
  auto body = ParametersBody(req);
  if (!body.ok()) {
    return FhirErrorResponse(400, "invalid", body.status().message());
  }
  json::Value resource = std::move(*body);
  // The profile to validate against: the `profile` parameter (query or Parameters), else the
  // resource's meta.profile.
  std::string profile_url = Get(query, "profile");
  if (resource.GetString("resourceType") == "Parameters" && type != "Parameters") {
    const json::Value* params = resource.Find("parameter");
    json::Value inner;
    if (params != nullptr && params->is_array()) {
      for (const json::Value& p : params->array()) {
        if (p.GetString("name") == "resource" && p.Find("resource") != nullptr) {
          inner = *p.Find("resource");
        }
        if (p.GetString("name") == "profile") {
          for (std::string_view key : {"valueUri", "valueCanonical", "valueUrl", "valueString"}) {
            if (!p.GetString(key).empty()) {
              profile_url = std::string(p.GetString(key));
            }
          }
        }
      }
    }
    if (inner.is_null()) {
      return FhirErrorResponse(400, "required", "Parameters must carry the resource to validate");
    }
    resource = std::move(inner);
  }
  if (resource.GetString("resourceType") != type) {
    return FhirErrorResponse(
        400, "invalid",
        "the resource is a " + std::string(resource.GetString("resourceType")) + ", not a " + type);
  }
  auto model = ElementModel::LoadBuiltin();
  if (!model.ok()) {
    return FhirErrorResponse(500, "exception", "validator unavailable");
  }
  auto profiles = ProfileRegistry::LoadBuiltin();
  if (!profiles.ok()) {
    return FhirErrorResponse(500, "exception", "profile checker unavailable");
  }
  std::vector<ValidationIssue> issues = ValidateResource(**model, resource, 100);
  size_t structural = issues.size();
  std::vector<ValidationIssue> profile_issues;
  std::string checked;  // what the resource was checked against, for the all-clear message
  if (!profile_url.empty()) {
    const ProfileRegistry::Profile* profile = (*profiles)->Find(profile_url);
    if (profile == nullptr) {
      return FhirErrorResponse(400, "not-supported",
                               "profile " + profile_url + " is not one this server supports");
    }
    if (profile->type != type) {
      return FhirErrorResponse(400, "invalid",
                               "profile " + profile->name + " is a profile of " + profile->type);
    }
    profile_issues = CheckProfile(*profile, resource);
    checked = " and the profile " + profile->url;
  } else {
    profile_issues = CheckProfiles(**profiles, resource);
    const json::Value* meta = resource.Find("meta");
    const json::Value* named = meta != nullptr ? meta->Find("profile") : nullptr;
    if (named != nullptr && named->is_array() && !named->array().empty()) {
      checked = " and the profiles it declares";
    }
  }
  issues.insert(issues.end(), profile_issues.begin(), profile_issues.end());
  std::string out = "{\"resourceType\":\"OperationOutcome\",\"issue\":[";
  if (!HasErrors(issues)) {
    out += "{\"severity\":\"information\",\"code\":\"informational\",\"diagnostics\":";
    json::AppendQuoted("The resource conforms to the FHIR R4 structure of " + type + checked, out);
    out += "}";
  }
  bool first = HasErrors(issues);  // else the information issue above comes first
  for (size_t n = 0; n < issues.size(); ++n) {
    const ValidationIssue& i = issues[n];
    out += first ? "{" : ",{";
    first = false;
    bool warning = i.severity == ValidationIssue::Severity::kWarning;
    std::string_view code = "processing";  // profile conformance
    if (n < structural) {
      code = "structure";
    } else if (warning) {
      code = "informational";
    }
    out += std::string("\"severity\":\"") + (warning ? "warning" : "error") + "\",\"code\":\"" +
           std::string(code) + "\",\"diagnostics\":";
    json::AppendQuoted(i.message, out);
    out += ",\"expression\":[";
    json::AppendQuoted(i.path, out);
    out += "]}";
  }
  out += "]}";
  return FhirJsonResponse(200, std::move(out));
}

}  // namespace portico::fhir

// Composition root of `portico serve`: the only place that picks implementations.
#include <cstdio>

#include "src/app/commands.h"
#include "src/app/stores.h"
#include "src/authz/authorizer.h"
#include "src/authz/token_verifier.h"
#include "src/base/strings.h"
#include "src/fhir/model/outcome.h"
#include "src/fhir/rest/fhir_api.h"
#include "src/fhir/search/registry.h"
#include "src/http/server.h"
#include "src/oauth/authorization_server.h"
#include "src/oauth/key_manager.h"

namespace portico::app {

namespace {

http::Response PlainJson(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.SetHeader("Content-Type", "application/json");
  return r;
}

http::Response Unauthorized(const std::string& reason) {
  http::Response r = fhir::FhirApi::Error(401, "login", reason);
  r.SetHeader("WWW-Authenticate", "Bearer realm=\"portico\", error=\"invalid_token\", "
                                  "error_description=\"" + reason + "\"");
  return r;
}

http::Response Forbidden(const std::string& reason) {
  http::Response r = fhir::FhirApi::Error(403, "forbidden", reason);
  r.SetHeader("WWW-Authenticate", "Bearer realm=\"portico\", error=\"insufficient_scope\"");
  return r;
}

void AddCors(const http::Request& req, http::Response& r) {
  if (!req.Header("origin").empty()) {
    r.SetHeader("Access-Control-Allow-Origin", "*");
    r.SetHeader("Access-Control-Expose-Headers", "ETag, Last-Modified, Location, X-Request-Id");
  }
}

// What a FHIR request does, for authorization.
struct FhirTarget {
  std::string type;
  std::string id;
  bool search = false;  // search or type/system history
  bool known = false;   // a path this API serves
};

FhirTarget Classify(const http::Request& req, std::string_view path) {
  FhirTarget t;
  std::vector<std::string> seg;
  for (std::string_view s : base::Split(path, '/')) {
    if (!s.empty()) {
      seg.emplace_back(s);
    }
  }
  if (seg.empty()) {
    return t;
  }
  t.type = seg[0];
  if (seg.size() == 1 || (seg.size() == 2 && (seg[1] == "_search" || seg[1] == "_history"))) {
    t.search = true;
    t.known = true;
    return t;
  }
  t.id = seg[1];
  t.known = true;
  (void)req;
  return t;
}

}  // namespace

int RunServe(const Config& config) {
  std::string host;
  uint16_t port = 0;
  if (Status s = ParseListen(config.listen, host, port); !s.ok()) {
    std::fprintf(stderr, "portico: %s\n", s.message().c_str());
    return 2;
  }
  const base::Clock& clock = base::SystemClock::Get();
  auto stores = OpenStores(config.db, clock);
  if (!stores.ok()) {
    std::fprintf(stderr, "portico: %s\n", stores.status().message().c_str());
    return 1;
  }
  Stores& st = **stores;
  oauth::KeyManager keys(*st.auth, clock);
  if (Status s = keys.Init(); !s.ok()) {
    std::fprintf(stderr, "portico: signing keys: %s\n", s.message().c_str());
    return 1;
  }

  http::ServerOptions so;
  so.host = host;
  so.port = port;
  so.threads = config.threads;
  so.access_log = config.access_log;
  so.max_body_bytes = static_cast<size_t>(config.max_body_bytes);
  so.header_timeout_seconds = config.header_timeout_seconds;
  so.error_response = [](int status, const std::string& message) {
    return fhir::FhirApi::Error(status, status == 408 ? "timeout" : "too-costly", message);
  };
  std::unique_ptr<fhir::FhirApi> api;
  std::unique_ptr<oauth::AuthorizationServer> as;
  std::unique_ptr<authz::TokenVerifier> verifier;
  std::string base_url = config.base_url;
  std::string fhir_base;
  const fhir::SearchParamRegistry& registry = *st.registry;

  auto handle_fhir = [&](const http::Request& req, std::string_view path) -> http::Response {
    if (path == "/metadata") {
      http::Response r = api->Handle(req, path, fhir::AccessScope{});
      r.SetHeader("Access-Control-Allow-Origin", "*");
      return r;
    }
    std::string_view authz_header = req.Header("authorization");
    if (!base::StartsWith(base::ToLowerAscii(authz_header.substr(0, 7)), "bearer ")) {
      return Unauthorized("a bearer access token is required");
    }
    auto principal = verifier->Verify(base::Trim(authz_header.substr(7)));
    if (!principal.ok()) {
      if (principal.status().code() == StatusCode::kUnavailable) {
        return fhir::FhirApi::Error(503, "transient", "try again later");
      }
      return Unauthorized(principal.status().message());
    }
    FhirTarget target = Classify(req, path);
    if (!target.known || !registry.IsResourceType(target.type)) {
      // Unknown paths and types: the API's own 404/405 answers reveal nothing about data.
      fhir::AccessScope none;
      none.unrestricted = false;
      return api->Handle(req, path, none);
    }
    // The token holder's own fhirUser resource (e.g. a delegate's RelatedPerson) is readable.
    if (!target.search && !principal->fhir_user.empty() &&
        principal->fhir_user == target.type + "/" + target.id && req.method == "GET") {
      return api->Handle(req, path, fhir::AccessScope{});
    }
    auto scope = authz::Authorize(*principal, target.type,
                                  target.search ? authz::Access::kSearch : authz::Access::kRead,
                                  registry, fhir_base);
    if (!scope.ok()) {
      return Forbidden(scope.status().message());
    }
    return api->Handle(req, path, *scope);
  };

  auto handler = [&](const http::Request& req) -> http::Response {
    const std::string& p = req.path;
    if (req.method == "OPTIONS") {
      http::Response r;
      r.status = 204;
      r.SetHeader("Access-Control-Allow-Origin", "*");
      r.SetHeader("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
      r.SetHeader("Access-Control-Allow-Headers",
                  "Authorization, Content-Type, Accept, Prefer, If-None-Match");
      r.SetHeader("Access-Control-Max-Age", "600");
      return r;
    }
    http::Response r;
    if (as->Handles(p)) {
      r = as->Handle(req);
    } else if (p == "/fhir" || base::StartsWith(p, "/fhir/")) {
      r = handle_fhir(req, std::string_view(p).substr(5));
    } else if (p == "/healthz") {
      r = PlainJson(200, "{\"status\":\"ok\"}");
    } else if (p == "/readyz") {
      auto counts = st.resources->CountByType();
      r = counts.ok() ? PlainJson(200, "{\"status\":\"ready\"}")
                      : PlainJson(503, "{\"status\":\"database unavailable\"}");
    } else if (p == "/") {
      r.body = "Portico CMS Patient Access API. FHIR base: " + fhir_base + "\n";
      r.SetHeader("Content-Type", "text/plain; charset=utf-8");
    } else {
      r = fhir::FhirApi::Error(404, "not-found", "No such endpoint: " + req.path);
    }
    AddCors(req, r);
    return r;
  };
  http::Server server(so, handler);
  if (Status s = server.Listen(); !s.ok()) {
    std::fprintf(stderr, "portico: %s\n", s.message().c_str());
    return 1;
  }
  if (base_url.empty()) {
    std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    if (h == "0.0.0.0") {
      h = "127.0.0.1";
    }
    base_url = "http://" + h + ":" + std::to_string(server.port());
  }
  while (!base_url.empty() && base_url.back() == '/') {
    base_url.pop_back();
  }
  if (base::EndsWith(base_url, "/fhir")) {
    base_url.resize(base_url.size() - 5);  // accept the FHIR base itself as --base-url
  }
  fhir_base = base_url + "/fhir";

  oauth::OAuthOptions oo;
  oo.issuer = base_url;
  oo.fhir_base = fhir_base;
  oo.secure_cookies = base::StartsWith(base_url, "https://");
  oo.access_token_seconds = config.access_token_seconds;
  oo.code_seconds = config.code_seconds;
  oo.refresh_days = config.refresh_days;
  store::ResourceStore& resources = *st.resources;
  auto labeler = [&resources](const std::string& patient_id) -> std::string {
    return PatientLabel(resources, patient_id);
  };
  as = std::make_unique<oauth::AuthorizationServer>(*st.auth, keys, oo, labeler, clock);
  verifier = std::make_unique<authz::TokenVerifier>(keys, *st.auth, base_url, fhir_base, clock);

  fhir::FhirApiOptions fo;
  fo.base_url = fhir_base;
  fo.default_count = config.default_count;
  fo.max_count = config.max_count;
  fo.paging_secret = config.paging_secret;
  fo.capability_extra_security = as->CapabilitySecurity();
  api = std::make_unique<fhir::FhirApi>(*st.resources, st.registry, fo, clock);
  std::fprintf(stdout, "Portico listening on %s:%u\nFHIR base URL: %s\n", host.c_str(),
               server.port(), fhir_base.c_str());
  std::fflush(stdout);
  server.Run();
  std::fprintf(stdout, "Portico stopped\n");
  return 0;
}

}  // namespace portico::app

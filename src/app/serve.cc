// Composition root of `portico serve`: the only place that picks implementations.
#include <cstdio>

#include "src/app/commands.h"
#include "src/base/strings.h"
#include "src/fhir/model/outcome.h"
#include "src/fhir/rest/fhir_api.h"
#include "src/fhir/search/registry.h"
#include "src/http/server.h"
#include "src/store/sqlite/sqlite_store.h"

namespace portico::app {

namespace {

http::Response PlainJson(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.SetHeader("Content-Type", "application/json");
  return r;
}

}  // namespace

int RunServe(const Config& config) {
  std::string host;
  uint16_t port = 0;
  if (Status s = ParseListen(config.listen, host, port); !s.ok()) {
    std::fprintf(stderr, "portico: %s\n", s.message().c_str());
    return 2;
  }
  auto path = SqlitePath(config.db);
  if (!path.ok()) {
    std::fprintf(stderr, "portico: %s\n", path.status().message().c_str());
    return 2;
  }
  auto registry = fhir::SearchParamRegistry::LoadBuiltin();
  if (!registry.ok()) {
    std::fprintf(stderr, "portico: bad built-in data: %s\n", registry.status().message().c_str());
    return 1;
  }
  const base::Clock& clock = base::SystemClock::Get();
  auto store = store::sqlite::SqliteStore::Open(*path, *registry, clock);
  if (!store.ok()) {
    std::fprintf(stderr, "portico: %s\n", store.status().message().c_str());
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
  http::Server* server_ptr = nullptr;
  std::unique_ptr<fhir::FhirApi> api;
  std::string base_url = config.base_url;

  auto handler = [&](const http::Request& req) -> http::Response {
    std::string_view p = req.path;
    if (p == "/fhir" || base::StartsWith(p, "/fhir/")) {
      http::Response r = api->Handle(req, p.substr(5), fhir::AccessScope{});
      if (p == "/fhir/metadata") {
        r.SetHeader("Access-Control-Allow-Origin", "*");
      }
      return r;
    }
    if (p == "/healthz") {
      return PlainJson(200, "{\"status\":\"ok\"}");
    }
    if (p == "/readyz") {
      auto counts = (*store)->CountByType();
      return counts.ok() ? PlainJson(200, "{\"status\":\"ready\"}")
                         : PlainJson(503, "{\"status\":\"database unavailable\"}");
    }
    if (p == "/") {
      http::Response r;
      r.body = "Portico CMS Patient Access API. FHIR base: " + base_url + "\n";
      r.SetHeader("Content-Type", "text/plain; charset=utf-8");
      return r;
    }
    return fhir::FhirApi::Error(404, "not-found", "No such endpoint: " + req.path);
  };
  http::Server server(so, handler);
  server_ptr = &server;
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
  fhir::FhirApiOptions fo;
  fo.base_url = base_url + "/fhir";
  fo.default_count = config.default_count;
  fo.max_count = config.max_count;
  fo.paging_secret = config.paging_secret;
  api = std::make_unique<fhir::FhirApi>(**store, *registry, fo, clock);
  std::fprintf(stdout, "Portico listening on %s:%u\nFHIR base URL: %s/fhir\n", host.c_str(),
               server.port(), base_url.c_str());
  std::fflush(stdout);
  (void)server_ptr;
  server.Run();
  std::fprintf(stdout, "Portico stopped\n");
  return 0;
}

}  // namespace portico::app

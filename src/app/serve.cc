// Composition root of `portico serve`: the only place that picks implementations.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include <malloc.h>

#include "src/app/audit_sink.h"
#include "src/app/commands.h"
#include "src/app/developer_guide.h"
#include "src/app/stores.h"
#include "src/auth/crypto.h"
#include "src/auth/scopes.h"
#include "src/authz/authorizer.h"
#include "src/authz/token_verifier.h"
#include "src/base/log.h"
#include "src/base/strings.h"
#include "src/fhir/model/outcome.h"
#include "src/fhir/model/validator.h"
#include "src/fhir/rest/fhir_api.h"
#include "src/fhir/rest/writer.h"
#include "src/fhir/search/registry.h"
#include "src/http/client.h"
#include "src/http/metrics.h"
#include "src/http/rate_limiter.h"
#include "src/http/server.h"
#include "src/oauth/admin_server.h"
#include "src/oauth/authorization_server.h"
#include "src/oauth/key_manager.h"
#include "src/store/sqlite/db.h"
#include "src/store/store_metrics.h"

namespace portico::app {

namespace {

http::Response PlainJson(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.SetHeader("Content-Type", "application/json");
  return r;
}

// RFC 6750 section 3: error_description is limited to %x20-21 / %x23-5B / %x5D-7E, so that it
// fits in a quoted-string without escapes. Other characters become an apostrophe.
std::string AuthParamText(std::string_view text) {
  std::string out;
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u > 0x7e || c == '"' || c == '\\' ? '\'' : c);
  }
  return out;
}

http::Response Unauthorized(const std::string& reason) {
  http::Response r = fhir::FhirApi::Error(401, "login", reason);
  r.SetHeader("WWW-Authenticate",
              "Bearer realm=\"portico\", error=\"invalid_token\", "
              "error_description=\"" +
                  AuthParamText(reason) + "\"");
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

// What a FHIR request does, for authorization. Classify() and FhirApi::Handle() split the same
// (percent-decoded) path the same way, so the type and id checked here are the ones served.
struct FhirTarget {
  std::string type;
  std::string id;
  bool search = false;          // type search (GET or POST _search) or type history
  bool system_history = false;  // GET [base]/_history
  bool known = false;           // a path this API serves
};

FhirTarget Classify(std::string_view path) {
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
  if (seg.size() == 1 && seg[0] == "_history") {
    t.system_history = true;
    t.known = true;
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
  return t;
}

// The token holder's own fhirUser resource (e.g. a delegate's RelatedPerson, which is not in the
// chosen member's compartment) is readable when the token carries the `fhirUser` scope
// ("permission to retrieve information about the current logged-in user").
bool IsOwnFhirUserRead(const http::Request& req, const authz::Principal& p, const FhirTarget& t) {
  return !t.search && !t.system_history && req.method == "GET" && !p.fhir_user.empty() &&
         p.scopes.Has("fhirUser") && p.fhir_user == t.type + "/" + t.id;
}

}  // namespace

int RunServe(const Config& config) {
  // A page of search results is a few hundred KiB, built and freed on every request. By default
  // glibc hands such memory back to the kernel when it is freed and faults it in again for the
  // next response (half of a search's time went to page faults). Keep up to 32 MiB per arena.
  mallopt(M_TRIM_THRESHOLD, 32 << 20);
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  std::string host;
  uint16_t port = 0;
  if (Status s = ParseListen(config.listen, host, port); !s.ok()) {
    std::fprintf(stderr, "portico: %s\n", s.message().c_str());
    return 2;
  }
  oauth::DynamicRegistration dynamic_registration = oauth::DynamicRegistration::kOff;
  if (!oauth::ParseDynamicRegistration(config.dynamic_registration, dynamic_registration)) {
    std::fprintf(stderr, "portico: dynamic_registration must be off, review or open\n");
    return 2;
  }
  const base::Clock& clock = base::SystemClock::Get();
  auto stores = OpenStores(config.db, clock, StoreOptionsFrom(config));
  if (!stores.ok()) {
    std::fprintf(stderr, "portico: %s\n", stores.status().message().c_str());
    return 1;
  }
  Stores& st = **stores;
  oauth::KeyManager keys(*st.auth, clock);
  // Normally the keys load at once. When the database is briefly unavailable at start
  // (PostgreSQL restarting), the server listens anyway: /healthz answers, /readyz and the API
  // answer 503 until a background retry succeeds.
  std::atomic<bool> ready{false};
  if (Status s = keys.Init(); s.ok()) {
    ready = true;
  } else if (s.code() != StatusCode::kUnavailable) {
    std::fprintf(stderr, "portico: signing keys: %s\n", s.message().c_str());
    return 1;
  } else {
    base::LogLine(base::LogLevel::kWarn, "db.unavailable").Str("detail", s.message());
  }

  http::ServerOptions so;
  so.host = host;
  so.port = port;
  so.threads = config.threads;
  so.access_log = config.access_log;
  so.max_body_bytes = static_cast<size_t>(config.max_body_bytes);
  so.header_timeout_seconds = config.header_timeout_seconds;
  so.tls_cert_file = config.tls_cert;
  so.tls_key_file = config.tls_key;
  so.error_response = [](int status, const std::string& message) {
    return fhir::FhirApi::Error(status, status == 408 ? "timeout" : "too-costly", message);
  };
  // What may hold a thread for milliseconds runs apart from the connections' I/O threads: every
  // write (a durable commit; on the OAuth side also the password checks of the sign-in forms and
  // the signatures of the token endpoint) and the FHIR operations ($everything reads a whole
  // record). Reads, searches and introspection stay on their I/O thread.
  so.runs_long = [](const http::Request& req) {
    if (req.method == "GET" || req.method == "HEAD" || req.method == "OPTIONS") {
      return req.path.find("/$") != std::string::npos;
    }
    return req.path != "/oauth/introspect";
  };
  std::unique_ptr<fhir::FhirApi> api;
  std::unique_ptr<fhir::Writer> writer;
  std::unique_ptr<oauth::AuthorizationServer> as;
  std::unique_ptr<oauth::AdminServer> admin;
  std::unique_ptr<authz::TokenVerifier> verifier;
  std::string base_url = config.base_url;
  std::string fhir_base;
  const fhir::SearchParamRegistry& registry = *st.registry;
  AuditSink audit(*st.auth);

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
    // Writes: only system tokens (data feeds via SMART Backend Services) with c/u/d scopes.
    bool is_write = req.method == "PUT" || req.method == "DELETE" || req.method == "PATCH" ||
                    (req.method == "POST" && path.find("/_search") == std::string_view::npos &&
                     path.find('$') == std::string_view::npos);
    // A request that only reads checks its token's grant and reads its data in one snapshot.
    std::unique_ptr<store::ReadScope> pinned = is_write ? nullptr : st.resources->PinReads();
    auto verified = verifier->Verify(base::Trim(authz_header.substr(7)));
    if (!verified.ok()) {
      if (verified.status().code() == StatusCode::kUnavailable) {
        return fhir::FhirApi::Error(503, "transient", "try again later");
      }
      return Unauthorized(verified.status().message());
    }
    const std::shared_ptr<const authz::Principal> principal = *std::move(verified);
    if (is_write) {
      if (!principal->patient.empty()) {
        return Forbidden("the Patient Access API is read-only for member apps");
      }
      if (req.method == "PATCH") {
        return fhir::FhirApi::Error(405, "not-supported", "PATCH is not supported; use PUT");
      }
      bool may_write = false;
      for (const auth::ResourceScope& rs : principal->scopes.resources) {
        may_write = may_write || (rs.context == auth::Context::kSystem && (rs.c || rs.u || rs.d));
      }
      if (!may_write) {
        return Forbidden(
            "insufficient_scope: writing needs system/ create, update or delete "
            "scopes");
      }
      auto allowed = [&](const std::string& type, char op) {
        auth::Interaction i = op == 'c'   ? auth::Interaction::kCreate
                              : op == 'u' ? auth::Interaction::kUpdate
                                          : auth::Interaction::kDelete;
        return auth::ConstraintsFor(principal->scopes, auth::Context::kSystem, type, i)
            .unconstrained;
      };
      http::Response r = writer->Handle(req, path, allowed);
      audit.Record({clock.NowMillis(), "fhir.write", principal->client_id, principal->subject, "",
                    req.method + " " + std::string(path.substr(0, path.find('/', 1))) +
                        " status=" + std::to_string(r.status)});
      return r;
    }
    FhirTarget target = Classify(path);
    if (target.system_history) {
      // History across every patient: only for tokens without a patient and a system/* scope.
      if (principal->patient.empty() &&
          auth::ConstraintsFor(principal->scopes, auth::Context::kSystem, "*",
                               auth::Interaction::kSearch)
              .unconstrained) {
        return api->Handle(req, path, fhir::AccessScope{});
      }
      return Forbidden(
          "insufficient_scope: system history needs a system/*.s scope and is not "
          "available with a patient-scoped token");
    }
    if (!target.known || !registry.IsResourceType(target.type)) {
      // Unknown paths and types: the API's own 404/405 answers reveal nothing about data.
      fhir::AccessScope none;
      none.unrestricted = false;
      return api->Handle(req, path, none);
    }
    // Every access to member data is recorded: who, which app, which patient, what, outcome.
    auto audited = [&](http::Response r) {
      std::string what = std::string(target.search ? "search " : "read ") + target.type;
      if (!target.id.empty() && target.id[0] == '$') {
        what = "operation " + target.type + "/" + target.id;
      }
      audit.Record({clock.NowMillis(), "fhir.access", principal->client_id, principal->subject,
                    principal->patient, what + " status=" + std::to_string(r.status)});
      return r;
    };
    if (IsOwnFhirUserRead(req, *principal, target)) {
      return audited(api->Handle(req, path, fhir::AccessScope{}));
    }
    auto scope = authz::Authorize(*principal, target.type,
                                  target.search ? authz::Access::kSearch : authz::Access::kRead,
                                  registry, fhir_base);
    if (!scope.ok()) {
      return audited(Forbidden(scope.status().message()));
    }
    return audited(api->Handle(req, path, *scope));
  };

  http::RequestMetrics metrics;
  std::atomic<int64_t> in_flight{0};
  auto route = [&](const http::Request& req) -> http::Response {
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
    if (!ready.load() && p != "/healthz") {
      r = p == "/readyz" ? PlainJson(503, "{\"status\":\"waiting for the database\"}")
                         : fhir::FhirApi::Error(503, "transient",
                                                "The service is starting; try again shortly");
      r.SetHeader("Retry-After", "1");
      return r;
    }
    if (as->Handles(p)) {
      // Introspection only reads: the client lookup and the grant check share one snapshot
      // (one read transaction instead of two).
      std::unique_ptr<store::ReadScope> pinned =
          p == "/oauth/introspect" ? st.resources->PinReads() : nullptr;
      r = as->Handle(req);
    } else if (oauth::AdminServer::Handles(p)) {
      return admin->Handle(req);  // operators only: no CORS
    } else if (p == "/fhir" || base::StartsWith(p, "/fhir/")) {
      r = handle_fhir(req, std::string_view(p).substr(5));
    } else if (p == "/healthz") {
      r = PlainJson(200, "{\"status\":\"ok\"}");
    } else if (p == "/readyz") {
      // A primary-key lookup proves the database answers (cheap at any size).
      auto probe = st.resources->Read("Patient", "readiness-probe");
      r = probe.ok() ? PlainJson(200, "{\"status\":\"ready\"}")
                     : PlainJson(503, "{\"status\":\"database unavailable\"}");
    } else if (p == "/metrics" && !config.metrics_token.empty() &&
               !base::ConstantTimeEquals(req.Header("authorization"),
                                         "Bearer " + config.metrics_token)) {
      r = PlainJson(401, "{\"error\":\"the metrics need their bearer token\"}");
      r.SetHeader("WWW-Authenticate", "Bearer realm=\"metrics\"");
    } else if (p == "/metrics") {
      r.body = metrics.RenderPrometheus();
      r.body += store::StoreMetrics::Global().RenderPrometheus();
      r.body +=
          "# HELP portico_audit_dropped_total Audit events dropped because the database "
          "could not keep up.\n# TYPE portico_audit_dropped_total counter\n"
          "portico_audit_dropped_total " +
          std::to_string(audit.dropped()) + "\n";
      r.body +=
          "# HELP portico_sqlite_memory_bytes Bytes SQLite holds in its page caches.\n# TYPE "
          "portico_sqlite_memory_bytes gauge\n"
          "portico_sqlite_memory_bytes " +
          std::to_string(store::sqlite::SqliteMemoryUsed()) + "\n";
      r.body +=
          "# HELP portico_token_cache_entries Verified access tokens held in memory (bounded).\n"
          "# TYPE portico_token_cache_entries gauge\nportico_token_cache_entries " +
          std::to_string(verifier != nullptr ? verifier->cached_tokens() : 0) + "\n";
      r.SetHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    } else if (p == "/developers" || p == "/developers/") {
      r.body = DeveloperGuidePage(base_url);
      r.SetHeader("Content-Type", "text/html; charset=utf-8");
      r.SetHeader("Content-Security-Policy",
                  "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
    } else if (p == "/") {
      r.body = "Portico CMS Patient Access API. FHIR base: " + fhir_base +
               "\nApp developer guide: " + base_url + "/developers\n";
      r.SetHeader("Content-Type", "text/plain; charset=utf-8");
    } else {
      r = fhir::FhirApi::Error(404, "not-found", "No such endpoint: " + req.path);
    }
    AddCors(req, r);
    return r;
  };
  http::RateLimiter fhir_limiter(config.rate_limit_fhir_per_ip, config.rate_limit_fhir_per_ip * 2);
  http::RateLimiter token_ip_limiter(config.rate_limit_token_per_ip,
                                     config.rate_limit_token_per_ip * 2);
  http::RateLimiter token_client_limiter(config.rate_limit_token_per_client,
                                         config.rate_limit_token_per_client * 2);
  http::RateLimiter register_limiter(config.rate_limit_register_per_ip,
                                     std::max(5.0, config.rate_limit_register_per_ip * 2));
  // The client's address: the peer, or the last X-Forwarded-For hop when the peer is a
  // configured proxy (never trusted from anyone else).
  auto client_ip = [&](const http::Request& req) -> std::string {
    if (std::find(config.trusted_proxies.begin(), config.trusted_proxies.end(), req.remote_addr) !=
        config.trusted_proxies.end()) {
      std::string_view xff = req.Header("x-forwarded-for");
      if (!xff.empty()) {
        size_t comma = xff.rfind(',');
        return std::string(
            base::Trim(comma == std::string_view::npos ? xff : xff.substr(comma + 1)));
      }
    }
    return req.remote_addr;
  };
  auto throttled = [](int retry_after) {
    http::Response r = fhir::FhirApi::Error(429, "throttled", "Too many requests; retry later");
    r.SetHeader("Retry-After", std::to_string(retry_after));
    return r;
  };
  auto limited = [&](const http::Request& req) -> int {
    int64_t now = clock.NowMillis();
    const std::string& p = req.path;
    if (p == "/oauth/token" && (token_ip_limiter.enabled() || token_client_limiter.enabled())) {
      if (int wait = token_ip_limiter.Take(client_ip(req), now); wait > 0) {
        return wait;
      }
      // Per client: the Basic username or the client_id form field.
      std::string client;
      std::string_view authz = req.Header("authorization");
      if (authz.size() > 6 && base::EqualsIgnoreCase(authz.substr(0, 6), "basic ")) {
        client = "basic:" + std::string(authz.substr(6, 64));
      } else if (size_t at = req.body.find("client_id="); at != std::string::npos) {
        client = req.body.substr(at + 10, std::min<size_t>(64, req.body.find('&', at) - at - 10));
      }
      if (!client.empty()) {
        return token_client_limiter.Take(client, now);
      }
      return 0;
    }
    if (p == "/oauth/register" && register_limiter.enabled() &&
        dynamic_registration != oauth::DynamicRegistration::kOff) {
      return register_limiter.Take(client_ip(req), now);
    }
    if (fhir_limiter.enabled() && base::StartsWith(p, "/fhir")) {
      return fhir_limiter.Take(client_ip(req), now);
    }
    return 0;
  };
  auto handler = [&](const http::Request& req) -> http::Response {
    auto started = std::chrono::steady_clock::now();
    metrics.SetInFlight(in_flight.fetch_add(1) + 1);
    int wait = limited(req);
    http::Response r = wait > 0 ? throttled(wait) : route(req);
    in_flight.fetch_sub(1);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    metrics.Record(http::RequestMetrics::Classify(req.method, req.path), r.status, secs);
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
    base_url = std::string(config.tls_cert.empty() ? "http://" : "https://") + h + ":" +
               std::to_string(server.port());
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
  // Cookies are Secure except for plain-http development on loopback.
  oo.secure_cookies = !(base::StartsWith(base_url, "http://127.") ||
                        base::StartsWith(base_url, "http://localhost") ||
                        base::StartsWith(base_url, "http://[::1]"));
  oo.fetch_url = [](const std::string& url) { return http::HttpGet(url); };
  oo.access_token_seconds = config.access_token_seconds;
  oo.code_seconds = config.code_seconds;
  oo.refresh_days = config.refresh_days;
  oo.dynamic_registration = dynamic_registration;
  oo.max_auth_requests_per_session = config.max_auth_requests_per_session;
  oo.max_auth_requests_per_client = config.max_auth_requests_per_client;
  oo.max_codes_per_user = config.max_codes_per_user;
  oo.max_grants_per_user_client = config.max_grants_per_user_client;
  store::ResourceStore& resources = *st.resources;
  auto labeler = [&resources](const std::string& patient_id) -> std::string {
    return PatientLabel(resources, patient_id);
  };
  as = std::make_unique<oauth::AuthorizationServer>(*st.auth, keys, oo, labeler, clock);
  as->set_async_audit([&audit](store::AuditEvent e) { audit.Record(std::move(e)); });
  oauth::AdminOptions ao;
  ao.issuer = base_url;
  ao.secure_cookies = oo.secure_cookies;
  admin = std::make_unique<oauth::AdminServer>(*st.auth, ao, clock);
  verifier = std::make_unique<authz::TokenVerifier>(keys, *st.auth, base_url, fhir_base, clock);

  fhir::FhirApiOptions fo;
  fo.base_url = fhir_base;
  fo.default_count = config.default_count;
  fo.max_count = config.max_count;
  fo.paging_secret = config.paging_secret;
  if (fo.paging_secret.empty()) {
    // Every node on this database signs paging cursors with the same key, so a `next` link
    // made by one node is followed at any other (and after a restart).
    auto candidate = auth::RandomToken(32);
    auto shared = candidate.ok() ? st.auth->SharedSecret("paging", *candidate, clock.NowMillis())
                                 : StatusOr<std::string>(candidate.status());
    if (shared.ok()) {
      fo.paging_secret = *shared;
    } else {
      // The database is not reachable yet: this process signs with a key of its own, so its
      // `next` links work here until it restarts.
      base::LogLine(base::LogLevel::kWarn, "paging.secret_local")
          .Str("reason", shared.status().message());
    }
  }
  fo.capability_extra_security = as->CapabilitySecurity();
  {
    auto model = fhir::ElementModel::LoadBuiltin();
    std::shared_ptr<const fhir::ElementModel> m = model.ok() ? *model : nullptr;
    fhir::ResourceValidator validate = [m](const json::Value& r) {
      std::vector<std::string> out;
      if (m != nullptr) {
        for (const fhir::ValidationIssue& i : fhir::ValidateResource(*m, r)) {
          out.push_back(i.path + ": " + i.message);
        }
      }
      return out;
    };
    writer = std::make_unique<fhir::Writer>(*st.resources, st.registry, validate, fhir_base);
  }
  api = std::make_unique<fhir::FhirApi>(*st.resources, st.registry, fo, clock);
  std::fprintf(stdout, "Portico listening on %s:%u\nFHIR base URL: %s\n", host.c_str(),
               server.port(), fhir_base.c_str());
  std::fflush(stdout);
  base::LogLine(base::LogLevel::kInfo, "server.started")
      .Str("listen", host + ":" + std::to_string(server.port()))
      .Str("fhir_base", fhir_base)
      .Str("store", base::StartsWith(config.db, "postgres") ? "postgresql" : "sqlite")
      .Int("threads", config.threads)
      .Bool("tls", !config.tls_cert.empty())
      .Bool("ready", ready.load());
  std::thread key_loader;
  if (!ready.load()) {
    key_loader = std::thread([&] {
      for (int attempt = 1; !ready.load(); ++attempt) {
        std::this_thread::sleep_for(std::chrono::seconds(1));
        Status s = keys.Init();
        if (s.ok()) {
          ready = true;
          base::LogLine(base::LogLevel::kInfo, "db.available").Int("attempts", attempt);
        } else if (s.code() != StatusCode::kUnavailable) {
          base::LogLine(base::LogLevel::kError, "keys.failed").Str("detail", s.message());
          server.Stop();
          return;
        } else if (attempt % 10 == 0) {
          base::LogLine(base::LogLevel::kWarn, "db.unavailable")
              .Str("detail", s.message())
              .Int("attempts", attempt);
        }
      }
    });
  }
  server.Run();
  ready = true;  // ends the loader if the server stops first
  if (key_loader.joinable()) {
    key_loader.join();
  }
  base::LogLine(base::LogLevel::kInfo, "server.stopped");
  std::fprintf(stdout, "Portico stopped\n");
  return 0;
}

}  // namespace portico::app

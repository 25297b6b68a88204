#include "src/http/metrics.h"

#include <cstdio>

namespace portico::http {

const char* RequestMetrics::RouteName(Route r) {
  static const char* kNames[] = {"fhir_metadata",   "fhir_read",       "fhir_search",
                                 "fhir_history",    "fhir_operation",  "fhir_other",
                                 "oauth_authorize", "oauth_login",     "oauth_picker",
                                 "oauth_consent",   "oauth_token",     "oauth_introspect",
                                 "oauth_revoke",    "oauth_other",     "discovery",
                                 "health",          "other"};
  return r < kRouteCount ? kNames[r] : "other";
}

RequestMetrics::Route RequestMetrics::Classify(std::string_view method, std::string_view path) {
  auto starts = [&](std::string_view p) { return path.substr(0, p.size()) == p; };
  if (path == "/healthz" || path == "/readyz" || path == "/metrics") {
    return kHealth;
  }
  if (path.find("/.well-known/") != std::string_view::npos || path == "/oauth/jwks") {
    return kDiscovery;
  }
  if (starts("/oauth/")) {
    if (path == "/oauth/authorize") {
      return kOAuthAuthorize;
    }
    if (path == "/oauth/login") {
      return kOAuthLogin;
    }
    if (path == "/oauth/pick") {
      return kOAuthPicker;
    }
    if (path == "/oauth/consent") {
      return kOAuthConsent;
    }
    if (path == "/oauth/token") {
      return kOAuthToken;
    }
    if (path == "/oauth/introspect") {
      return kOAuthIntrospect;
    }
    if (path == "/oauth/revoke") {
      return kOAuthRevoke;
    }
    return kOAuthOther;
  }
  if (!starts("/fhir")) {
    return kOther;
  }
  std::string_view rest = path.substr(5);
  if (rest == "/metadata") {
    return kFhirMetadata;
  }
  if (rest.find('$') != std::string_view::npos) {
    return kFhirOperation;
  }
  if (rest.find("/_history") != std::string_view::npos) {
    return kFhirHistory;
  }
  int segments = 0;
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '/' && i + 1 < rest.size()) {
      ++segments;
    }
  }
  if (rest.find("/_search") != std::string_view::npos || segments == 1) {
    return method == "GET" || method == "HEAD" || method == "POST" ? kFhirSearch : kFhirOther;
  }
  if (segments == 2 && (method == "GET" || method == "HEAD")) {
    return kFhirRead;
  }
  return kFhirOther;
}

void RequestMetrics::Record(Route route, int status, double seconds) {
  if (route >= kRouteCount) {
    route = kOther;
  }
  size_t slot = kStatuses.size();
  for (size_t i = 0; i < kStatuses.size(); ++i) {
    if (kStatuses[i] == status) {
      slot = i;
      break;
    }
  }
  counts_[route][slot].fetch_add(1, std::memory_order_relaxed);
  latency_[route].Observe(seconds);
}

std::string RequestMetrics::RenderPrometheus() const {
  std::string out;
  char line[256];
  out += "# HELP portico_http_requests_total HTTP requests by route class and status.\n"
         "# TYPE portico_http_requests_total counter\n";
  for (int r = 0; r < kRouteCount; ++r) {
    for (size_t s = 0; s < kStatusSlots; ++s) {
      uint64_t n = counts_[r][s].load(std::memory_order_relaxed);
      if (n == 0) {
        continue;
      }
      std::string status = s < kStatuses.size() ? std::to_string(kStatuses[s]) : "other";
      std::snprintf(line, sizeof(line),
                    "portico_http_requests_total{route=\"%s\",status=\"%s\"} %llu\n",
                    RouteName(static_cast<Route>(r)), status.c_str(),
                    static_cast<unsigned long long>(n));
      out += line;
    }
  }
  out += "# HELP portico_http_request_duration_seconds Time to answer a request.\n"
         "# TYPE portico_http_request_duration_seconds histogram\n";
  for (int r = 0; r < kRouteCount; ++r) {
    if (latency_[r].count() == 0) {
      continue;
    }
    latency_[r].AppendPrometheus(out, "portico_http_request_duration_seconds",
                                 std::string("route=\"") + RouteName(static_cast<Route>(r)) + "\"");
  }
  std::snprintf(line, sizeof(line),
                "# HELP portico_http_in_flight Requests being handled.\n"
                "# TYPE portico_http_in_flight gauge\nportico_http_in_flight %lld\n",
                static_cast<long long>(in_flight_.load(std::memory_order_relaxed)));
  out += line;
  // Derived counters that operators alert on.
  auto count = [&](Route r, int status) {
    for (size_t i = 0; i < kStatuses.size(); ++i) {
      if (kStatuses[i] == status) {
        return counts_[r][i].load(std::memory_order_relaxed);
      }
    }
    return uint64_t{0};
  };
  std::snprintf(line, sizeof(line),
                "# HELP portico_tokens_issued_total Successful token endpoint responses.\n"
                "# TYPE portico_tokens_issued_total counter\nportico_tokens_issued_total %llu\n",
                static_cast<unsigned long long>(count(kOAuthToken, 200)));
  out += line;
  std::snprintf(line, sizeof(line),
                "# HELP portico_logins_failed_total Rejected logins (wrong credentials or "
                "locked).\n# TYPE portico_logins_failed_total counter\n"
                "portico_logins_failed_total %llu\n",
                static_cast<unsigned long long>(count(kOAuthLogin, 401) + count(kOAuthLogin, 429)));
  out += line;
  return out;
}

}  // namespace portico::http

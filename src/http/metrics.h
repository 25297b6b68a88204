// Request metrics in the Prometheus text exposition format: counts by route and status and a
// latency histogram per route. Lock-free on the request path (fixed label sets, atomic
// counters). Carries no PHI: routes are classes ("fhir_read"), never paths or ids.
// Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "src/base/histogram.h"

namespace portico::http {

class RequestMetrics {
 public:
  enum Route {
    kFhirMetadata,
    kFhirRead,
    kFhirSearch,
    kFhirHistory,
    kFhirOperation,
    kFhirOther,
    kOAuthAuthorize,
    kOAuthLogin,
    kOAuthPicker,
    kOAuthConsent,
    kOAuthToken,
    kOAuthIntrospect,
    kOAuthRevoke,
    kOAuthOther,
    kDiscovery,
    kHealth,
    kOther,
    kRouteCount
  };

  static const char* RouteName(Route r);
  // Classifies a request path and method (no ids or queries are kept).
  static Route Classify(std::string_view method, std::string_view path);

  void Record(Route route, int status, double seconds);
  void SetInFlight(int64_t n) { in_flight_.store(n, std::memory_order_relaxed); }
  void SetResourceCount(int64_t n) { resources_.store(n, std::memory_order_relaxed); }

  std::string RenderPrometheus() const;

 private:
  static constexpr std::array<int, 18> kStatuses = {200, 201, 204, 302, 304, 400, 401, 403, 404,
                                                    405, 406, 410, 413, 415, 422, 429, 500, 503};
  static constexpr size_t kStatusSlots = kStatuses.size() + 1;  // + "other"

  std::array<std::array<std::atomic<uint64_t>, kStatusSlots>, kRouteCount> counts_{};
  std::array<base::Histogram, kRouteCount> latency_{};
  std::atomic<int64_t> in_flight_{0};
  std::atomic<int64_t> resources_{-1};
};

}  // namespace portico::http

#include "src/http/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace portico::http {

namespace {
constexpr size_t kMaxKeys = 200000;  // beyond this, idle buckets are dropped
}  // namespace

RateLimiter::RateLimiter(double per_second, double burst)
    : per_second_(per_second), burst_(std::max(1.0, burst)) {}

int RateLimiter::Take(const std::string& key, int64_t now_ms) {
  if (per_second_ <= 0) {
    return 0;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (buckets_.size() > kMaxKeys) {
    // Full buckets carry no state worth keeping.
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      double refill = (now_ms - it->second.last_ms) / 1000.0 * per_second_;
      it = it->second.tokens + refill >= burst_ ? buckets_.erase(it) : std::next(it);
    }
  }
  auto [it, inserted] = buckets_.try_emplace(key, Bucket{burst_, now_ms});
  Bucket& b = it->second;
  if (!inserted) {
    double elapsed = std::max<int64_t>(0, now_ms - b.last_ms) / 1000.0;
    b.tokens = std::min(burst_, b.tokens + elapsed * per_second_);
    b.last_ms = now_ms;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  return std::max(1, static_cast<int>(std::ceil((1.0 - b.tokens) / per_second_)));
}

}  // namespace portico::http

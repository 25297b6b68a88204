// Token-bucket rate limiting by key (client IP, client_id). Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace portico::http {

class RateLimiter {
 public:
  // `per_second` tokens are added each second up to `burst`. per_second <= 0 disables limiting.
  RateLimiter(double per_second, double burst);

  bool enabled() const { return per_second_ > 0; }
  // Takes one token for `key` at time `now_ms`. Returns 0 when allowed, else the whole number of
  // seconds (>= 1) after which a retry can succeed.
  int Take(const std::string& key, int64_t now_ms);

 private:
  struct Bucket {
    double tokens;
    int64_t last_ms;
  };
  const double per_second_;
  const double burst_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;  // guarded by mu_
};

}  // namespace portico::http

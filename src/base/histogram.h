// A latency histogram with fixed buckets and atomic counters, rendered in the Prometheus text
// exposition format. Lock-free; thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace portico::base {

class Histogram {
 public:
  // Upper bounds of the buckets, in seconds: 100 µs to 2.5 s (and +Inf).
  static constexpr std::array<double, 14> kBounds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5};

  void Observe(double seconds);
  uint64_t count() const;

  // Appends NAME_bucket, NAME_sum and NAME_count lines. `labels` is empty or `key="value",...`
  // (already escaped); the `le` label is added after them.
  void AppendPrometheus(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<uint64_t> sum_micros_{0};
};

}  // namespace portico::base

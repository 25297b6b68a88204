#include "src/base/histogram.h"

#include <cstdio>

namespace portico::base {

void Histogram::Observe(double seconds) {
  if (!(seconds >= 0)) {
    seconds = 0;  // a clock step backwards (or NaN) counts as instant, never as a huge value
  }
  size_t b = 0;
  while (b < kBounds.size() && seconds > kBounds[b]) {
    ++b;
  }
  buckets_[b].fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

uint64_t Histogram::count() const {
  uint64_t total = 0;
  for (const std::atomic<uint64_t>& b : buckets_) {
    total += b.load(std::memory_order_relaxed);
  }
  return total;
}

void Histogram::AppendPrometheus(std::string& out, std::string_view name,
                                 std::string_view labels) const {
  std::string prefix(name);
  std::string sep = labels.empty() ? "" : ",";
  std::string label_set = labels.empty() ? "" : "{" + std::string(labels) + "}";
  char number[64];
  uint64_t cumulative = 0;
  for (size_t b = 0; b <= kBounds.size(); ++b) {
    cumulative += buckets_[b].load(std::memory_order_relaxed);
    if (b < kBounds.size()) {
      std::snprintf(number, sizeof(number), "%g", kBounds[b]);
    } else {
      std::snprintf(number, sizeof(number), "+Inf");
    }
    out += prefix + "_bucket{" + std::string(labels) + sep + "le=\"" + number + "\"} " +
           std::to_string(cumulative) + "\n";
  }
  std::snprintf(number, sizeof(number), "%.6f",
                static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6);
  out += prefix + "_sum" + label_set + " " + number + "\n";
  out += prefix + "_count" + label_set + " " + std::to_string(cumulative) + "\n";
}

}  // namespace portico::base

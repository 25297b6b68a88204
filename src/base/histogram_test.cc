#include "src/base/histogram.h"

#include <string>

#include <gtest/gtest.h>

namespace portico::base {
namespace {

TEST(HistogramTest, CountsIntoCumulativeBucketsWithSumAndCount) {
  Histogram h;
  h.Observe(0.00005);  // first bucket (<= 100 µs)
  h.Observe(0.0003);   // <= 0.5 ms
  h.Observe(0.0003);
  h.Observe(7.0);  // beyond the last bound: only +Inf
  EXPECT_EQ(h.count(), 4u);
  std::string out;
  h.AppendPrometheus(out, "x_seconds", "pool=\"a\"");
  EXPECT_NE(out.find("x_seconds_bucket{pool=\"a\",le=\"0.0001\"} 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("x_seconds_bucket{pool=\"a\",le=\"0.00025\"} 1\n"), std::string::npos);
  EXPECT_NE(out.find("x_seconds_bucket{pool=\"a\",le=\"0.0005\"} 3\n"), std::string::npos);
  EXPECT_NE(out.find("x_seconds_bucket{pool=\"a\",le=\"2.5\"} 3\n"), std::string::npos);
  EXPECT_NE(out.find("x_seconds_bucket{pool=\"a\",le=\"+Inf\"} 4\n"), std::string::npos);
  EXPECT_NE(out.find("x_seconds_sum{pool=\"a\"} 7.000650\n"), std::string::npos) << out;
  EXPECT_NE(out.find("x_seconds_count{pool=\"a\"} 4\n"), std::string::npos);
}

TEST(HistogramTest, NoLabelsAndNonsenseDurations) {
  Histogram h;
  h.Observe(-1.0);  // a clock that stepped back counts as instant
  h.Observe(0.0 / 0.0);
  std::string out;
  h.AppendPrometheus(out, "y", "");
  EXPECT_NE(out.find("y_bucket{le=\"0.0001\"} 2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("y_sum 0.000000\n"), std::string::npos) << out;
  EXPECT_NE(out.find("y_count 2\n"), std::string::npos);
}

}  // namespace
}  // namespace portico::base

#include "src/base/time.h"

#include <gtest/gtest.h>

namespace portico::base {
namespace {

TEST(TimeTest, RangesFollowPrecision) {
  auto y = ParseFhirDateRange("2020");
  ASSERT_TRUE(y);
  EXPECT_EQ(FormatInstant(y->low), "2020-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatInstant(y->high), "2021-01-01T00:00:00.000Z");
  auto m = ParseFhirDateRange("2020-02");
  ASSERT_TRUE(m);
  EXPECT_EQ(FormatInstant(m->high), "2020-03-01T00:00:00.000Z");
  auto d = ParseFhirDateRange("2020-02-29");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->high - d->low, 86400000);
  auto t = ParseFhirDateRange("2020-02-29T10:00:00+02:00");
  ASSERT_TRUE(t);
  EXPECT_EQ(FormatInstant(t->low), "2020-02-29T08:00:00.000Z");
  EXPECT_EQ(t->high - t->low, 1000);
  auto ms = ParseFhirDateRange("2020-02-29T10:00:00.123Z");
  ASSERT_TRUE(ms);
  EXPECT_EQ(FormatInstant(ms->low), "2020-02-29T10:00:00.123Z");
}

TEST(TimeTest, RejectsInvalid) {
  for (const char* bad : {"", "20", "2020-13", "2019-02-29", "2020-01-01T25:00:00Z",
                          "2020-01-01T10:00:00+1", "IGNORED_FIELD", "2020-01-01X"}) {
    EXPECT_FALSE(ParseFhirDateRange(bad)) << bad;
  }
}

TEST(TimeTest, HttpDateRoundTrip) {
  Millis t = 1717243200000;  // 2024-06-01T12:00:00Z
  std::string s = FormatHttpDate(t);
  EXPECT_EQ(s, "Sat, 01 Jun 2024 12:00:00 GMT");
  EXPECT_EQ(ParseHttpDate(s), t);
}

}  // namespace
}  // namespace portico::base

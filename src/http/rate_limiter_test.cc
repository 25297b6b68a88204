#include "src/http/rate_limiter.h"

#include <gtest/gtest.h>

namespace portico::http {
namespace {

TEST(RateLimiterTest, AllowsBurstThenRefills) {
  RateLimiter limiter(2, 3);
  EXPECT_EQ(limiter.Take("a", 0), 0);
  EXPECT_EQ(limiter.Take("a", 0), 0);
  EXPECT_EQ(limiter.Take("a", 0), 0);
  EXPECT_GE(limiter.Take("a", 0), 1);
  EXPECT_EQ(limiter.Take("b", 0), 0);  // keys are independent
  EXPECT_EQ(limiter.Take("a", 500), 0);  // one token after half a second at 2/s
  EXPECT_GE(limiter.Take("a", 500), 1);
}

TEST(RateLimiterTest, DisabledAllowsEverything) {
  RateLimiter limiter(0, 0);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(limiter.Take("a", 0), 0);
  }
}

}  // namespace
}  // namespace portico::http

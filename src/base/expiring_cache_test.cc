#include "src/base/expiring_cache.h"

#include <string>

#include <gtest/gtest.h>

namespace portico::base {
namespace {

TEST(ExpiringCache, KeysAreDigestsNotTheSecrets) {
  std::string key = ExpiringCache<int>::KeyOf("eyJhbGciOi.secret.token");
  EXPECT_EQ(key.size(), 64u);
  EXPECT_EQ(key.find("secret"), std::string::npos);
  EXPECT_NE(key, ExpiringCache<int>::KeyOf("eyJhbGciOi.secret.tokem"));
}

TEST(ExpiringCache, EntriesEndAtTheirExpiry) {
  ExpiringCache<int> cache(10);
  cache.Put(cache.KeyOf("a"), std::make_shared<const int>(1), /*expires_at=*/100, /*now=*/0);
  ASSERT_NE(cache.Find(cache.KeyOf("a"), 99), nullptr);
  EXPECT_EQ(*cache.Find(cache.KeyOf("a"), 99), 1);
  EXPECT_EQ(cache.Find(cache.KeyOf("b"), 99), nullptr);
  EXPECT_EQ(cache.Find(cache.KeyOf("a"), 100), nullptr);
  EXPECT_EQ(cache.size(), 0u);  // the expired entry was dropped when found
}

TEST(ExpiringCache, StaysWithinItsBound) {
  ExpiringCache<int> cache(3);
  for (int i = 0; i < 3; ++i) {
    cache.Put(cache.KeyOf(std::to_string(i)), std::make_shared<const int>(i), i == 0 ? 5 : 100, 0);
  }
  EXPECT_EQ(cache.size(), 3u);
  // Full: the expired entry (0) makes room and the live ones stay.
  cache.Put(cache.KeyOf("3"), std::make_shared<const int>(3), 100, 10);
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.Find(cache.KeyOf("0"), 10), nullptr);
  EXPECT_NE(cache.Find(cache.KeyOf("1"), 10), nullptr);
  // Full of live entries: it starts afresh rather than grow.
  cache.Put(cache.KeyOf("4"), std::make_shared<const int>(4), 100, 10);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_NE(cache.Find(cache.KeyOf("4"), 10), nullptr);
}

}  // namespace
}  // namespace portico::base

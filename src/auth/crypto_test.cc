#include "src/auth/crypto.h"

#include <set>
#include <string>

#include <gtest/gtest.h>

#include "src/auth/base64url.h"

namespace portico::auth {
namespace {

TEST(CryptoTest, RandomBytesAndTokens) {
  StatusOr<std::string> a = RandomBytes(32);
  StatusOr<std::string> b = RandomBytes(32);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->size(), 32u);
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(RandomBytes(0).ok());
  EXPECT_FALSE(RandomBytes(size_t{1} << 30).ok());

  StatusOr<std::string> token = RandomToken(32);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(token->size(), 43u);
  StatusOr<std::string> decoded = Base64UrlDecode(*token);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->size(), 32u);
  StatusOr<std::string> token2 = RandomToken(32);
  ASSERT_TRUE(token2.ok());
  EXPECT_NE(*token, *token2);
}

TEST(CryptoTest, RandomIdentifiersNeverLookLikeOptions) {
  std::set<char> first;
  bool inner_dash_or_underscore = false;
  for (int i = 0; i < 4000; ++i) {
    StatusOr<std::string> id = RandomIdentifier(18);
    ASSERT_TRUE(id.ok());
    ASSERT_EQ(id->size(), 24u);
    ASSERT_NE(id->front(), '-') << *id;
    ASSERT_NE(id->front(), '_') << *id;
    StatusOr<std::string> decoded = Base64UrlDecode(*id);
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(decoded->size(), 18u);
    first.insert(id->front());
    inner_dash_or_underscore |= id->find_first_of("-_") != std::string::npos;
  }
  // Still base64url after the first character, and the first character still spread widely.
  EXPECT_TRUE(inner_dash_or_underscore);
  EXPECT_GT(first.size(), 55u);
  EXPECT_TRUE(RandomIdentifier(0).ok());
}

}  // namespace
}  // namespace portico::auth

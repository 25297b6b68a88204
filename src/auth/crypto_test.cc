#include "src/auth/crypto.h"

#include <set>
#include <string>

#include <gtest/gtest.h>

#include "src/auth/base64url.h"

namespace portico::auth {
namespace {

std::string Hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char ch : bytes) {
    auto c = static_cast<unsigned char>(ch);
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
  return out;
}

TEST(CryptoTest, Sha256KnownAnswers) {
  EXPECT_EQ(Hex(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(Sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(CryptoTest, HmacSha256Rfc4231) {
  // Test case 1.
  EXPECT_EQ(Hex(HmacSha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // Test case 2.
  EXPECT_EQ(Hex(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Empty key is allowed and differs from a one-zero-byte key only by definition (both pad to
  // zeros), so just check it does not crash and has the right size.
  EXPECT_EQ(HmacSha256("", "x").size(), 32u);
}

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

TEST(CryptoTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
  EXPECT_TRUE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0c", 3)));
}

}  // namespace
}  // namespace portico::auth

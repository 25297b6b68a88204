#include "src/base/strings.h"

#include <gtest/gtest.h>

namespace portico::base {
namespace {

TEST(StringsTest, PercentDecode) {
  EXPECT_EQ(PercentDecode("a%20b+c", true), "a b c");
  EXPECT_EQ(PercentDecode("a+b", false), "a+b");
  EXPECT_FALSE(PercentDecode("%", true));
  EXPECT_FALSE(PercentDecode("%2", true));
  EXPECT_FALSE(PercentDecode("%zz", true));
}

TEST(StringsTest, SplitEscaped) {
  auto parts = SplitEscaped("a\\,b,c|d", ',');
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0], "a,b");
  EXPECT_EQ(parts[1], "c|d");
}

TEST(StringsTest, NormalizeRemovesCaseAndAccents) {
  EXPECT_EQ(NormalizeForSearch("Éléonore MÜLLER"), "eleonore muller");
  EXPECT_EQ(NormalizeForSearch("Ñandú"), "nandu");
}

TEST(StringsTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("secret", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secreT"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secrets"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
  EXPECT_TRUE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0c", 3)));
}

TEST(StringsTest, HexEncodeIsLowerCaseTwoCharactersPerByte) {
  EXPECT_EQ(HexEncode(""), "");
  EXPECT_EQ(HexEncode(std::string("\x00\x0f\xa5\xff", 4)), "000fa5ff");
}

}  // namespace
}  // namespace portico::base

#include "src/json/json.h"

#include <gtest/gtest.h>

namespace portico::json {
namespace {

TEST(JsonTest, RoundTripKeepsNumberTextAndOrder) {
  const std::string text = R"({"b":1.50,"a":[0.010,1e2,-0],"c":{"x":true,"y":null},"s":"\u00e9\n"})";
  auto v = Parse(text);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(Serialize(*v), R"({"b":1.50,"a":[0.010,1e2,-0],"c":{"x":true,"y":null},"s":"é\n"})");
  EXPECT_EQ(v->Find("b")->str(), "1.50");
  EXPECT_EQ(v->object()[0].key, "b");
}

TEST(JsonTest, RejectsMalformedInput) {
  for (const char* bad : {"", "{", "[1,]", "{\"a\":1,}", "01", "1.", "\"\\x\"", "{\"a\" 1}",
                          "\"\xff\"", "\"\\ud800\"", "[1] 2", "{\"a\":1,\"a\":2}", "tru",
                          "\"a\x01\""}) {
    EXPECT_FALSE(Parse(bad).ok()) << bad;
  }
}

TEST(JsonTest, DepthLimit) {
  std::string deep(100, '[');
  deep += std::string(100, ']');
  EXPECT_FALSE(Parse(deep).ok());
  ParseOptions o;
  o.max_depth = 200;
  EXPECT_TRUE(Parse(deep, o).ok());
}

TEST(JsonTest, SurrogatePairsDecode) {
  auto v = Parse(R"("\ud83d\ude00")");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->str(), "\xF0\x9F\x98\x80");
}

TEST(JsonTest, SetReplacesAndAppends) {
  Value v = Value::MakeObject();
  v.Set("a", Value::Int(1));
  v.Set("b", Value::String("x"));
  v.Set("a", Value::Int(2));
  EXPECT_EQ(Serialize(v), R"({"a":2,"b":"x"})");
  EXPECT_TRUE(v.Erase("a"));
  EXPECT_FALSE(v.Erase("a"));
  EXPECT_EQ(Quote("a\"b\\c\x01"), "\"a\\\"b\\\\c\\u0001\"");
}

TEST(JsonTest, QuoteEscapesAtEveryPositionAndKeepsUtf8) {
  EXPECT_EQ(Quote(""), R"("")");
  EXPECT_EQ(Quote("plain text"), R"("plain text")");
  EXPECT_EQ(Quote("\nstart"), R"("\nstart")");
  EXPECT_EQ(Quote("end\t"), R"("end\t")");
  EXPECT_EQ(Quote("\"\""), R"("\"\"")");
  EXPECT_EQ(Quote("a\rb\bc\fd\x1f"), R"("a\rb\bc\fd\u001f")");
  EXPECT_EQ(Quote("caf\xc3\xa9 \xe2\x82\xac/"), "\"caf\xc3\xa9 \xe2\x82\xac/\"");
  // Whatever is quoted parses back to itself.
  std::string all;
  for (int c = 1; c < 128; ++c) {
    all.push_back(static_cast<char>(c));
  }
  auto back = Parse(Quote(all));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->str(), all);
}

}  // namespace
}  // namespace portico::json

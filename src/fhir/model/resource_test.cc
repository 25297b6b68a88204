#include "src/fhir/model/resource.h"

#include <gtest/gtest.h>

namespace portico::fhir {
namespace {

PreparedResource Prepare(std::string_view text, const std::string& type, const std::string& id) {
  auto v = json::Parse(text);
  EXPECT_TRUE(v.ok()) << text;
  return PrepareResource(std::move(*v), type, id);
}

std::string Instant(base::Millis at) {
  std::string out;
  json::AppendQuoted(base::FormatInstant(at), out);
  return out;
}

TEST(RenderStoredTest, PutsTheServerMetaRightAfterTheId) {
  PreparedResource p =
      Prepare(R"({"gender":"male","resourceType":"Patient","active":true})", "Patient", "p1");
  EXPECT_FALSE(p.has_meta);
  constexpr base::Millis kAt = 1700000000123;
  EXPECT_EQ(RenderStored(p, 3, kAt),
            R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"3","lastUpdated":)" +
                Instant(kAt) + R"(},"gender":"male","active":true})");
}

TEST(RenderStoredTest, KeepsTheClientMetaAfterTheServerFields) {
  PreparedResource p = Prepare(
      R"({"resourceType":"Coverage","id":"old","status":"active","meta":{"lastUpdated":"2020-01-01T00:00:00Z","profile":["http://example.org/p"],"versionId":"9"}})",
      "Coverage", "c1");
  EXPECT_TRUE(p.has_meta);
  EXPECT_EQ(RenderStored(p, 1, 0),
            R"({"resourceType":"Coverage","id":"c1","meta":{"versionId":"1","lastUpdated":)" +
                Instant(0) + R"(,"profile":["http://example.org/p"]},"status":"active"})");
}

TEST(RenderStoredTest, AMetaWithOnlyServerFieldsIsReplaced) {
  PreparedResource p = Prepare(
      R"({"resourceType":"Patient","meta":{"versionId":"4","lastUpdated":"2020-01-01T00:00:00Z"}})",
      "Patient", "p2");
  EXPECT_FALSE(p.has_meta);
  EXPECT_EQ(RenderStored(p, 5, 0),
            R"({"resourceType":"Patient","id":"p2","meta":{"versionId":"5","lastUpdated":)" +
                Instant(0) + "}}");
}

TEST(RenderStoredTest, ANonObjectMetaIsDropped) {
  PreparedResource p =
      Prepare(R"({"resourceType":"Patient","meta":"x","active":false})", "Patient", "p3");
  std::string stored = RenderStored(p, 1, 0);
  EXPECT_EQ(stored,
            R"({"resourceType":"Patient","id":"p3","meta":{"versionId":"1","lastUpdated":)" +
                Instant(0) + R"(},"active":false})");
  EXPECT_TRUE(json::Parse(stored).ok());
}

// What is stored prepares to the same content hash and text: re-importing an export (or a PUT
// of what a read returned) is recognized as unchanged.
TEST(RenderStoredTest, AStoredBodyPreparesToTheSameContent) {
  for (
      std::string_view source : {
          std::string_view(R"({"resourceType":"Observation","status":"final"})"),
          std::string_view(
              R"({"resourceType":"Observation","meta":{"security":[{"code":"R"}]},"status":"final","valueString":"a\"b\u00e9"})"),
      }) {
    PreparedResource first = Prepare(source, "Observation", "o1");
    std::string stored = RenderStored(first, 7, 1234);
    auto parsed = json::Parse(stored);
    ASSERT_TRUE(parsed.ok()) << stored;
    PreparedResource again = PrepareResource(std::move(*parsed), "Observation", "o1");
    EXPECT_EQ(again.content_hash, first.content_hash) << stored;
    EXPECT_EQ(again.text, first.text);
    EXPECT_EQ(RenderStored(again, 7, 1234), stored);
  }
}

}  // namespace
}  // namespace portico::fhir

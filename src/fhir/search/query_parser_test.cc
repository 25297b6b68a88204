#include "src/fhir/search/query_parser.h"

#include <gtest/gtest.h>

namespace portico::fhir {
namespace {

class QueryParserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto reg = SearchParamRegistry::LoadBuiltin();
    ASSERT_TRUE(reg.ok()) << reg.status().message();
    registry_ = *reg;
    options_.base_url = "http://h/fhir";
  }
  StatusOr<ParsedSearch> Parse(const std::string& type, const QueryPairs& pairs) {
    return ParseSearch(*registry_, type, pairs, options_);
  }
  std::shared_ptr<const SearchParamRegistry> registry_;
  SearchOptions options_;
};

TEST_F(QueryParserTest, TokenForms) {
  auto p = Parse("Observation", {{"code", "http://loinc.org|8867-4,|x,y,http://s|"}});
  ASSERT_TRUE(p.ok()) << p.status().message();
  const auto& v = p->query.conditions[0].values;
  ASSERT_EQ(v.size(), 4u);
  EXPECT_TRUE(v[0].has_system);
  EXPECT_EQ(v[0].system, "http://loinc.org");
  EXPECT_EQ(v[0].code, "8867-4");
  EXPECT_TRUE(v[1].has_system);
  EXPECT_EQ(v[1].system, "");
  EXPECT_FALSE(v[2].has_system);
  EXPECT_EQ(v[3].code, "");
}

TEST_F(QueryParserTest, EscapesSurviveNestedSplits) {
  auto p = Parse("Observation", {{"code", "a\\|b|c\\,d"}});
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->query.conditions[0].values.size(), 1u);
  EXPECT_EQ(p->query.conditions[0].values[0].system, "a|b");
  EXPECT_EQ(p->query.conditions[0].values[0].code, "c,d");
}

TEST_F(QueryParserTest, DatePrefixesAndErrors) {
  for (const char* prefix : {"eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"}) {
    auto p = Parse("Observation", {{"date", std::string(prefix) + "2020-02"}});
    ASSERT_TRUE(p.ok()) << prefix;
  }
  auto p = Parse("Observation", {{"date", "2020-02"}});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->query.conditions[0].values[0].high - p->query.conditions[0].values[0].low,
            29LL * 86400000);
  for (const char* bad : {"xx2020", "2020-13", "2020-02-30T", "ge"}) {
    auto e = Parse("Observation", {{"date", bad}});
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_NE(e.status().message().find("'date'"), std::string::npos) << e.status().message();
  }
  EXPECT_FALSE(Parse("Observation", {{"date:exact", "2020"}}).ok());
  EXPECT_FALSE(Parse("Observation", {{"code:contains", "x"}}).ok());
}

TEST_F(QueryParserTest, CompositeAndReferenceModifiers) {
  auto p = Parse("Observation",
                 {{"code-value-quantity", "http://loinc.org|8480-6$lt60|http://unitsofmeasure.org|mm[Hg]"}});
  ASSERT_TRUE(p.ok()) << p.status().message();
  const SearchCondition& c = p->query.conditions[0];
  ASSERT_EQ(c.components.size(), 2u);
  ASSERT_EQ(c.values[0].parts.size(), 2u);
  EXPECT_EQ(c.values[0].parts[0].code, "8480-6");
  EXPECT_EQ(c.values[0].parts[1].prefix, Prefix::kLt);
  EXPECT_EQ(c.values[0].parts[1].unit_code, "mm[Hg]");
  EXPECT_FALSE(Parse("Observation", {{"code-value-quantity", "8480-6"}}).ok());
  auto r = Parse("ExplanationOfBenefit", {{"patient:identifier", "urn:s|42"}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->query.conditions[0].values[0].code, "42");
  auto abs = Parse("ExplanationOfBenefit", {{"patient", "http://h/fhir/Patient/7"}});
  ASSERT_TRUE(abs.ok());
  EXPECT_EQ(abs->query.conditions[0].values[0].ref_type, "Patient");
  EXPECT_EQ(abs->query.conditions[0].values[0].ref_id, "7");
}

TEST_F(QueryParserTest, UnknownParametersAndCanonical) {
  auto p = Parse("Observation", {{"foo", "1"}, {"code", "x"}, {"_count", "100000"},
                                 {"_include", "Nope:x"}, {"_format", "json"}});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->query.canonical, "code=x&_count=200");
  EXPECT_EQ(p->ignored.size(), 2u);
  options_.strict = true;
  auto s = Parse("Observation", {{"foo", "1"}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("foo"), std::string::npos);
  // An unknown parameter inside a chain would widen the search if dropped: always an error.
  options_.strict = false;
  EXPECT_FALSE(Parse("ExplanationOfBenefit", {{"patient.nope", "1"}}).ok());
}

TEST_F(QueryParserTest, CursorRoundTrip) {
  PageCursor c;
  c.active = true;
  c.backward = true;
  c.seq = 42;
  SortValue a;
  a.kind = SortValue::Kind::kText;
  a.text = "a~b.c";
  SortValue b;
  b.kind = SortValue::Kind::kReal;
  b.real = -1.25;
  SortValue n;
  c.values = {a, b, n};
  PageCursor d;
  ASSERT_TRUE(DecodeCursor(EncodeCursor(c), 3, d));
  EXPECT_TRUE(d.backward);
  EXPECT_EQ(d.seq, 42);
  EXPECT_EQ(d.values, c.values);
  EXPECT_FALSE(DecodeCursor(EncodeCursor(c), 2, d));
  EXPECT_FALSE(DecodeCursor("x1", 0, d));
  EXPECT_FALSE(DecodeCursor("n1~tzz", 1, d));
}

}  // namespace
}  // namespace portico::fhir

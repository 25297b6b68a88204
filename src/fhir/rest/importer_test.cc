#include "src/fhir/rest/importer.h"

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "src/store/testing/test_backends.h"

namespace portico::fhir {
namespace {

class ImporterThreads : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    auto reg = SearchParamRegistry::LoadBuiltin();
    ASSERT_TRUE(reg.ok()) << reg.status().message();
    registry_ = *reg;
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '_');
    auto db = store::testing::TestDatabase::Create("sqlite", "importer_" + name);
    ASSERT_TRUE(db.ok()) << db.status().message();
    db_ = std::move(*db);
    ASSERT_TRUE(db_->Open(registry_, clock_, store_, auth_).ok());
  }
  void TearDown() override {
    auth_.reset();
    store_.reset();
    db_.reset();
  }

  base::SystemClock clock_;
  std::shared_ptr<const SearchParamRegistry> registry_;
  std::unique_ptr<store::testing::TestDatabase> db_;
  std::unique_ptr<store::ResourceStore> store_;
  std::unique_ptr<store::AuthStore> auth_;
};

std::string Lines(int n, const std::vector<int>& bad_lines) {
  std::string out;
  for (int i = 1; i <= n; ++i) {
    if (std::find(bad_lines.begin(), bad_lines.end(), i) != bad_lines.end()) {
      out += "{\"resourceType\":\"Patient\",\"id\":\"p" + std::to_string(i) + "\",\"gender\":7}\n";
    } else {
      out += "{\"resourceType\":\"Patient\",\"id\":\"p" + std::to_string(i) +
             "\",\"birthDate\":\"1970-01-01\",\"name\":[{\"family\":\"F" + std::to_string(i) +
             "\"}]}\n";
    }
  }
  return out;
}

TEST_P(ImporterThreads, ErrorsComeInFileOrderAndTheFileStaysAtomic) {
  auto model = ElementModel::LoadBuiltin();
  ASSERT_TRUE(model.ok());
  Importer importer(*store_, registry_, [m = *model](const json::Value& r) {
    std::vector<std::string> out;
    for (const ValidationIssue& i : ValidateResource(*m, r)) {
      out.push_back(i.path + ": " + i.message);
    }
    return out;
  });
  importer.set_threads(GetParam());
  ImportCounts counts;
  std::vector<ImportError> errors;
  // Bad lines in the first, middle and last parts of any split.
  EXPECT_FALSE(importer.ImportContent("f.ndjson", Lines(1000, {3, 499, 500, 998}), counts, errors));
  ASSERT_EQ(errors.size(), 4u);
  std::vector<int64_t> entries;
  for (const ImportError& e : errors) {
    entries.push_back(e.entry);
    EXPECT_EQ(e.source, "f.ndjson");
  }
  EXPECT_EQ(entries, (std::vector<int64_t>{3, 499, 500, 998}));
  EXPECT_EQ(counts.total(), 0);
  auto none = store_->Read("Patient", "p1");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_P(ImporterThreads, StoresEveryLineOnceWhateverTheSplit) {
  Importer importer(*store_, registry_);
  importer.set_threads(GetParam());
  ImportCounts counts;
  std::vector<ImportError> errors;
  std::string content = Lines(777, {});
  ASSERT_TRUE(importer.ImportContent("g.ndjson", content, counts, errors));
  EXPECT_EQ(counts.created, 777);
  for (int i : {1, 388, 389, 777}) {
    auto r = store_->Read("Patient", "p" + std::to_string(i));
    ASSERT_TRUE(r.ok() && r->has_value()) << i;
    EXPECT_NE((*r)->body.find("\"family\":\"F" + std::to_string(i) + "\""), std::string::npos);
  }
  // Keys come in file order too, and a second run changes nothing.
  std::vector<std::string> keys = importer.Keys(content);
  ASSERT_EQ(keys.size(), 777u);
  EXPECT_EQ(keys.front(), "Patient/p1");
  EXPECT_EQ(keys.back(), "Patient/p777");
  ImportCounts again;
  ASSERT_TRUE(importer.ImportContent("g.ndjson", content, again, errors));
  EXPECT_EQ(again.unchanged, 777);
  EXPECT_EQ(again.created + again.updated, 0);
}

INSTANTIATE_TEST_SUITE_P(Threads, ImporterThreads, ::testing::Values(1, 2, 4, 16));

TEST(ImporterQuickKeysTest, MatchKeysForPlainNdjson) {
  auto reg = SearchParamRegistry::LoadBuiltin();
  ASSERT_TRUE(reg.ok());
  base::SystemClock clock;
  auto db = store::testing::TestDatabase::Create("sqlite", "importer_quick_keys");
  ASSERT_TRUE(db.ok());
  std::unique_ptr<store::ResourceStore> store;
  std::unique_ptr<store::AuthStore> auth;
  ASSERT_TRUE((*db)->Open(*reg, clock, store, auth).ok());
  Importer importer(*store, *reg);
  // Nested "id" members, escapes and brackets inside strings, numbers, literals and spaces.
  const std::string content =
      Lines(5, {}) +
      R"({"resourceType":"Observation","status":"final","code":{"id":"inner","text":"a\"}],{b"},)"
      R"("valueQuantity":{"value":-1.5e3},"id":"o1","extension":[{"url":"u","valueBoolean":true}]})"
      "\n\n"
      R"(  { "id" : "c1" , "resourceType" : "Coverage", "status":"active", "period":null }  )"
      "\n";
  auto quick = Importer::QuickKeys(content);
  ASSERT_TRUE(quick.has_value());
  EXPECT_EQ(*quick, importer.Keys(content));
  EXPECT_EQ(quick->size(), 7u);
  EXPECT_EQ((*quick)[5], "Observation/o1");
  EXPECT_EQ((*quick)[6], "Coverage/c1");
}

TEST(ImporterQuickKeysTest, AnythingElseIsLeftToTheParser) {
  const std::string good = R"({"resourceType":"Patient","id":"p1"})"
                           "\n";
  ASSERT_TRUE(Importer::QuickKeys(good + good).has_value());
  for (const std::string& line : {
           std::string(R"({"resourceType":"Bundle","id":"b","type":"collection"})"),
           std::string(R"({"resourceType":"Patient","active":true})"),
           std::string(R"({"resourceType":"Patient","id":"p\u0031"})"),
           std::string(R"({"resourceType":"Patient","id":""})"),
           std::string(R"({"resourceType":"Patient","id":7})"),
           std::string(R"({"resourceType":"Patient","text":"unterminated,"id":"p1"})"),
           std::string(R"({"resourceType":"Patient","id":"p1)"),
           std::string(R"({"id":"p1","resourceType":)"),
           std::string(R"(["resourceType","Patient"])"),
       }) {
    EXPECT_FALSE(Importer::QuickKeys(good + line + "\n").has_value()) << line;
  }
  // Once both are read the rest of the line is not: whether it parses is for the import to find
  // (the file then fails, and its keys only matter if one repeats, which brings the full check).
  auto early = Importer::QuickKeys(good + R"({"id":"p2","resourceType":"Patient",broken)" + "\n");
  ASSERT_TRUE(early.has_value());
  EXPECT_EQ(*early, (std::vector<std::string>{"Patient/p1", "Patient/p2"}));
  // A single resource or a Bundle file is not NDJSON.
  EXPECT_FALSE(Importer::QuickKeys(R"({"resourceType":"Patient","id":"p1"})").has_value());
}

}  // namespace
}  // namespace portico::fhir

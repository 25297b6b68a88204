#include "src/store/sqlite/sqlite_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "src/fhir/model/resource.h"
#include "src/fhir/search/query_parser.h"

namespace portico::store::sqlite {
namespace {

class FakeClock : public base::Clock {
 public:
  base::Millis NowMillis() const override { return now_; }
  void Advance(base::Millis d) { now_ += d; }

 private:
  base::Millis now_ = 1717243200000;
};

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto reg = fhir::SearchParamRegistry::LoadBuiltin();
    ASSERT_TRUE(reg.ok()) << reg.status().message();
    registry_ = *reg;
    path_ = std::filesystem::temp_directory_path() /
            ("portico-store-test-" + std::to_string(getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
    std::filesystem::remove(path_);
    auto s = SqliteStore::Open(path_.string(), registry_, clock_);
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(path_.string() + suffix);
    }
  }

  WriteResult Put(const std::string& text) {
    auto v = json::Parse(text);
    EXPECT_TRUE(v.ok());
    std::string type(v->GetString("resourceType"));
    std::string id(v->GetString("id"));
    auto prepared = fhir::PrepareResource(std::move(*v), type, id);
    auto index = fhir::ExtractIndex(*registry_, type, prepared.value);
    auto batch = store_->BeginWrite();
    EXPECT_TRUE(batch.ok());
    auto r = (*batch)->Put(
        type, id, prepared.content_hash,
        [&](int64_t ver, base::Millis at) { return fhir::RenderStored(prepared.value, ver, at); },
        index);
    EXPECT_TRUE(r.ok()) << r.status().message();
    EXPECT_TRUE((*batch)->Commit().ok());
    clock_.Advance(1000);
    return r->result;
  }

  std::vector<std::string> Search(const std::string& type, fhir::QueryPairs pairs,
                                  const fhir::AccessScope& scope = {}) {
    fhir::SearchOptions so;
    so.base_url = "http://x/fhir";
    auto parsed = fhir::ParseSearch(*registry_, type, pairs, so);
    EXPECT_TRUE(parsed.ok()) << parsed.status().message();
    if (!parsed.ok()) {
      return {};
    }
    auto page = store_->Search(parsed->query, scope);
    EXPECT_TRUE(page.ok()) << page.status().message();
    std::vector<std::string> out;
    for (const auto& r : page->matches) {
      out.push_back(r.type + "/" + r.id);
    }
    for (const auto& r : page->includes) {
      out.push_back("+" + r.type + "/" + r.id);
    }
    return out;
  }

  FakeClock clock_;
  std::shared_ptr<const fhir::SearchParamRegistry> registry_;
  std::filesystem::path path_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(SqliteStoreTest, VersionsOnlyWhenContentChanges) {
  EXPECT_EQ(Put(R"({"resourceType":"Patient","id":"a","active":true})"), WriteResult::kCreated);
  EXPECT_EQ(Put(R"({"resourceType":"Patient","id":"a","active":true,"meta":{"versionId":"9"}})"),
            WriteResult::kUnchanged);
  EXPECT_EQ(Put(R"({"resourceType":"Patient","id":"a","active":false})"), WriteResult::kUpdated);
  auto cur = store_->Read("Patient", "a");
  ASSERT_TRUE(cur.ok() && cur->has_value());
  EXPECT_EQ((*cur)->version, 2);
  EXPECT_NE((*cur)->body.find("\"versionId\":\"2\""), std::string::npos);
  auto v1 = store_->ReadVersion("Patient", "a", 1);
  ASSERT_TRUE(v1.ok() && v1->has_value());
  EXPECT_NE((*v1)->body.find("\"active\":true"), std::string::npos);
  HistoryQuery hq;
  hq.type = "Patient";
  hq.id = "a";
  auto hist = store_->History(hq);
  ASSERT_TRUE(hist.ok());
  ASSERT_EQ(hist->size(), 2u);
  EXPECT_EQ((*hist)[0].version, 2);
}

TEST_F(SqliteStoreTest, UncommittedBatchLeavesNothing) {
  {
    auto batch = store_->BeginWrite();
    ASSERT_TRUE(batch.ok());
    auto v = json::Parse(R"({"resourceType":"Patient","id":"tmp"})");
    auto prepared = fhir::PrepareResource(std::move(*v), "Patient", "tmp");
    auto r = (*batch)->Put(
        "Patient", "tmp", prepared.content_hash,
        [&](int64_t ver, base::Millis at) { return fhir::RenderStored(prepared.value, ver, at); },
        {});
    ASSERT_TRUE(r.ok());
  }
  auto cur = store_->Read("Patient", "tmp");
  ASSERT_TRUE(cur.ok());
  EXPECT_FALSE(cur->has_value());
}

TEST_F(SqliteStoreTest, SearchByTypeOfParameter) {
  Put(R"({"resourceType":"Patient","id":"p1","name":[{"family":"Müller","given":["Eva"]}],
          "gender":"female","birthDate":"1980-05-03",
          "identifier":[{"system":"urn:mb","value":"M1"}]})");
  Put(R"({"resourceType":"Patient","id":"p2","name":[{"family":"Smith"}],"gender":"male",
          "birthDate":"1990"})");
  Put(R"({"resourceType":"Observation","id":"o1","status":"final","subject":{"reference":"Patient/p1"},
          "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
          "code":{"coding":[{"system":"http://loinc.org","code":"2339-0"}]},
          "effectiveDateTime":"2021-03-04T10:00:00Z","valueQuantity":{"value":100,"system":"http://unitsofmeasure.org","code":"mg/dL"}})");
  Put(R"({"resourceType":"Observation","id":"o2","status":"amended","subject":{"reference":"Patient/p2"},
          "code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"effectivePeriod":{"start":"2022-01-01","end":"2022-01-31"}})");
  using V = std::vector<std::string>;
  EXPECT_EQ(Search("Patient", {{"name", "muller"}}), V{"Patient/p1"});
  EXPECT_EQ(Search("Patient", {{"name:exact", "Smith"}}), V{"Patient/p2"});
  EXPECT_EQ(Search("Patient", {{"name:contains", "mit"}}), V{"Patient/p2"});
  EXPECT_EQ(Search("Patient", {{"gender", "female"}}), V{"Patient/p1"});
  EXPECT_EQ(Search("Patient", {{"identifier", "urn:mb|M1"}}), V{"Patient/p1"});
  EXPECT_EQ(Search("Patient", {{"identifier", "urn:other|M1"}}), V{});
  EXPECT_EQ(Search("Patient", {{"birthdate", "1980"}}), V{"Patient/p1"});
  EXPECT_EQ(Search("Patient", {{"birthdate", "gt1985-01-01"}}), V{"Patient/p2"});
  EXPECT_EQ(Search("Patient", {{"birthdate", "le1980-05-03"}}), V{"Patient/p1"});
  EXPECT_EQ(Search("Observation", {{"patient", "p1"}}), V{"Observation/o1"});
  EXPECT_EQ(Search("Observation", {{"patient", "Patient/p2"}}), V{"Observation/o2"});
  EXPECT_EQ(Search("Observation", {{"subject", "http://x/fhir/Patient/p2"}}), V{"Observation/o2"});
  EXPECT_EQ(Search("Observation", {{"status", "final,amended"}}).size(), 2u);
  EXPECT_EQ(Search("Observation", {{"status:not", "final"}}), V{"Observation/o2"});
  EXPECT_EQ(Search("Observation", {{"code", "http://loinc.org|2339-0"}}), V{"Observation/o1"});
  EXPECT_EQ(Search("Observation", {{"category", "laboratory"}, {"patient", "p1"}}),
            V{"Observation/o1"});
  EXPECT_EQ(Search("Observation", {{"date", "2022-01-15"}}), V{});  // period wider than the day
  EXPECT_EQ(Search("Observation", {{"date", "ge2022-01-15"}}), V{"Observation/o2"});
  EXPECT_EQ(Search("Observation", {{"date", "2022-01"}}), V{"Observation/o2"});
  EXPECT_EQ(Search("Observation", {{"value-quantity", "100"}}), V{"Observation/o1"});
  EXPECT_EQ(Search("Observation", {{"value-quantity", "gt99|http://unitsofmeasure.org|mg/dL"}}),
            V{"Observation/o1"});
  EXPECT_EQ(Search("Observation", {{"value-quantity", "lt99"}}), V{});
  EXPECT_EQ(Search("Observation", {{"category:missing", "true"}}), V{"Observation/o2"});
  EXPECT_EQ(Search("Observation", {{"patient.gender", "male"}}), V{"Observation/o2"});
  EXPECT_EQ(Search("Patient", {{"_has:Observation:patient:code", "2339-0"}}), V{"Patient/p1"});
  EXPECT_EQ(Search("Observation", {{"_id", "o2"}, {"_include", "Observation:patient"}}),
            (V{"Observation/o2", "+Patient/p2"}));
  EXPECT_EQ(Search("Patient", {{"_id", "p1"}, {"_revinclude", "Observation:patient"}}),
            (V{"Patient/p1", "+Observation/o1"}));
  EXPECT_EQ(Search("Patient", {{"_sort", "-birthdate"}}), (V{"Patient/p2", "Patient/p1"}));
}

TEST_F(SqliteStoreTest, PatientScopeIsPartOfTheQuery) {
  Put(R"({"resourceType":"Organization","id":"org1","name":"Payer"})");
  Put(R"({"resourceType":"Organization","id":"org2","name":"Other"})");
  Put(R"({"resourceType":"Patient","id":"p1","managingOrganization":{"reference":"Organization/org1"}})");
  Put(R"({"resourceType":"Patient","id":"p2"})");
  Put(R"({"resourceType":"Observation","id":"o1","status":"final","code":{"text":"a"},"subject":{"reference":"Patient/p1"}})");
  Put(R"({"resourceType":"Observation","id":"o2","status":"final","code":{"text":"a"},"subject":{"reference":"Patient/p2"}})");
  fhir::AccessScope scope;
  scope.unrestricted = false;
  scope.patient_ids = {"p1"};
  using V = std::vector<std::string>;
  EXPECT_EQ(Search("Observation", {}, scope), V{"Observation/o1"});
  EXPECT_EQ(Search("Observation", {{"patient", "p2"}}, scope), V{});
  EXPECT_EQ(Search("Patient", {}, scope), V{"Patient/p1"});
  EXPECT_EQ(Search("Organization", {}, scope), V{"Organization/org1"});
  EXPECT_EQ(Search("Patient", {{"_revinclude", "Observation:patient"}}, scope),
            (V{"Patient/p1", "+Observation/o1"}));
  EXPECT_EQ(Search("Observation", {{"patient.name", "x"}}, scope), V{});
  fhir::AccessScope none;
  none.unrestricted = false;
  EXPECT_EQ(Search("Observation", {}, none), V{});
}

TEST_F(SqliteStoreTest, KeysetPagingIsStable) {
  for (int i = 0; i < 7; ++i) {
    Put(R"({"resourceType":"Patient","id":"k)" + std::to_string(i) + R"("})");
  }
  fhir::SearchQuery q;
  q.type = "Patient";
  q.count = 3;
  std::vector<std::string> seen;
  for (int page = 0; page < 5; ++page) {
    auto r = store_->Search(q, {});
    ASSERT_TRUE(r.ok());
    for (const auto& m : r->matches) {
      seen.push_back(m.id);
    }
    if (!r->has_more) {
      break;
    }
    q.after_seq = r->last_seq;
  }
  EXPECT_EQ(seen.size(), 7u);
}


TEST_F(SqliteStoreTest, CompositeComponentsComeFromTheSameElement) {
  // Blood pressure: systolic 120, diastolic 80 (as components).
  Put(R"({"resourceType":"Observation","id":"bp","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},
          "component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":120,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}},
                       {"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":80,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]})");
  Put(R"({"resourceType":"Observation","id":"hr","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},
          "valueQuantity":{"value":44,"system":"http://unitsofmeasure.org","code":"/min"},
          "encounter":{"display":"no reference"},"performer":[{"identifier":{"system":"urn:npi","value":"123"}}]})");
  using V = std::vector<std::string>;
  EXPECT_EQ(Search("Observation", {{"component-code-value-quantity", "http://loinc.org|8480-6$gt100"}}),
            V{"Observation/bp"});
  // 8462-4 is 80: no match although another component of the same resource is above 100.
  EXPECT_EQ(Search("Observation", {{"component-code-value-quantity", "8462-4$gt100"}}), V{});
  EXPECT_EQ(Search("Observation", {{"component-code-value-quantity", "8462-4$lt100|http://unitsofmeasure.org|mm[Hg]"}}),
            V{"Observation/bp"});
  EXPECT_EQ(Search("Observation", {{"code-value-quantity", "8867-4$44"}}), V{"Observation/hr"});
  EXPECT_EQ(Search("Observation", {{"combo-code-value-quantity", "8867-4$gt40,8480-6$gt119"}}),
            (V{"Observation/bp", "Observation/hr"}));
  EXPECT_EQ(Search("Observation", {{"code-value-quantity:missing", "true"}}), V{"Observation/bp"});
  EXPECT_EQ(Search("Observation", {{"performer:identifier", "urn:npi|123"}}), V{"Observation/hr"});
  EXPECT_EQ(Search("Observation", {{"encounter:missing", "true"}}).size(), 2u);
}

TEST_F(SqliteStoreTest, SortedKeysetPagingBothWays) {
  // Dates with ties and a missing value; descending order, pages of 2, forward then backward.
  const char* dates[] = {"2020-01-01", "2021-06-01", "2020-01-01", "", "2019-03-03", "2021-06-01"};
  for (int i = 0; i < 6; ++i) {
    std::string d = dates[i];
    Put(R"({"resourceType":"Observation","id":"s)" + std::to_string(i) +
        R"(","status":"final","code":{"text":"x"})" +
        (d.empty() ? "" : R"(,"effectiveDateTime":")" + d + "\"") + "}");
  }
  auto parsed = fhir::ParseSearch(*registry_, "Observation", {{"_sort", "-date"}, {"_count", "2"}},
                                  fhir::SearchOptions{});
  ASSERT_TRUE(parsed.ok());
  fhir::SearchQuery q = std::move(parsed->query);
  std::vector<std::vector<std::string>> pages;
  std::vector<store::SearchPage> raw;
  while (true) {
    auto r = store_->Search(q, {});
    ASSERT_TRUE(r.ok()) << r.status().message();
    std::vector<std::string> ids;
    for (const auto& m : r->matches) {
      ids.push_back(m.id);
    }
    pages.push_back(ids);
    raw.push_back(*r);
    if (!r->has_more) {
      break;
    }
    q.cursor = {true, false, r->last_seq, r->last_key};
  }
  using V = std::vector<std::string>;
  // 2021-06-01 (s1, s5), 2020-01-01 (s0, s2), 2019-03-03 (s4), missing (s3) last.
  EXPECT_EQ(pages, (std::vector<V>{{"s1", "s5"}, {"s0", "s2"}, {"s4", "s3"}}));
  // Backward from the last page gives the middle page, then the first.
  q.cursor = {true, true, raw[2].first_seq, raw[2].first_key};
  auto back = store_->Search(q, {});
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->matches.size(), 2u);
  EXPECT_EQ(back->matches[0].id, "s0");
  EXPECT_EQ(back->matches[1].id, "s2");
  EXPECT_TRUE(back->has_before);
  q.cursor = {true, true, back->first_seq, back->first_key};
  auto first = store_->Search(q, {});
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->matches.size(), 2u);
  EXPECT_EQ(first->matches[0].id, "s1");
  EXPECT_FALSE(first->has_before);
  // A resource added later before the cursor does not shift the next page.
  Put(R"({"resourceType":"Observation","id":"late","status":"final","code":{"text":"x"},"effectiveDateTime":"2022-01-01"})");
  q.cursor = {true, false, raw[0].last_seq, raw[0].last_key};
  auto again = store_->Search(q, {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->matches[0].id, "s0");
}

}  // namespace
}  // namespace portico::store::sqlite

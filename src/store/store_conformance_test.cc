// The store conformance suite: the same cases against every ResourceStore / AuthStore backend
// (SQLite always; PostgreSQL when PORTICO_TEST_PG names a server, and always in CI). A backend
// passes only if it behaves exactly like the others: versions, history, every search parameter
// type, modifiers, chains, _has, includes, scopes, keyset paging, and the authorization
// server's data with its compare-and-swap and single-use contracts.
#include <algorithm>
#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "src/fhir/model/resource.h"
#include "src/fhir/search/query_parser.h"
#include "src/store/auth_store.h"
#include "src/store/resource_store.h"
#include "src/store/store_metrics.h"
#include "src/store/testing/test_backends.h"

namespace portico::store {
namespace {

constexpr base::Millis kNow = 1717243200000;

class FakeClock : public base::Clock {
 public:
  base::Millis NowMillis() const override { return now_; }
  void Advance(base::Millis d) { now_ += d; }

 private:
  base::Millis now_ = kNow;
};

class StoreConformance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (std::string why = testing::SkipReason(GetParam()); !why.empty()) {
      GTEST_SKIP() << why;
    }
    auto reg = fhir::SearchParamRegistry::LoadBuiltin();
    ASSERT_TRUE(reg.ok()) << reg.status().message();
    registry_ = *reg;
    auto db = testing::TestDatabase::Create(
        GetParam(), ::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_TRUE(db.ok()) << db.status().message();
    db_ = std::move(*db);
    Status s = db_->Open(registry_, clock_, store_, auth_);
    ASSERT_TRUE(s.ok()) << s.message();
  }
  void TearDown() override {
    auth_.reset();
    store_.reset();
    db_.reset();
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
        [&](int64_t ver, base::Millis at) { return fhir::RenderStored(prepared, ver, at); }, index);
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

  static Grant MakeGrant(const std::string& id, const std::string& user, const std::string& patient,
                         const std::string& refresh) {
    Grant g;
    g.grant_id = id;
    g.client_id = "app";
    g.username = user;
    g.patient_id = patient;
    g.scope = "launch/patient patient/*.rs";
    g.refresh_hash = refresh;
    g.refresh_expires_at = kNow + 3600000;
    g.created_at = kNow;
    g.last_used_at = kNow;
    return g;
  }

  static AuditEvent MakeEvent(base::Millis at, std::string event, std::string client,
                              std::string user, std::string patient, std::string detail) {
    AuditEvent e;
    e.at = at;
    e.event = std::move(event);
    e.client_id = std::move(client);
    e.username = std::move(user);
    e.patient_id = std::move(patient);
    e.detail = std::move(detail);
    return e;
  }

  static AuthCode MakeCode(const std::string& hash) {
    AuthCode c;
    c.code_hash = hash;
    c.client_id = "app";
    c.redirect_uri = "https://app.example/cb";
    c.scope = "openid fhirUser patient/*.rs";
    c.username = "alice";
    c.patient_id = "p1";
    c.nonce = "n-1";
    c.code_challenge = "challenge";
    c.code_challenge_method = "S256";
    c.grant_id = "g-1";
    c.expires_at = kNow + 60000;
    return c;
  }

  FakeClock clock_;
  std::shared_ptr<const fhir::SearchParamRegistry> registry_;
  std::unique_ptr<testing::TestDatabase> db_;
  std::unique_ptr<ResourceStore> store_;
  std::unique_ptr<AuthStore> auth_;
};

TEST_P(StoreConformance, VersionsOnlyWhenContentChanges) {
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

// Every store call is seen by /metrics: the connection it held, for how long, and the wait.
TEST_P(StoreConformance, StoreCallsShowInTheMetrics) {
  bool sqlite = GetParam() == "sqlite";
  StoreMetrics::Pool writes = sqlite ? StoreMetrics::kSqliteWriter : StoreMetrics::kPostgresPrimary;
  StoreMetrics::Pool reads = sqlite ? StoreMetrics::kSqliteReader : StoreMetrics::kPostgresPrimary;
  StoreMetrics& m = StoreMetrics::Global();
  StoreMetrics::Snapshot w0 = m.Get(writes);
  Put(R"({"resourceType":"Patient","id":"m","active":true})");
  StoreMetrics::Snapshot w1 = m.Get(writes);
  EXPECT_GT(w1.holds, w0.holds);
  EXPECT_GT(w1.waits, w0.waits);
  EXPECT_EQ(w1.in_use, w0.in_use);  // given back
  EXPECT_GE(w1.open, 1);
  EXPECT_GE(w1.capacity, 1);
  StoreMetrics::Snapshot r0 = m.Get(reads);
  {
    auto cur = store_->Read("Patient", "m");
    ASSERT_TRUE(cur.ok() && cur->has_value());
  }
  StoreMetrics::Snapshot r1 = m.Get(reads);
  EXPECT_EQ(r1.holds, r0.holds + 1);
  EXPECT_EQ(r1.in_use, r0.in_use);
  EXPECT_GE(r1.open, 1);
  // A request's read scope holds one connection for all its reads.
  {
    std::unique_ptr<ReadScope> scope = store_->PinReads();
    StoreMetrics::Snapshot in = m.Get(reads);
    ASSERT_TRUE(store_->Read("Patient", "m").ok());
    ASSERT_TRUE(store_->Read("Patient", "m").ok());
    if (scope != nullptr) {
      EXPECT_EQ(m.Get(reads).holds, in.holds);
    }
  }
  std::string text = m.RenderPrometheus();
  EXPECT_NE(text.find(std::string("portico_store_hold_seconds_count{pool=\"") +
                      StoreMetrics::PoolName(writes) + "\"}"),
            std::string::npos)
      << text;
}

// A batch reads and searches on its own connection, under its lock, what is committed.
TEST_P(StoreConformance, BatchReadsAndSearchesUnderItsLock) {
  Put(R"({"resourceType":"Patient","id":"w1","gender":"female"})");
  auto batch = store_->BeginWrite();
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  auto cur = (*batch)->Read("Patient", "w1");
  ASSERT_TRUE(cur.ok()) << cur.status().message();
  ASSERT_TRUE(cur->has_value());
  EXPECT_EQ((*cur)->version, 1);
  auto none = (*batch)->Read("Patient", "absent");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  fhir::SearchOptions so;
  so.base_url = "http://x/fhir";
  auto parsed = fhir::ParseSearch(*registry_, "Patient", {{"gender", "female"}}, so);
  ASSERT_TRUE(parsed.ok());
  auto page = (*batch)->Search(parsed->query, {});
  ASSERT_TRUE(page.ok()) << page.status().message();
  ASSERT_EQ(page->matches.size(), 1u);
  EXPECT_EQ(page->matches[0].id, "w1");
  EXPECT_TRUE((*batch)->Commit().ok());
}

TEST_P(StoreConformance, UncommittedBatchLeavesNothing) {
  {
    auto batch = store_->BeginWrite();
    ASSERT_TRUE(batch.ok());
    auto v = json::Parse(R"({"resourceType":"Patient","id":"tmp"})");
    auto prepared = fhir::PrepareResource(std::move(*v), "Patient", "tmp");
    auto r = (*batch)->Put(
        "Patient", "tmp", prepared.content_hash,
        [&](int64_t ver, base::Millis at) { return fhir::RenderStored(prepared, ver, at); }, {});
    ASSERT_TRUE(r.ok());
  }
  auto cur = store_->Read("Patient", "tmp");
  ASSERT_TRUE(cur.ok());
  EXPECT_FALSE(cur->has_value());
}

TEST_P(StoreConformance, SearchByTypeOfParameter) {
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

TEST_P(StoreConformance, PatientScopeIsPartOfTheQuery) {
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

TEST_P(StoreConformance, KeysetPagingIsStable) {
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

TEST_P(StoreConformance, CompositeComponentsComeFromTheSameElement) {
  // Blood pressure: systolic 120, diastolic 80 (as components).
  Put(R"({"resourceType":"Observation","id":"bp","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},
          "component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":120,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}},
                       {"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":80,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]})");
  Put(R"({"resourceType":"Observation","id":"hr","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},
          "valueQuantity":{"value":44,"system":"http://unitsofmeasure.org","code":"/min"},
          "encounter":{"display":"no reference"},"performer":[{"identifier":{"system":"urn:npi","value":"123"}}]})");
  using V = std::vector<std::string>;
  EXPECT_EQ(
      Search("Observation", {{"component-code-value-quantity", "http://loinc.org|8480-6$gt100"}}),
      V{"Observation/bp"});
  // 8462-4 is 80: no match although another component of the same resource is above 100.
  EXPECT_EQ(Search("Observation", {{"component-code-value-quantity", "8462-4$gt100"}}), V{});
  EXPECT_EQ(Search("Observation", {{"component-code-value-quantity",
                                    "8462-4$lt100|http://unitsofmeasure.org|mm[Hg]"}}),
            V{"Observation/bp"});
  EXPECT_EQ(Search("Observation", {{"code-value-quantity", "8867-4$44"}}), V{"Observation/hr"});
  EXPECT_EQ(Search("Observation", {{"combo-code-value-quantity", "8867-4$gt40,8480-6$gt119"}}),
            (V{"Observation/bp", "Observation/hr"}));
  EXPECT_EQ(Search("Observation", {{"code-value-quantity:missing", "true"}}), V{"Observation/bp"});
  // Neither has a valueCodeableConcept: a composite needs every component.
  EXPECT_EQ(Search("Observation", {{"code-value-concept:missing", "true"}}),
            (V{"Observation/bp", "Observation/hr"}));
  EXPECT_EQ(Search("Observation", {{"code-value-concept:missing", "false"}}), V{});
  EXPECT_EQ(Search("Observation", {{"performer:identifier", "urn:npi|123"}}), V{"Observation/hr"});
  EXPECT_EQ(Search("Observation", {{"encounter:missing", "true"}}).size(), 2u);
}

TEST_P(StoreConformance, SortedKeysetPagingBothWays) {
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

TEST_P(StoreConformance, ClientRoundTrip) {
  Client c;
  c.client_id = "app";
  c.name = "My \"App\"";
  c.type = ClientType::kConfidentialAsymmetric;
  c.secret_hash = "";
  c.jwks_url = "https://app.example/jwks";
  c.jwks_json = R"({"keys":[]})";
  c.redirect_uris = {"https://app.example/cb", "https://app.example/cb2?x=\"y\""};
  c.scope = "launch/patient patient/*.rs";
  c.status = ClientStatus::kPending;
  c.created_at = kNow;
  c.client_uri = "https://app.example/";
  c.policy_uri = "https://app.example/privacy";
  c.tos_uri = "https://app.example/terms";
  c.logo_uri = "https://app.example/logo.png";
  c.contacts = {"dev@app.example", "privacy@app.example"};
  c.attestation = R"({"sells_data":false,"privacy_policy_published":true})";
  c.registered_by = "operator:olga";
  c.updated_at = kNow + 5;
  ASSERT_TRUE(auth_->PutClient(c).ok());

  auto got = auth_->GetClient("app");
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_TRUE(got->has_value());
  const Client& g = **got;
  EXPECT_EQ(g.client_id, "app");
  EXPECT_EQ(g.name, c.name);
  EXPECT_EQ(g.type, ClientType::kConfidentialAsymmetric);
  EXPECT_EQ(g.jwks_url, c.jwks_url);
  EXPECT_EQ(g.jwks_json, c.jwks_json);
  EXPECT_EQ(g.redirect_uris, c.redirect_uris);
  EXPECT_EQ(g.scope, c.scope);
  EXPECT_EQ(g.status, ClientStatus::kPending);
  EXPECT_FALSE(g.active());
  EXPECT_EQ(g.created_at, kNow);
  EXPECT_EQ(g.client_uri, c.client_uri);
  EXPECT_EQ(g.policy_uri, c.policy_uri);
  EXPECT_EQ(g.tos_uri, c.tos_uri);
  EXPECT_EQ(g.logo_uri, c.logo_uri);
  EXPECT_EQ(g.contacts, c.contacts);
  EXPECT_EQ(g.attestation, c.attestation);
  EXPECT_EQ(g.registered_by, "operator:olga");
  EXPECT_EQ(g.updated_at, kNow + 5);

  // Replace in place.
  c.type = ClientType::kPublic;
  c.redirect_uris = {};
  c.contacts = {};
  c.status = ClientStatus::kActive;
  ASSERT_TRUE(auth_->PutClient(c).ok());
  Client b;
  b.client_id = "another";
  b.secret_hash = "h";
  ASSERT_TRUE(auth_->PutClient(b).ok());

  auto list = auth_->ListClients();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].client_id, "another");
  EXPECT_EQ((*list)[0].type, ClientType::kConfidentialSymmetric);
  EXPECT_EQ((*list)[0].secret_hash, "h");
  EXPECT_EQ((*list)[1].client_id, "app");
  EXPECT_EQ((*list)[1].type, ClientType::kPublic);
  EXPECT_TRUE((*list)[1].redirect_uris.empty());
  EXPECT_TRUE((*list)[1].contacts.empty());
  EXPECT_TRUE((*list)[1].active());
  // Defaults of a client written without the registration fields.
  EXPECT_EQ((*list)[0].status, ClientStatus::kActive);
  EXPECT_EQ((*list)[0].attestation, "{}");
  EXPECT_TRUE((*list)[0].contacts.empty());

  // Status changes in place and touches updated_at only.
  auto set = auth_->SetClientStatus("app", ClientStatus::kSuspended, kNow + 9);
  ASSERT_TRUE(set.ok()) << set.status().message();
  EXPECT_TRUE(*set);
  auto suspended = auth_->GetClient("app");
  ASSERT_TRUE(suspended.ok() && suspended->has_value());
  EXPECT_EQ((*suspended)->status, ClientStatus::kSuspended);
  EXPECT_EQ((*suspended)->updated_at, kNow + 9);
  EXPECT_EQ((*suspended)->policy_uri, c.policy_uri);
  EXPECT_FALSE(*auth_->SetClientStatus("nope", ClientStatus::kActive, kNow));

  auto missing = auth_->GetClient("nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  auto removed = auth_->RemoveClient("app");
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(*removed);
  removed = auth_->RemoveClient("app");
  ASSERT_TRUE(removed.ok());
  EXPECT_FALSE(*removed);
  EXPECT_FALSE(auth_->GetClient("app")->has_value());
}

TEST_P(StoreConformance, RemoveClientRevokesItsGrants) {
  Client c;
  c.client_id = "app";
  ASSERT_TRUE(auth_->PutClient(c).ok());
  ASSERT_TRUE(auth_->PutGrant(MakeGrant("g1", "alice", "p1", "r1")).ok());
  Grant other = MakeGrant("g2", "alice", "p1", "r2");
  other.client_id = "other";
  ASSERT_TRUE(auth_->PutGrant(other).ok());
  ASSERT_TRUE(auth_->RemoveClient("app").ok());
  EXPECT_FALSE(*auth_->GrantActive("g1"));
  EXPECT_TRUE(*auth_->GrantActive("g2"));
}

TEST_P(StoreConformance, InactiveClientStopsItsGrantsUntilActivated) {
  Client c;
  c.client_id = "app";
  ASSERT_TRUE(auth_->PutClient(c).ok());
  ASSERT_TRUE(auth_->PutGrant(MakeGrant("g1", "alice", "p1", "r1")).ok());
  ASSERT_TRUE(auth_->PutGrant(MakeGrant("g2", "bob", "p2", "r2")).ok());
  ASSERT_TRUE(auth_->RevokeGrant("g2").ok());
  Grant other = MakeGrant("g3", "alice", "p1", "r3");
  other.client_id = "other";  // an unregistered client id (e.g. operator tokens)
  ASSERT_TRUE(auth_->PutGrant(other).ok());
  EXPECT_TRUE(*auth_->GrantActive("g1"));

  for (ClientStatus s : {ClientStatus::kSuspended, ClientStatus::kPending}) {
    ASSERT_TRUE(*auth_->SetClientStatus("app", s, kNow));
    EXPECT_FALSE(*auth_->GrantActive("g1")) << ClientStatusName(s);
    EXPECT_TRUE(*auth_->GrantActive("g3"));
    // The grant itself is untouched (not revoked), so activation restores it.
    EXPECT_FALSE((*auth_->GetGrant("g1"))->revoked);
  }
  ASSERT_TRUE(*auth_->SetClientStatus("app", ClientStatus::kActive, kNow));
  EXPECT_TRUE(*auth_->GrantActive("g1"));
  EXPECT_FALSE(*auth_->GrantActive("g2"));  // a revoked grant stays revoked
}

TEST_P(StoreConformance, OperatorRoundTripLockAndRemove) {
  Operator op;
  op.username = "olga";
  op.password_hash = "$argon2id$fake";
  op.created_at = kNow;
  ASSERT_TRUE(auth_->PutOperator(op).ok());
  Operator b;
  b.username = "adam";
  b.password_hash = "h";
  ASSERT_TRUE(auth_->PutOperator(b).ok());
  auto got = auth_->GetOperator("olga");
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->password_hash, op.password_hash);
  EXPECT_EQ((*got)->created_at, kNow);
  EXPECT_EQ((*got)->failed_logins, 0);

  ASSERT_TRUE(auth_->RecordOperatorFailure("olga", 0).ok());
  ASSERT_TRUE(auth_->RecordOperatorFailure("olga", kNow + 1000).ok());
  got = auth_->GetOperator("olga");
  EXPECT_EQ((*got)->failed_logins, 2);
  EXPECT_EQ((*got)->locked_until, kNow + 1000);
  ASSERT_TRUE(auth_->RecordOperatorFailure("olga", 0).ok());  // keeps the lock
  EXPECT_EQ((*auth_->GetOperator("olga"))->locked_until, kNow + 1000);
  ASSERT_TRUE(auth_->ResetOperatorFailures("olga").ok());
  got = auth_->GetOperator("olga");
  EXPECT_EQ((*got)->failed_logins, 0);
  EXPECT_EQ((*got)->locked_until, 0);
  // Operators and members are separate accounts.
  EXPECT_FALSE(auth_->GetUser("olga")->has_value());

  auto list = auth_->ListOperators();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].username, "adam");
  EXPECT_EQ((*list)[1].username, "olga");
  EXPECT_TRUE(*auth_->RemoveOperator("adam"));
  EXPECT_FALSE(*auth_->RemoveOperator("adam"));
  EXPECT_FALSE(auth_->GetOperator("adam")->has_value());
  EXPECT_TRUE(auth_->RecordOperatorFailure("nobody", 0).ok());
}

TEST_P(StoreConformance, UserRoundTripAndRemove) {
  User u;
  u.username = "alice";
  u.password_hash = "$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA";
  u.patient_id = "p1";
  u.fhir_user = "";
  u.represents = {"p3", "p2"};
  u.created_at = kNow;
  ASSERT_TRUE(auth_->PutUser(u).ok());
  User d;
  d.username = "bob";
  d.fhir_user = "RelatedPerson/rp1";
  d.represents = {"p1"};
  ASSERT_TRUE(auth_->PutUser(d).ok());

  auto got = auth_->GetUser("alice");
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->password_hash, u.password_hash);
  EXPECT_EQ((*got)->patient_id, "p1");
  EXPECT_EQ((*got)->fhir_user, "");
  EXPECT_EQ((*got)->represents, (std::vector<std::string>{"p3", "p2"}));
  EXPECT_EQ((*got)->failed_logins, 0);
  EXPECT_EQ((*got)->locked_until, 0);
  EXPECT_EQ((*got)->created_at, kNow);

  // Replacing replaces `represents` too.
  u.represents = {"p4"};
  ASSERT_TRUE(auth_->PutUser(u).ok());
  EXPECT_EQ((*auth_->GetUser("alice"))->represents, (std::vector<std::string>{"p4"}));

  auto list = auth_->ListUsers();
  ASSERT_TRUE(list.ok()) << list.status().message();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].username, "alice");
  EXPECT_EQ((*list)[0].represents, (std::vector<std::string>{"p4"}));
  EXPECT_EQ((*list)[1].username, "bob");
  EXPECT_EQ((*list)[1].fhir_user, "RelatedPerson/rp1");
  EXPECT_EQ((*list)[1].represents, (std::vector<std::string>{"p1"}));

  ASSERT_TRUE(auth_->PutGrant(MakeGrant("g1", "alice", "p1", "r1")).ok());
  auto removed = auth_->RemoveUser("alice");
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(*removed);
  EXPECT_FALSE(auth_->GetUser("alice")->has_value());
  EXPECT_FALSE(*auth_->GrantActive("g1"));
  removed = auth_->RemoveUser("alice");
  ASSERT_TRUE(removed.ok());
  EXPECT_FALSE(*removed);

  // The represents rows are gone: re-adding the user without them yields none.
  u.represents = {};
  ASSERT_TRUE(auth_->PutUser(u).ok());
  EXPECT_TRUE((*auth_->GetUser("alice"))->represents.empty());
  list = auth_->ListUsers();
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE((*list)[0].represents.empty());
  EXPECT_EQ((*list)[1].represents, (std::vector<std::string>{"p1"}));
}

TEST_P(StoreConformance, LoginFailuresLockAndReset) {
  User u;
  u.username = "alice";
  ASSERT_TRUE(auth_->PutUser(u).ok());
  ASSERT_TRUE(auth_->RecordLoginFailure("alice", 0).ok());
  ASSERT_TRUE(auth_->RecordLoginFailure("alice", 0).ok());
  auto got = auth_->GetUser("alice");
  EXPECT_EQ((*got)->failed_logins, 2);
  EXPECT_EQ((*got)->locked_until, 0);

  ASSERT_TRUE(auth_->RecordLoginFailure("alice", kNow + 900000).ok());
  got = auth_->GetUser("alice");
  EXPECT_EQ((*got)->failed_logins, 3);
  EXPECT_EQ((*got)->locked_until, kNow + 900000);
  // A later failure without a lock keeps the existing lock.
  ASSERT_TRUE(auth_->RecordLoginFailure("alice", 0).ok());
  got = auth_->GetUser("alice");
  EXPECT_EQ((*got)->failed_logins, 4);
  EXPECT_EQ((*got)->locked_until, kNow + 900000);

  ASSERT_TRUE(auth_->ResetLoginFailures("alice").ok());
  got = auth_->GetUser("alice");
  EXPECT_EQ((*got)->failed_logins, 0);
  EXPECT_EQ((*got)->locked_until, 0);

  // Unknown users are a no-op.
  EXPECT_TRUE(auth_->RecordLoginFailure("nobody", 0).ok());
  EXPECT_FALSE(auth_->GetUser("nobody")->has_value());
}

TEST_P(StoreConformance, AuthRequestRoundTripDeleteAndPurge) {
  AuthRequest r;
  r.id_hash = "idh";
  r.session_hash = "sh";
  r.csrf_token = "csrf";
  r.client_id = "app";
  r.redirect_uri = "https://app.example/cb";
  r.scope = "openid patient/*.rs";
  r.state = "st";
  r.nonce = "no";
  r.code_challenge = "cc";
  r.code_challenge_method = "S256";
  r.expires_at = kNow + 600000;
  ASSERT_TRUE(auth_->PutAuthRequest(r).ok());
  auto got = auth_->GetAuthRequest("idh");
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->session_hash, "sh");
  EXPECT_EQ((*got)->csrf_token, "csrf");
  EXPECT_EQ((*got)->client_id, "app");
  EXPECT_EQ((*got)->redirect_uri, r.redirect_uri);
  EXPECT_EQ((*got)->scope, r.scope);
  EXPECT_EQ((*got)->state, "st");
  EXPECT_EQ((*got)->nonce, "no");
  EXPECT_EQ((*got)->code_challenge, "cc");
  EXPECT_EQ((*got)->code_challenge_method, "S256");
  EXPECT_EQ((*got)->username, "");
  EXPECT_EQ((*got)->expires_at, r.expires_at);

  // Replace after login.
  r.username = "alice";
  r.patient_id = "p1";
  ASSERT_TRUE(auth_->PutAuthRequest(r).ok());
  got = auth_->GetAuthRequest("idh");
  EXPECT_EQ((*got)->username, "alice");
  EXPECT_EQ((*got)->patient_id, "p1");

  ASSERT_TRUE(auth_->DeleteAuthRequest("idh").ok());
  EXPECT_FALSE(auth_->GetAuthRequest("idh")->has_value());
  EXPECT_TRUE(auth_->DeleteAuthRequest("idh").ok());

  // Writing a request purges those that expired more than a day before it.
  AuthRequest old = r;
  old.id_hash = "old";
  old.expires_at = kNow;
  ASSERT_TRUE(auth_->PutAuthRequest(old).ok());
  AuthRequest recent = r;
  recent.id_hash = "recent";
  recent.expires_at = kNow + 2 * 86400000LL - 1000;
  ASSERT_TRUE(auth_->PutAuthRequest(recent).ok());
  AuthRequest fresh = r;
  fresh.id_hash = "fresh";
  fresh.expires_at = kNow + 2 * 86400000LL;
  ASSERT_TRUE(auth_->PutAuthRequest(fresh).ok());
  EXPECT_FALSE(auth_->GetAuthRequest("old")->has_value());
  EXPECT_TRUE(auth_->GetAuthRequest("recent")->has_value());
  EXPECT_TRUE(auth_->GetAuthRequest("fresh")->has_value());
}

TEST_P(StoreConformance, AddAuthRequestPurgesExpiredAndKeepsLimits) {
  auto make = [](const std::string& id, const std::string& session, const std::string& client,
                 base::Millis expires_at) {
    AuthRequest r;
    r.id_hash = id;
    r.session_hash = session;
    r.csrf_token = "csrf";
    r.client_id = client;
    r.redirect_uri = "https://app.example/cb";
    r.scope = "patient/*.rs";
    r.expires_at = expires_at;
    return r;
  };
  // One that expired before `now` is deleted by the next AddAuthRequest.
  ASSERT_TRUE(auth_->PutAuthRequest(make("expired", "s1", "app", kNow - 1)).ok());
  ASSERT_TRUE(auth_->AddAuthRequest(make("a1", "s1", "app", kNow + 600000), kNow, 2, 3).ok());
  EXPECT_FALSE(auth_->GetAuthRequest("expired")->has_value());
  EXPECT_TRUE(auth_->GetAuthRequest("a1")->has_value());
  // Per browser session: the third live request of s1 is refused, and nothing is written.
  ASSERT_TRUE(auth_->AddAuthRequest(make("a2", "s1", "app", kNow + 600000), kNow, 2, 3).ok());
  Status s = auth_->AddAuthRequest(make("a3", "s1", "app", kNow + 600000), kNow, 2, 3);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_FALSE(auth_->GetAuthRequest("a3")->has_value());
  // Per client: a fresh session gets one more for `app` (3 in all), then no more.
  ASSERT_TRUE(auth_->AddAuthRequest(make("b1", "s2", "app", kNow + 600000), kNow, 2, 3).ok());
  s = auth_->AddAuthRequest(make("b2", "s3", "app", kNow + 600000), kNow, 2, 3);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_FALSE(auth_->GetAuthRequest("b2")->has_value());
  // Other clients are not affected, and 0 means no limit.
  EXPECT_TRUE(auth_->AddAuthRequest(make("c1", "s3", "other", kNow + 600000), kNow, 2, 3).ok());
  EXPECT_TRUE(auth_->AddAuthRequest(make("a4", "s1", "app", kNow + 600000), kNow, 0, 0).ok());
  // Once they expire, they no longer count (and are purged).
  base::Millis later = kNow + 600001;
  EXPECT_TRUE(auth_->AddAuthRequest(make("d1", "s1", "app", later + 600000), later, 2, 3).ok());
  EXPECT_FALSE(auth_->GetAuthRequest("a1")->has_value());
  EXPECT_FALSE(auth_->GetAuthRequest("b1")->has_value());
  EXPECT_TRUE(auth_->GetAuthRequest("d1")->has_value());
}

TEST_P(StoreConformance, AddCodeLimitsUnusedCodesPerUser) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(auth_->AddCode(MakeCode("c" + std::to_string(i)), kNow, 3).ok()) << i;
  }
  Status s = auth_->AddCode(MakeCode("c3"), kNow, 3);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_FALSE(auth_->TakeCode("c3")->has_value());  // nothing was written
  // Another user is not affected.
  AuthCode bob = MakeCode("bob-1");
  bob.username = "bob";
  EXPECT_TRUE(auth_->AddCode(bob, kNow, 3).ok());
  // A used code no longer counts.
  ASSERT_TRUE(auth_->TakeCode("c0")->has_value());
  EXPECT_TRUE(auth_->AddCode(MakeCode("c4"), kNow, 3).ok());
  EXPECT_EQ(auth_->AddCode(MakeCode("c5"), kNow, 3).code(), StatusCode::kResourceExhausted);
  // Nor does an expired one.
  EXPECT_TRUE(auth_->AddCode(MakeCode("c6"), kNow + 60001, 3).ok());
  // A duplicate hash is still never overwritten.
  EXPECT_EQ(auth_->AddCode(MakeCode("c6"), kNow + 60001, 0).code(), StatusCode::kAborted);
}

TEST_P(StoreConformance, SupersedeGrantsKeepsTheNewest) {
  // Five live grants of alice for `app`, one a millisecond apart, plus one of bob and one of
  // alice for another client.
  for (int i = 0; i < 5; ++i) {
    Grant g = MakeGrant("g" + std::to_string(i), "alice", "p1", "r" + std::to_string(i));
    g.created_at = kNow + i;
    ASSERT_TRUE(auth_->PutGrant(g).ok());
  }
  ASSERT_TRUE(auth_->PutGrant(MakeGrant("bob", "bob", "p2", "rb")).ok());
  Grant other = MakeGrant("other", "alice", "p1", "ro");
  other.client_id = "other-app";
  ASSERT_TRUE(auth_->PutGrant(other).ok());
  // g0 was issued last but has the oldest created_at: keep_grant_id always survives.
  auto revoked = auth_->SupersedeGrants("alice", "app", "g0", 3);
  ASSERT_TRUE(revoked.ok()) << revoked.status().message();
  EXPECT_EQ(*revoked, 2);
  EXPECT_TRUE(*auth_->GrantActive("g0"));
  EXPECT_FALSE(*auth_->GrantActive("g1"));
  EXPECT_FALSE(*auth_->GrantActive("g2"));
  EXPECT_TRUE(*auth_->GrantActive("g3"));
  EXPECT_TRUE(*auth_->GrantActive("g4"));
  EXPECT_TRUE(*auth_->GrantActive("bob"));
  EXPECT_TRUE(*auth_->GrantActive("other"));
  // Already within the limit: nothing more; 0 means no limit; 1 keeps only keep_grant_id.
  EXPECT_EQ(*auth_->SupersedeGrants("alice", "app", "g4", 3), 0);
  EXPECT_EQ(*auth_->SupersedeGrants("alice", "app", "g4", 0), 0);
  EXPECT_EQ(*auth_->SupersedeGrants("alice", "app", "g4", 1), 2);
  EXPECT_TRUE(*auth_->GrantActive("g4"));
  EXPECT_FALSE(*auth_->GrantActive("g0"));
  EXPECT_FALSE(*auth_->GrantActive("g3"));
  // A superseded grant's refresh token can no longer be rotated.
  EXPECT_FALSE(*auth_->RotateRefresh("g3", "r3", "r3-next", kNow + 3600000));
}

TEST_P(StoreConformance, CodeIsSingleUse) {
  AuthCode c = MakeCode("ch");
  ASSERT_TRUE(auth_->PutCode(c).ok());
  auto first = auth_->TakeCode("ch");
  ASSERT_TRUE(first.ok()) << first.status().message();
  ASSERT_TRUE(first->has_value());
  EXPECT_FALSE((*first)->used);
  EXPECT_EQ((*first)->code_hash, "ch");
  EXPECT_EQ((*first)->client_id, "app");
  EXPECT_EQ((*first)->redirect_uri, c.redirect_uri);
  EXPECT_EQ((*first)->scope, c.scope);
  EXPECT_EQ((*first)->username, "alice");
  EXPECT_EQ((*first)->patient_id, "p1");
  EXPECT_EQ((*first)->nonce, "n-1");
  EXPECT_EQ((*first)->code_challenge, "challenge");
  EXPECT_EQ((*first)->code_challenge_method, "S256");
  EXPECT_EQ((*first)->grant_id, "g-1");
  EXPECT_EQ((*first)->expires_at, c.expires_at);

  auto second = auth_->TakeCode("ch");
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(second->has_value());
  EXPECT_TRUE((*second)->used);
  EXPECT_EQ((*second)->grant_id, "g-1");

  auto missing = auth_->TakeCode("nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  // A code is never overwritten (which would make it usable again).
  Status dup = auth_->PutCode(c);
  EXPECT_EQ(dup.code(), StatusCode::kAborted);
  EXPECT_EQ(dup.message().find("ch"), std::string::npos);
  EXPECT_TRUE((*auth_->TakeCode("ch"))->used);
}

TEST_P(StoreConformance, RedeemCodeStoresItsGrantInTheSameTransaction) {
  ASSERT_TRUE(auth_->PutCode(MakeCode("ch")).ok());
  int calls = 0;
  auto grant_for = [&](const AuthCode& code) -> std::optional<Grant> {
    ++calls;
    EXPECT_FALSE(code.used);
    EXPECT_EQ(code.grant_id, "g-1");
    return MakeGrant(code.grant_id, code.username, code.patient_id, "refresh-1");
  };
  auto first = auth_->RedeemCode("ch", grant_for);
  ASSERT_TRUE(first.ok()) << first.status().message();
  ASSERT_TRUE(first->has_value());
  EXPECT_FALSE((*first)->used);
  EXPECT_EQ(calls, 1);
  auto stored = auth_->FindGrantByRefresh("refresh-1");
  ASSERT_TRUE(stored.ok());
  ASSERT_TRUE(stored->has_value());
  EXPECT_EQ((*stored)->grant_id, "g-1");
  EXPECT_EQ((*stored)->patient_id, "p1");

  // A used code never reaches the decision, so it can never issue a second grant.
  auto again = auth_->RedeemCode("ch", grant_for);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)->used);
  EXPECT_EQ(calls, 1);

  // A refusal stores no grant, yet the code is used up.
  ASSERT_TRUE(auth_->PutCode(MakeCode("refused")).ok());
  auto refused = auth_->RedeemCode("refused", [&](const AuthCode&) -> std::optional<Grant> {
    ++calls;
    return std::nullopt;
  });
  ASSERT_TRUE(refused.ok());
  EXPECT_FALSE((*refused)->used);
  EXPECT_EQ(calls, 2);
  EXPECT_TRUE((*auth_->TakeCode("refused"))->used);
  EXPECT_EQ(auth_->ListGrants("alice")->size(), 1u);
}

TEST_P(StoreConformance, PutCodePurgesLongExpiredCodes) {
  ASSERT_TRUE(auth_->PutCode(MakeCode("old")).ok());
  AuthCode later = MakeCode("later");
  later.expires_at = kNow + 60000 + 86400000LL + 1;
  ASSERT_TRUE(auth_->PutCode(later).ok());
  EXPECT_FALSE(auth_->TakeCode("old")->has_value());
  EXPECT_TRUE(auth_->TakeCode("later")->has_value());
}

TEST_P(StoreConformance, ConcurrentTakeCodeHasOneWinner) {
  for (int round = 0; round < 20; ++round) {
    std::string hash = "code-" + std::to_string(round);
    ASSERT_TRUE(auth_->PutCode(MakeCode(hash)).ok());
    std::atomic<int> winners{0};
    std::atomic<int> losers{0};
    std::atomic<int> errors{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
      threads.emplace_back([&] {
        auto r = auth_->TakeCode(hash);
        if (!r.ok() || !r->has_value()) {
          ++errors;
        } else if ((*r)->used) {
          ++losers;
        } else {
          ++winners;
        }
      });
    }
    for (auto& t : threads) {
      t.join();
    }
    EXPECT_EQ(winners.load(), 1) << "round " << round;
    EXPECT_EQ(losers.load(), 3) << "round " << round;
    EXPECT_EQ(errors.load(), 0) << "round " << round;
  }
}

TEST_P(StoreConformance, GrantRoundTripAndLookups) {
  Grant g = MakeGrant("g1", "alice", "p1", "r1");
  g.revoked = false;
  ASSERT_TRUE(auth_->PutGrant(g).ok());
  auto got = auth_->GetGrant("g1");
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->client_id, "app");
  EXPECT_EQ((*got)->username, "alice");
  EXPECT_EQ((*got)->patient_id, "p1");
  EXPECT_EQ((*got)->scope, g.scope);
  EXPECT_EQ((*got)->refresh_hash, "r1");
  EXPECT_EQ((*got)->refresh_expires_at, g.refresh_expires_at);
  EXPECT_EQ((*got)->created_at, kNow);
  EXPECT_EQ((*got)->last_used_at, kNow);
  EXPECT_FALSE((*got)->revoked);
  EXPECT_FALSE(auth_->GetGrant("nope")->has_value());

  auto by_refresh = auth_->FindGrantByRefresh("r1");
  ASSERT_TRUE(by_refresh.ok());
  ASSERT_TRUE(by_refresh->has_value());
  EXPECT_EQ((*by_refresh)->grant_id, "g1");
  EXPECT_FALSE(auth_->FindGrantByRefresh("r2")->has_value());

  // Grants without refresh tokens may coexist; "" never finds one.
  ASSERT_TRUE(auth_->PutGrant(MakeGrant("g2", "alice", "p2", "")).ok());
  ASSERT_TRUE(auth_->PutGrant(MakeGrant("g3", "bob", "p1", "")).ok());
  EXPECT_FALSE(auth_->FindGrantByRefresh("")->has_value());

  // A refresh hash held by another grant is refused rather than replacing that grant.
  EXPECT_FALSE(auth_->PutGrant(MakeGrant("g4", "bob", "p1", "r1")).ok());
  EXPECT_TRUE(auth_->GetGrant("g1")->has_value());
  EXPECT_FALSE(auth_->GetGrant("g4")->has_value());

  // Replace in place.
  g.scope = "patient/Observation.rs";
  ASSERT_TRUE(auth_->PutGrant(g).ok());
  EXPECT_EQ((*auth_->GetGrant("g1"))->scope, "patient/Observation.rs");

  auto list = auth_->ListGrants("alice");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].grant_id, "g1");
  EXPECT_EQ((*list)[1].grant_id, "g2");
  EXPECT_TRUE(auth_->ListGrants("nobody")->empty());

  ASSERT_TRUE(auth_->TouchGrant("g1", kNow + 5000).ok());
  EXPECT_EQ((*auth_->GetGrant("g1"))->last_used_at, kNow + 5000);
  ASSERT_TRUE(auth_->TouchGrant("g1", kNow + 1000).ok());  // never moves back
  EXPECT_EQ((*auth_->GetGrant("g1"))->last_used_at, kNow + 5000);
  EXPECT_TRUE(auth_->TouchGrant("nope", kNow).ok());
}

TEST_P(StoreConformance, RotateRefreshIsCompareAndSwap) {
  ASSERT_TRUE(auth_->PutGrant(MakeGrant("g1", "alice", "p1", "r1")).ok());
  auto ok = auth_->RotateRefresh("g1", "r1", "r2", kNow + 7200000, kNow + 5);
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(*ok);
  auto got = auth_->GetGrant("g1");
  EXPECT_EQ((*got)->refresh_hash, "r2");
  EXPECT_EQ((*got)->refresh_expires_at, kNow + 7200000);
  EXPECT_EQ((*got)->last_used_at, kNow + 5);  // the use is recorded in the same write
  EXPECT_FALSE(auth_->FindGrantByRefresh("r1")->has_value());
  EXPECT_EQ((*auth_->FindGrantByRefresh("r2"))->grant_id, "g1");

  // The stale hash loses.
  auto stale = auth_->RotateRefresh("g1", "r1", "r3", kNow);
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(*stale);
  EXPECT_EQ((*auth_->GetGrant("g1"))->refresh_hash, "r2");
  // Wrong grant, empty hash.
  EXPECT_FALSE(*auth_->RotateRefresh("g2", "r2", "r3", kNow));
  ASSERT_TRUE(auth_->PutGrant(MakeGrant("g0", "alice", "p1", "")).ok());
  EXPECT_FALSE(*auth_->RotateRefresh("g0", "", "r9", kNow));

  // A revoked grant cannot rotate.
  ASSERT_TRUE(auth_->RevokeGrant("g1").ok());
  EXPECT_FALSE(*auth_->RotateRefresh("g1", "r2", "r3", kNow));
}

TEST_P(StoreConformance, RevokeGrant) {
  ASSERT_TRUE(auth_->PutGrant(MakeGrant("g1", "alice", "p1", "r1")).ok());
  auto active = auth_->GrantActive("g1");
  ASSERT_TRUE(active.ok());
  EXPECT_TRUE(*active);
  ASSERT_TRUE(auth_->RevokeGrant("g1").ok());
  EXPECT_FALSE(*auth_->GrantActive("g1"));
  EXPECT_TRUE((*auth_->GetGrant("g1"))->revoked);
  // The revoked grant is still found by its refresh token (so reuse can be detected).
  EXPECT_TRUE((*auth_->FindGrantByRefresh("r1"))->revoked);
  EXPECT_FALSE(*auth_->GrantActive("unknown"));
  EXPECT_TRUE(auth_->RevokeGrant("unknown").ok());
}

TEST_P(StoreConformance, RevokeGrantsOfPatientAndAll) {
  ASSERT_TRUE(auth_->PutGrant(MakeGrant("a1", "alice", "p1", "ra1")).ok());
  ASSERT_TRUE(auth_->PutGrant(MakeGrant("a2", "alice", "p2", "ra2")).ok());
  ASSERT_TRUE(auth_->PutGrant(MakeGrant("a3", "alice", "p2", "")).ok());
  ASSERT_TRUE(auth_->PutGrant(MakeGrant("b1", "bob", "p2", "rb1")).ok());

  ASSERT_TRUE(auth_->RevokeGrantsOf("alice", "p2").ok());
  EXPECT_TRUE(*auth_->GrantActive("a1"));
  EXPECT_FALSE(*auth_->GrantActive("a2"));
  EXPECT_FALSE(*auth_->GrantActive("a3"));
  EXPECT_TRUE(*auth_->GrantActive("b1"));

  ASSERT_TRUE(auth_->RevokeGrantsOf("alice", "").ok());
  EXPECT_FALSE(*auth_->GrantActive("a1"));
  EXPECT_TRUE(*auth_->GrantActive("b1"));
}

TEST_P(StoreConformance, SigningKeysRetire) {
  EXPECT_TRUE(auth_->ListSigningKeys()->empty());
  SigningKeyRecord k1{"k1", "-----BEGIN PRIVATE KEY-----\nAAA\n-----END PRIVATE KEY-----\n", kNow,
                      0};
  ASSERT_TRUE(auth_->PutSigningKey(k1).ok());
  Status dup = auth_->PutSigningKey(k1);
  EXPECT_EQ(dup.code(), StatusCode::kAborted);
  EXPECT_EQ(dup.message().find("PRIVATE"), std::string::npos);

  ASSERT_TRUE(auth_->RetireSigningKeys(kNow + 1000).ok());
  SigningKeyRecord k2{"k2", "pem2", kNow + 1000, 0};
  ASSERT_TRUE(auth_->PutSigningKey(k2).ok());

  auto keys = auth_->ListSigningKeys();
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].kid, "k1");
  EXPECT_EQ((*keys)[0].private_pem, k1.private_pem);
  EXPECT_EQ((*keys)[0].created_at, kNow);
  EXPECT_EQ((*keys)[0].retired_at, kNow + 1000);
  EXPECT_EQ((*keys)[1].kid, "k2");
  EXPECT_EQ((*keys)[1].retired_at, 0);

  // Retiring again only touches current keys.
  ASSERT_TRUE(auth_->RetireSigningKeys(kNow + 2000).ok());
  keys = auth_->ListSigningKeys();
  EXPECT_EQ((*keys)[0].retired_at, kNow + 1000);
  EXPECT_EQ((*keys)[1].retired_at, kNow + 2000);
}

TEST_P(StoreConformance, AuditNewestFirstWithLimit) {
  for (int i = 0; i < 5; ++i) {
    // The last three share a timestamp.
    AuditEvent e = MakeEvent(kNow + (i < 3 ? i : 2), "event." + std::to_string(i), "app", "alice",
                             "p1", "d" + std::to_string(i));
    ASSERT_TRUE(auth_->Audit(e).ok());
  }
  auto events = auth_->ListAudit(3);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].event, "event.4");
  EXPECT_EQ((*events)[1].event, "event.3");
  EXPECT_EQ((*events)[2].event, "event.2");
  EXPECT_EQ((*events)[0].at, kNow + 2);
  EXPECT_EQ((*events)[0].client_id, "app");
  EXPECT_EQ((*events)[0].username, "alice");
  EXPECT_EQ((*events)[0].patient_id, "p1");
  EXPECT_EQ((*events)[0].detail, "d4");
  auto all = auth_->ListAudit(100);
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ((*all)[4].event, "event.0");
  EXPECT_TRUE(auth_->ListAudit(0)->empty());
}

TEST_P(StoreConformance, DeleteKeepsHistoryAndLeavesSearches) {
  Put(R"({"resourceType":"Patient","id":"d1","gender":"female"})");
  auto batch = store_->BeginWrite();
  ASSERT_TRUE(batch.ok());
  auto v = (*batch)->Delete("Patient", "d1");
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(*v, 2);
  EXPECT_EQ((*batch)->Delete("Patient", "nope").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE((*batch)->Commit().ok());
  batch->reset();  // a batch holds the writer until destroyed
  auto cur = store_->Read("Patient", "d1");
  ASSERT_TRUE(cur.ok() && cur->has_value());
  EXPECT_TRUE((*cur)->deleted);
  EXPECT_EQ((*cur)->version, 2);
  HistoryQuery hq;
  hq.type = "Patient";
  auto hist = store_->History(hq);
  ASSERT_TRUE(hist.ok());
  ASSERT_EQ(hist->size(), 2u);
  EXPECT_TRUE((*hist)[0].deleted);
  EXPECT_EQ(Search("Patient", {{"gender", "female"}}), std::vector<std::string>{});
  auto counts = store_->CountByType();
  ASSERT_TRUE(counts.ok());
  EXPECT_TRUE(counts->empty());
  // Storing it again revives it as version 3.
  EXPECT_EQ(Put(R"({"resourceType":"Patient","id":"d1","gender":"female"})"),
            WriteResult::kUpdated);
  EXPECT_EQ(Search("Patient", {{"gender", "female"}}), std::vector<std::string>{"Patient/d1"});
}

TEST_P(StoreConformance, UpdatesReplaceIndexRowsEvenWithinOneBatch) {
  auto v1 = json::Parse(R"({"resourceType":"Patient","id":"u","gender":"male"})");
  auto v2 = json::Parse(R"({"resourceType":"Patient","id":"u","gender":"female"})");
  auto batch = store_->BeginWrite();
  ASSERT_TRUE(batch.ok());
  for (auto* v : {&v1, &v2}) {
    auto prepared = fhir::PrepareResource(std::move(**v), "Patient", "u");
    auto index = fhir::ExtractIndex(*registry_, "Patient", prepared.value);
    auto r = (*batch)->Put(
        "Patient", "u", prepared.content_hash,
        [&](int64_t ver, base::Millis at) { return fhir::RenderStored(prepared, ver, at); }, index);
    ASSERT_TRUE(r.ok()) << r.status().message();
  }
  ASSERT_TRUE((*batch)->Commit().ok());
  batch->reset();
  using V = std::vector<std::string>;
  EXPECT_EQ(Search("Patient", {{"gender", "male"}}), V{});
  EXPECT_EQ(Search("Patient", {{"gender", "female"}}), V{"Patient/u"});
  Put(R"({"resourceType":"Patient","id":"u","gender":"other"})");
  EXPECT_EQ(Search("Patient", {{"gender", "female"}}), V{});
  EXPECT_EQ(Search("Patient", {{"gender", "other"}}), V{"Patient/u"});
  auto cur = store_->Read("Patient", "u");
  ASSERT_TRUE(cur.ok() && cur->has_value());
  EXPECT_EQ((*cur)->version, 3);
}

TEST_P(StoreConformance, PrefetchedBatchHandlesNewKnownRepeatedAndDeletedKeys) {
  Put(R"({"resourceType":"Patient","id":"k1","gender":"male"})");
  Put(R"({"resourceType":"Patient","id":"k2","gender":"male"})");
  auto batch = store_->BeginWrite();
  ASSERT_TRUE(batch.ok());
  // Ids with characters that need quoting in an array literal, and keys never written.
  ASSERT_TRUE((*batch)
                  ->Prefetch({{"Patient", "k1"},
                              {"Patient", "k2"},
                              {"Patient", "n\"1"},
                              {"Patient", "n\\2"},
                              {"Patient", "n,3"},
                              {"Patient", "n1"},
                              {"Patient", "k1"}})
                  .ok());
  auto put = [&](const std::string& text, const std::string& id) {
    auto v = json::Parse(text);
    EXPECT_TRUE(v.ok());
    auto prepared = fhir::PrepareResource(std::move(*v), "Patient", id);
    auto index = fhir::ExtractIndex(*registry_, "Patient", prepared.value);
    return (*batch)->Put(
        "Patient", id, prepared.content_hash,
        [&](int64_t ver, base::Millis at) { return fhir::RenderStored(prepared, ver, at); }, index);
  };
  auto same = put(R"({"resourceType":"Patient","id":"k1","gender":"male"})", "k1");
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->result, WriteResult::kUnchanged);
  auto changed = put(R"({"resourceType":"Patient","id":"k2","gender":"female"})", "k2");
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(changed->result, WriteResult::kUpdated);
  EXPECT_EQ(changed->version, 2);
  for (const std::string id : {"n\"1", "n\\2", "n,3", "n1"}) {
    auto created = put(R"({"resourceType":"Patient","gender":"other"})", id);
    ASSERT_TRUE(created.ok()) << created.status().message();
    EXPECT_EQ(created->result, WriteResult::kCreated) << id;
  }
  // A key created earlier in this very batch: unchanged, then updated, then deleted.
  auto again = put(R"({"resourceType":"Patient","gender":"other"})", "n1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->result, WriteResult::kUnchanged);
  auto twice = put(R"({"resourceType":"Patient","gender":"unknown"})", "n1");
  ASSERT_TRUE(twice.ok()) << twice.status().message();
  EXPECT_EQ(twice->result, WriteResult::kUpdated);
  EXPECT_EQ(twice->version, 2);
  auto del = (*batch)->Delete("Patient", "n,3");
  ASSERT_TRUE(del.ok()) << del.status().message();
  EXPECT_EQ(*del, 2);
  EXPECT_EQ((*batch)->Delete("Patient", "n,3").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE((*batch)->Commit().ok());
  batch->reset();
  using V = std::vector<std::string>;
  EXPECT_EQ(Search("Patient", {{"gender", "male"}}), V{"Patient/k1"});
  EXPECT_EQ(Search("Patient", {{"gender", "female"}}), V{"Patient/k2"});
  EXPECT_EQ(Search("Patient", {{"gender", "other"}}), (V{"Patient/n\"1", "Patient/n\\2"}));
  EXPECT_EQ(Search("Patient", {{"gender", "unknown"}}), V{"Patient/n1"});
  auto n1 = store_->Read("Patient", "n1");
  ASSERT_TRUE(n1.ok() && n1->has_value());
  EXPECT_EQ((*n1)->version, 2);
  auto gone = store_->Read("Patient", "n,3");
  ASSERT_TRUE(gone.ok() && gone->has_value());
  EXPECT_TRUE((*gone)->deleted);
}

TEST_P(StoreConformance, TextSurvivesExactly) {
  // Tabs, newlines, backslashes, quotes and non-ASCII in bodies and index values.
  Put(R"({"resourceType":"Patient","id":"t","name":[{"family":"O\\Brien\t\"Jr\"\nZoë 测试"}],
          "identifier":[{"system":"urn:x","value":"a\\b\tc"}]})");
  auto cur = store_->Read("Patient", "t");
  ASSERT_TRUE(cur.ok() && cur->has_value());
  EXPECT_NE((*cur)->body.find(R"(O\\Brien\t\"Jr\"\nZoë 测试)"), std::string::npos) << (*cur)->body;
  using V = std::vector<std::string>;
  EXPECT_EQ(Search("Patient", {{"identifier", "urn:x|a\\b\tc"}}), V{"Patient/t"});
  EXPECT_EQ(Search("Patient", {{"family", "o\\brien"}}), V{"Patient/t"});
  EXPECT_EQ(Search("Patient", {{"name:contains", "测试"}}), V{"Patient/t"});
  EXPECT_EQ(Search("Patient", {{"name", "zz%"}}), V{});
}

TEST_P(StoreConformance, PatientsOfTotalsAndOffsets) {
  Put(R"({"resourceType":"Patient","id":"p1"})");
  Put(R"({"resourceType":"Patient","id":"p2"})");
  for (int i = 0; i < 5; ++i) {
    Put(R"({"resourceType":"Observation","id":"o)" + std::to_string(i) +
        R"(","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p)" +
        std::to_string(1 + i % 2) + R"("}})");
  }
  auto patients = store_->PatientsOf("Observation", "o1");
  ASSERT_TRUE(patients.ok());
  EXPECT_EQ(*patients, std::vector<std::string>{"p2"});
  auto counts = store_->CountByType();
  ASSERT_TRUE(counts.ok());
  using P = std::pair<std::string, int64_t>;
  EXPECT_EQ(*counts, (std::vector<P>{{"Observation", 5}, {"Patient", 2}}));
  fhir::SearchOptions so;
  so.base_url = "http://x/fhir";
  auto parsed = fhir::ParseSearch(*registry_, "Observation",
                                  {{"_total", "accurate"}, {"_count", "2"}, {"patient", "p1"}}, so);
  ASSERT_TRUE(parsed.ok());
  auto page = store_->Search(parsed->query, {});
  ASSERT_TRUE(page.ok()) << page.status().message();
  ASSERT_TRUE(page->total.has_value());
  EXPECT_EQ(*page->total, 3);
  EXPECT_EQ(page->matches.size(), 2u);
  EXPECT_TRUE(page->has_more);
  parsed->query.offset = 2;
  page = store_->Search(parsed->query, {});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->matches.size(), 1u);
  EXPECT_FALSE(page->has_more);
}

TEST_P(StoreConformance, SecondNodeSeesWritesRevocationsAndKeys) {
  // Another store pair on the same database: a second server node.
  std::unique_ptr<ResourceStore> store2;
  std::unique_ptr<AuthStore> auth2;
  ASSERT_TRUE(db_->Open(registry_, clock_, store2, auth2).ok());
  Put(R"({"resourceType":"Patient","id":"n1","gender":"female"})");
  auto read = store2->Read("Patient", "n1");
  ASSERT_TRUE(read.ok() && read->has_value());
  ASSERT_TRUE(auth_->PutGrant(MakeGrant("g1", "alice", "p1", "r1")).ok());
  EXPECT_TRUE(*auth2->GrantActive("g1"));
  ASSERT_TRUE(auth2->RevokeGrant("g1").ok());
  EXPECT_FALSE(*auth_->GrantActive("g1"));
  ASSERT_TRUE(auth_->PutCode(MakeCode("c1")).ok());
  auto taken = auth2->TakeCode("c1");
  ASSERT_TRUE(taken.ok() && taken->has_value());
  EXPECT_FALSE((*taken)->used);
  EXPECT_TRUE((*auth_->TakeCode("c1"))->used);
  SigningKeyRecord k;
  k.kid = "k1";
  k.private_pem = "pem";
  k.created_at = kNow;
  ASSERT_TRUE(auth_->PutSigningKey(k).ok());
  ASSERT_TRUE(auth2->RetireSigningKeys(kNow + 5).ok());
  auto keys = auth_->ListSigningKeys();
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].retired_at, kNow + 5);
  auth2.reset();
  store2.reset();
}

TEST_P(StoreConformance, AuditBatchKeepsOrderAndText) {
  std::vector<AuditEvent> events;
  for (int i = 0; i < 3; ++i) {
    events.push_back(MakeEvent(kNow + i, "fhir.read", "app", "alice", "p1",
                               "Patient/p1\twith\\tab " + std::to_string(i)));
  }
  ASSERT_TRUE(auth_->AuditBatch(events).ok());
  ASSERT_TRUE(auth_->AuditBatch({}).ok());
  auto got = auth_->ListAudit(10);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 3u);
  EXPECT_EQ((*got)[0].detail, "Patient/p1\twith\\tab 2");
  EXPECT_EQ((*got)[2].at, kNow);
}

// A batch larger than one multi-row statement, with a remainder: every event is written once,
// each with its own fields.
TEST_P(StoreConformance, LargeAuditBatchWritesEveryEventOnce) {
  std::vector<AuditEvent> events;
  for (int i = 0; i < 200; ++i) {
    events.push_back(MakeEvent(kNow + i, "fhir.access", "app-" + std::to_string(i % 7),
                               "user-" + std::to_string(i % 3), "p" + std::to_string(i % 5),
                               "read #" + std::to_string(i)));
  }
  ASSERT_TRUE(auth_->AuditBatch(events).ok());
  auto got = auth_->ListAudit(500);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 200u);
  for (size_t k = 0; k < got->size(); ++k) {
    const AuditEvent& e = (*got)[k];
    int i = 199 - static_cast<int>(k);  // newest first
    EXPECT_EQ(e.at, kNow + i);
    EXPECT_EQ(e.detail, "read #" + std::to_string(i));
    EXPECT_EQ(e.client_id, "app-" + std::to_string(i % 7));
    EXPECT_EQ(e.username, "user-" + std::to_string(i % 3));
    EXPECT_EQ(e.patient_id, "p" + std::to_string(i % 5));
  }
}

TEST_P(StoreConformance, GrantsAndAuditByPatient) {
  ASSERT_TRUE(auth_->PutGrant(MakeGrant("g1", "alice", "p1", "r1")).ok());
  ASSERT_TRUE(auth_->PutGrant(MakeGrant("g2", "bob", "p2", "r2")).ok());    // bob, for child p2
  ASSERT_TRUE(auth_->PutGrant(MakeGrant("g3", "carol", "p2", "r3")).ok());  // the other parent
  ASSERT_TRUE(auth_->PutGrant(MakeGrant("g4", "dave", "p4", "r4")).ok());
  auto grants = auth_->ListGrantsForPatients({"p1", "p2"});
  ASSERT_TRUE(grants.ok()) << grants.status().message();
  std::vector<std::string> ids;
  for (const Grant& g : *grants) {
    ids.push_back(g.grant_id);
  }
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"g1", "g2", "g3"}));
  EXPECT_TRUE(auth_->ListGrantsForPatients({})->empty());

  std::vector<AuditEvent> events;
  for (int i = 0; i < 6; ++i) {
    events.push_back(MakeEvent(kNow + i, i == 5 ? "login.failed" : "fhir.access", "app",
                               i % 2 == 0 ? "bob" : "carol", i == 4 ? "p4" : "p2",
                               "read Patient status=200 #" + std::to_string(i)));
  }
  ASSERT_TRUE(auth_->AuditBatch(events).ok());
  auto audit = auth_->ListAuditForPatients({"p1", "p2"}, {"fhir.access", "token.issued"}, 10);
  ASSERT_TRUE(audit.ok()) << audit.status().message();
  std::vector<std::string> details;
  for (const AuditEvent& e : *audit) {
    details.push_back(e.detail);
  }
  // Newest first; other patients' events and other kinds are left out; both parents' apps show.
  EXPECT_EQ(details,
            (std::vector<std::string>{"read Patient status=200 #3", "read Patient status=200 #2",
                                      "read Patient status=200 #1", "read Patient status=200 #0"}));
  auto two = auth_->ListAuditForPatients({"p2"}, {"fhir.access"}, 2);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->size(), 2u);
  EXPECT_TRUE(auth_->ListAuditForPatients({"p2"}, {"fhir.access"}, 0)->empty());
}

TEST_P(StoreConformance, SharedSecretIsDecidedOnceForEveryNode) {
  std::unique_ptr<ResourceStore> store2;
  std::unique_ptr<AuthStore> auth2;
  ASSERT_TRUE(db_->Open(registry_, clock_, store2, auth2).ok());
  auto first = auth_->SharedSecret("paging", "candidate-a", kNow);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(*first, "candidate-a");
  auto second = auth2->SharedSecret("paging", "candidate-b", kNow + 1);
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(*second, "candidate-a");
  EXPECT_EQ(*auth_->SharedSecret("paging", "candidate-c", kNow + 2), "candidate-a");
  EXPECT_EQ(*auth2->SharedSecret("other", "candidate-d", kNow + 3), "candidate-d");
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreConformance, ::testing::ValuesIn(testing::Backends()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace portico::store

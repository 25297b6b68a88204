#include "src/store/sqlite/sqlite_store.h"

#include <algorithm>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "src/fhir/model/resource.h"
#include "src/fhir/search/query_parser.h"
#include "src/store/sqlite/db.h"

namespace portico::store::sqlite {
namespace {

// The index tables as schema 1 laid them out: rowid tables with an index on res.
constexpr const char* kSchema1IndexTables[][3] = {
    {"idx_token", "type, param, system, code, text",
     "CREATE INDEX idx_token_code ON idx_token (type, param, code, system, res)"},
    {"idx_string", "type, param, norm, exact",
     "CREATE INDEX idx_string_norm ON idx_string (type, param, norm, res)"},
    {"idx_date", "type, param, lo, hi",
     "CREATE INDEX idx_date_lo ON idx_date (type, param, lo, hi, res)"},
    {"idx_reference", "type, param, target_type, target_id, url",
     "CREATE INDEX idx_reference_target ON idx_reference (type, param, target_id, target_type, "
     "res); CREATE INDEX idx_reference_rev ON idx_reference (target_type, target_id, type, "
     "param)"},
    {"idx_quantity", "type, param, value, system, code, unit",
     "CREATE INDEX idx_quantity_value ON idx_quantity (type, param, value, res)"},
    {"idx_number", "type, param, value",
     "CREATE INDEX idx_number_value ON idx_number (type, param, value, res)"},
    {"idx_uri", "type, param, value",
     "CREATE INDEX idx_uri_value ON idx_uri (type, param, value, res)"},
    {"idx_composite",
     "type, param, grp, comp, system, code, text, norm, exact, lo, hi, target_type, target_id, "
     "url, value, unit",
     "CREATE INDEX idx_composite_code ON idx_composite (type, param, comp, code, res, grp); CREATE "
     "INDEX idx_composite_res ON idx_composite (res, param, grp, comp)"},
};

// The value indexes of schema 4, whose index rows carried the type and parameter texts.
constexpr const char* kSchema4Indexes = R"sql(
CREATE INDEX idx_token_code ON idx_token (type, param, code, system, res);
CREATE INDEX idx_string_norm ON idx_string (type, param, norm, res);
CREATE INDEX idx_date_lo ON idx_date (type, param, lo, hi, res);
CREATE INDEX idx_reference_target ON idx_reference (type, param, target_id, target_type, res);
CREATE INDEX idx_reference_rev ON idx_reference (target_type, target_id, type, param);
CREATE INDEX idx_quantity_value ON idx_quantity (type, param, value, res);
CREATE INDEX idx_number_value ON idx_number (type, param, value, res);
CREATE INDEX idx_uri_value ON idx_uri (type, param, value, res);
CREATE INDEX idx_composite_first ON idx_composite (type, param, code, res, grp) WHERE comp = 0;
)sql";

// Lays the index tables of the file out as schema 4 did (type and param texts in every row, no
// search_key), with the same rows, and marks the file schema 4.
void DowngradeToSchema4(Connection& db) {
  std::string sql;
  for (const auto& t : kSchema1IndexTables) {
    const std::string name = t[0];
    const std::string cols = t[1];  // "type, param, ...": the texts come from search_key
    sql += "CREATE TABLE " + name + "_s4 (res INTEGER NOT NULL, n INTEGER NOT NULL, " + cols +
           ", PRIMARY KEY (res, n)) WITHOUT ROWID; INSERT INTO " + name + "_s4 SELECT res, n, " +
           cols + " FROM " + name + " JOIN search_key USING (k); DROP TABLE " + name +
           "; ALTER TABLE " + name + "_s4 RENAME TO " + name + ";";
  }
  sql += kSchema4Indexes;
  sql += "DROP TABLE search_key; UPDATE schema_info SET value = '4' WHERE key = 'resource_schema';";
  Status s = db.Exec(sql);
  ASSERT_TRUE(s.ok()) << s.message();
}

class SqliteStoreUpgrade : public ::testing::Test {
 protected:
  void SetUp() override {
    auto reg = fhir::SearchParamRegistry::LoadBuiltin();
    ASSERT_TRUE(reg.ok());
    registry_ = *reg;
    path_ = (std::filesystem::temp_directory_path() /
             ("portico-store-upgrade-" + std::to_string(getpid()) + ".db"))
                .string();
    RemoveFiles();
  }
  void TearDown() override { RemoveFiles(); }
  void RemoveFiles() {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(path_ + suffix);
    }
  }
  // Writes `text` in a batch of its own; `commit` false leaves the batch to roll back.
  void Put(SqliteStore& store, const std::string& text, bool commit = true) {
    auto v = json::Parse(text);
    ASSERT_TRUE(v.ok());
    std::string type(v->GetString("resourceType"));
    std::string id(v->GetString("id"));
    auto prepared = fhir::PrepareResource(std::move(*v), type, id);
    auto index = fhir::ExtractIndex(*registry_, type, prepared.value);
    auto batch = store.BeginWrite();
    ASSERT_TRUE(batch.ok());
    auto r = (*batch)->Put(
        type, id, prepared.content_hash,
        [&](int64_t ver, base::Millis at) { return fhir::RenderStored(prepared, ver, at); }, index);
    ASSERT_TRUE(r.ok()) << r.status().message();
    if (commit) {
      ASSERT_TRUE((*batch)->Commit().ok());
    }
  }
  std::vector<std::string> Search(SqliteStore& store, const std::string& type,
                                  fhir::QueryPairs pairs) {
    fhir::SearchOptions so;
    so.base_url = "http://x/fhir";
    auto parsed = fhir::ParseSearch(*registry_, type, pairs, so);
    EXPECT_TRUE(parsed.ok());
    auto page = store.Search(parsed->query, fhir::AccessScope{});
    EXPECT_TRUE(page.ok()) << page.status().message();
    std::vector<std::string> out;
    for (const auto* list : {&page->matches, &page->includes}) {
      for (const StoredResource& r : *list) {
        out.push_back(r.type + "/" + r.id);
      }
    }
    return out;
  }

  base::SystemClock clock_;
  std::shared_ptr<const fhir::SearchParamRegistry> registry_;
  std::string path_;
};

TEST_F(SqliteStoreUpgrade, Schema1IndexTablesAreRebuiltAndStillFound) {
  const std::string obs =
      R"({"resourceType":"Observation","id":"o1","status":"final",
          "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],
          "code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},
          "subject":{"reference":"Patient/p1"},"effectiveDateTime":"2024-03-01",
          "component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},
                        "valueQuantity":{"value":120,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]})";
  {
    auto store = SqliteStore::Open(path_, registry_, clock_);
    ASSERT_TRUE(store.ok());
    Put(**store,
        R"({"resourceType":"Patient","id":"p1","gender":"female","name":[{"family":"Ng"}]})");
    Put(**store, obs);
  }
  {
    // Lay the index tables out as schema 1 did, with the same rows, and mark the file schema 1.
    auto db = Connection::Open(path_, false);
    ASSERT_TRUE(db.ok());
    DowngradeToSchema4(**db);
    for (const auto& t : kSchema1IndexTables) {
      std::string name = t[0];
      std::string cols = t[1];
      std::string sql = "CREATE TABLE " + name + "_s1 AS SELECT res, " + cols + " FROM " + name +
                        " ORDER BY res, n; DROP TABLE " + name + "; ALTER TABLE " + name +
                        "_s1 RENAME TO " + name + "; " + t[2] + ";";
      if (name != "idx_composite") {  // its (res, param, grp, comp) index served that purpose
        sql += " CREATE INDEX " + name + "_res ON " + name + " (res);";
      }
      Status s = (*db)->Exec(sql);
      ASSERT_TRUE(s.ok()) << name << ": " << s.message();
    }
    ASSERT_TRUE(
        (*db)->Exec("UPDATE schema_info SET value = '1' WHERE key = 'resource_schema'").ok());
  }
  auto store = SqliteStore::Open(path_, registry_, clock_);
  ASSERT_TRUE(store.ok()) << store.status().message();
  using V = std::vector<std::string>;
  EXPECT_EQ(Search(**store, "Patient", {{"gender", "female"}}), V{"Patient/p1"});
  EXPECT_EQ(Search(**store, "Patient", {{"family", "ng"}}), V{"Patient/p1"});
  EXPECT_EQ(Search(**store, "Observation", {{"category", "vital-signs"}, {"date", "2024-03"}}),
            V{"Observation/o1"});
  EXPECT_EQ(Search(**store, "Observation", {{"subject", "Patient/p1"}}), V{"Observation/o1"});
  EXPECT_EQ(Search(**store, "Observation",
                   {{"component-code-value-quantity", "http://loinc.org|8480-6$gt100"}}),
            V{"Observation/o1"});
  // Writes after the upgrade replace the index rows of the upgraded resource.
  Put(**store, R"({"resourceType":"Patient","id":"p1","gender":"male","name":[{"family":"Ng"}]})");
  EXPECT_EQ(Search(**store, "Patient", {{"gender", "female"}}), V{});
  EXPECT_EQ(Search(**store, "Patient", {{"gender", "male"}}), V{"Patient/p1"});
  store->reset();
  auto db = Connection::Open(path_, true);
  ASSERT_TRUE(db.ok());
  auto st = (*db)->Prepare("SELECT value FROM schema_info WHERE key = 'resource_schema'");
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE(*(*st)->Step());
  EXPECT_EQ((*st)->Text(0), "5");
}

int64_t Count(const std::string& path, const std::string& sql) {
  auto db = Connection::Open(path, true);
  EXPECT_TRUE(db.ok());
  auto st = (*db)->Prepare(sql);
  EXPECT_TRUE(st.ok()) << sql;
  EXPECT_TRUE(*(*st)->Step());
  return (*st)->Int(0);
}

std::vector<std::string> VersionsOf(SqliteStore& store, const std::string& id) {
  HistoryQuery q;
  q.type = "Patient";
  q.id = id;
  q.count = 50;
  auto h = store.History(q);
  EXPECT_TRUE(h.ok()) << h.status().message();
  std::vector<std::string> out;
  for (const StoredResource& r : *h) {
    out.push_back(std::to_string(r.version) + (r.deleted ? "-deleted" : ""));
  }
  return out;
}

TEST_F(SqliteStoreUpgrade, EachBodyIsStoredOnce) {
  auto opened = SqliteStore::Open(path_, registry_, clock_);
  ASSERT_TRUE(opened.ok());
  SqliteStore& store = **opened;
  Put(store, R"({"resourceType":"Patient","id":"p1","gender":"female"})");
  // A new resource is in resource only.
  EXPECT_EQ(Count(path_, "SELECT COUNT(*) FROM resource_version"), 0);
  Put(store, R"({"resourceType":"Patient","id":"p1","gender":"male"})");
  EXPECT_EQ(Count(path_, "SELECT COUNT(*) FROM resource_version"), 1);
  {
    auto batch = store.BeginWrite();
    ASSERT_TRUE(batch.ok());
    ASSERT_TRUE((*batch)->Delete("Patient", "p1").ok());
    ASSERT_TRUE((*batch)->Commit().ok());
  }
  EXPECT_EQ(Count(path_, "SELECT COUNT(*) FROM resource_version"), 2);
  EXPECT_EQ(Count(path_, "SELECT length(body) FROM resource WHERE id = 'p1'"), 0);
  using V = std::vector<std::string>;
  EXPECT_EQ(VersionsOf(store, "p1"), (V{"3-deleted", "2", "1"}));
  for (int64_t version : {1, 2}) {
    auto r = store.ReadVersion("Patient", "p1", version);
    ASSERT_TRUE(r.ok() && r->has_value()) << version;
    EXPECT_FALSE((*r)->deleted);
    EXPECT_NE((*r)->body.find(version == 1 ? "female" : "\"male\""), std::string::npos);
  }
  auto gone = store.ReadVersion("Patient", "p1", 3);
  ASSERT_TRUE(gone.ok() && gone->has_value());
  EXPECT_TRUE((*gone)->deleted);
  EXPECT_FALSE(store.ReadVersion("Patient", "p1", 4)->has_value());
  // Written again after the deletion: the deletion joins the history.
  Put(store, R"({"resourceType":"Patient","id":"p1","gender":"other"})");
  EXPECT_EQ(VersionsOf(store, "p1"), (V{"4", "3-deleted", "2", "1"}));
}

TEST_F(SqliteStoreUpgrade, Schema2HistoryKeepsEveryVersionOnceAfterTheUpgrade) {
  {
    auto opened = SqliteStore::Open(path_, registry_, clock_);
    ASSERT_TRUE(opened.ok());
    Put(**opened, R"({"resourceType":"Patient","id":"p1","gender":"female"})");
    Put(**opened, R"({"resourceType":"Patient","id":"p1","gender":"male"})");
    Put(**opened, R"({"resourceType":"Patient","id":"p2","gender":"male"})");
  }
  {
    // Schema 2 also kept each current version in the history.
    auto db = Connection::Open(path_, false);
    ASSERT_TRUE(db.ok());
    DowngradeToSchema4(**db);
    ASSERT_TRUE((*db)
                    ->Exec("INSERT INTO resource_version (type, id, version, last_updated, "
                           "deleted, body) SELECT type, id, version, last_updated, deleted, "
                           "body FROM resource; UPDATE schema_info SET value = '2' WHERE key = "
                           "'resource_schema'")
                    .ok());
  }
  EXPECT_EQ(Count(path_, "SELECT COUNT(*) FROM resource_version"), 3);
  auto opened = SqliteStore::Open(path_, registry_, clock_);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_EQ(Count(path_, "SELECT COUNT(*) FROM resource_version"), 1);
  EXPECT_EQ(Count(path_, "SELECT value FROM schema_info WHERE key = 'resource_schema'"), 5);
  using V = std::vector<std::string>;
  EXPECT_EQ(VersionsOf(**opened, "p1"), (V{"2", "1"}));
  EXPECT_EQ(VersionsOf(**opened, "p2"), (V{"1"}));
}

TEST_F(SqliteStoreUpgrade, PinnedReadsShareOneConnectionAndOneSnapshot) {
  auto opened = SqliteStore::Open(path_, registry_, clock_);
  ASSERT_TRUE(opened.ok());
  SqliteStore& store = **opened;
  Put(store, R"({"resourceType":"Patient","id":"p1","gender":"female"})");
  {
    std::unique_ptr<ReadScope> scope = store.PinReads();
    ASSERT_NE(scope, nullptr);
    EXPECT_EQ(store.PinReads(), nullptr);  // one scope per thread
    auto a = store.AcquireReader();
    auto b = store.AcquireReader();
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(&(*a)->conn(), &(*b)->conn());
    auto before = store.Read("Patient", "p1");
    ASSERT_TRUE(before.ok() && before->has_value());
    EXPECT_EQ((*before)->version, 1);
    // A write committed meanwhile (as by another request) is not part of this snapshot.
    Put(store, R"({"resourceType":"Patient","id":"p1","gender":"male"})");
    auto during = store.Read("Patient", "p1");
    ASSERT_TRUE(during.ok() && during->has_value());
    EXPECT_EQ((*during)->version, 1);
    EXPECT_EQ(Search(store, "Patient", {{"gender", "male"}}), std::vector<std::string>{});
  }
  // The scope is over: reads see the latest commit again, and another thread is not pinned.
  auto after = store.Read("Patient", "p1");
  ASSERT_TRUE(after.ok() && after->has_value());
  EXPECT_EQ((*after)->version, 2);
  EXPECT_EQ(Search(store, "Patient", {{"gender", "male"}}), std::vector<std::string>{"Patient/p1"});
  std::unique_ptr<ReadScope> scope = store.PinReads();
  ASSERT_NE(scope, nullptr);
  auto mine = store.AcquireReader();
  ASSERT_TRUE(mine.ok());
  Connection* other = nullptr;
  std::thread([&] {
    auto lease = store.AcquireReader();
    ASSERT_TRUE(lease.ok());
    other = &(*lease)->conn();
  }).join();
  EXPECT_NE(other, &(*mine)->conn());
}

// The names of the indexes in the file at `path`, sorted.
std::vector<std::string> IndexNames(const std::string& path) {
  std::vector<std::string> out;
  auto db = Connection::Open(path, true);
  EXPECT_TRUE(db.ok());
  auto st = (*db)->Prepare(
      "SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name");
  EXPECT_TRUE(st.ok());
  while (true) {
    auto row = (*st)->Step();
    EXPECT_TRUE(row.ok());
    if (!row.ok() || !*row) {
      break;
    }
    out.emplace_back((*st)->Text(0));
  }
  return out;
}

TEST_F(SqliteStoreUpgrade, ABulkLoadBuildsTheSearchIndexesAtItsEnd) {
  auto store = SqliteStore::Open(path_, registry_, clock_);
  ASSERT_TRUE(store.ok());
  const std::vector<std::string> full = IndexNames(path_);
  ASSERT_GE(full.size(), 12u);
  auto started = (*store)->StartBulkLoad();
  ASSERT_TRUE(started.ok()) << started.status().message();
  EXPECT_TRUE(*started);
  std::vector<std::string> during = IndexNames(path_);
  EXPECT_EQ(during.size(), full.size() - 12);
  for (const char* kept : {"compartment_res", "resource_version_updated"}) {
    EXPECT_NE(std::find(during.begin(), during.end(), kept), during.end()) << kept;
  }
  Put(**store, R"({"resourceType":"Patient","id":"p1","gender":"female"})");
  Put(**store, R"({"resourceType":"Patient","id":"p2","gender":"male"})");
  // Without the indexes a search scans, and finds the same.
  using V = std::vector<std::string>;
  EXPECT_EQ(Search(**store, "Patient", {{"gender", "female"}}), V{"Patient/p1"});
  ASSERT_TRUE((*store)->FinishBulkLoad().ok());
  EXPECT_EQ(IndexNames(path_), full);
  EXPECT_EQ(Search(**store, "Patient", {{"gender", "male"}}), V{"Patient/p2"});
  // A store with data keeps its indexes: a load into it is not a bulk load.
  started = (*store)->StartBulkLoad();
  ASSERT_TRUE(started.ok());
  EXPECT_FALSE(*started);
  EXPECT_EQ(IndexNames(path_), full);
}

TEST_F(SqliteStoreUpgrade, AnUnfinishedBulkLoadGetsItsIndexesAtTheNextOpen) {
  std::vector<std::string> full;
  {
    auto store = SqliteStore::Open(path_, registry_, clock_);
    ASSERT_TRUE(store.ok());
    full = IndexNames(path_);
    auto started = (*store)->StartBulkLoad();
    ASSERT_TRUE(started.ok() && *started);
    Put(**store, R"({"resourceType":"Patient","id":"p1","gender":"female"})");
  }  // as if the import ended before FinishBulkLoad
  ASSERT_LT(IndexNames(path_).size(), full.size());
  auto store = SqliteStore::Open(path_, registry_, clock_);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(IndexNames(path_), full);
  EXPECT_EQ(Search(**store, "Patient", {{"gender", "female"}}),
            std::vector<std::string>{"Patient/p1"});
}

TEST_F(SqliteStoreUpgrade, Schema3CompositeIndexGivesWayToTheFirstComponentIndex) {
  std::vector<std::string> fresh;
  {
    auto store = SqliteStore::Open(path_, registry_, clock_);
    ASSERT_TRUE(store.ok());
    fresh = IndexNames(path_);
    Put(**store,
        R"({"resourceType":"Observation","id":"bp","status":"final",
            "code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},
            "component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},
                          "valueQuantity":{"value":120,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]})");
  }
  {
    // As schema 3 left it: one index over every component.
    auto db = Connection::Open(path_, false);
    ASSERT_TRUE(db.ok());
    DowngradeToSchema4(**db);
    ASSERT_TRUE((*db)
                    ->Exec("DROP INDEX idx_composite_first; CREATE INDEX idx_composite_code ON "
                           "idx_composite (type, param, comp, code, res, grp); UPDATE schema_info "
                           "SET value = '3' WHERE key = 'resource_schema'")
                    .ok());
  }
  auto store = SqliteStore::Open(path_, registry_, clock_);
  ASSERT_TRUE(store.ok()) << store.status().message();
  EXPECT_EQ(IndexNames(path_), fresh);
  using V = std::vector<std::string>;
  EXPECT_EQ(Search(**store, "Observation",
                   {{"component-code-value-quantity", "http://loinc.org|8480-6$gt100"}}),
            V{"Observation/bp"});
  EXPECT_EQ(Search(**store, "Observation", {{"component-code-value-quantity", "8480-6$lt100"}}),
            V{});
}

TEST_F(SqliteStoreUpgrade, PageCachesAreCountedWhileTheirConnectionsAreOpen) {
  const int64_t before = SqliteMemoryUsed();
  {
    auto store = SqliteStore::Open(path_, registry_, clock_);
    ASSERT_TRUE(store.ok());
    Put(**store, R"({"resourceType":"Patient","id":"p1","gender":"female"})");
    auto read = (*store)->Read("Patient", "p1");
    ASSERT_TRUE(read.ok() && read->has_value());
    (void)(*store)->LockWriter();  // the writer notes its cache when it is taken
    EXPECT_GT(SqliteMemoryUsed(), before);
  }
  EXPECT_EQ(SqliteMemoryUsed(), before);
}

TEST_F(SqliteStoreUpgrade, Schema4IndexRowsTradeTheirTextsForKeys) {
  std::vector<std::string> fresh;
  {
    auto store = SqliteStore::Open(path_, registry_, clock_);
    ASSERT_TRUE(store.ok());
    fresh = IndexNames(path_);
    Put(**store, R"({"resourceType":"Patient","id":"p1","gender":"female",
                     "name":[{"family":"Ng"}],"birthDate":"1980-02-03"})");
    Put(**store, R"({"resourceType":"Coverage","id":"c1","status":"active",
                     "beneficiary":{"reference":"Patient/p1"},"payor":[{"reference":"Organization/o1"}]})");
    Put(**store, R"({"resourceType":"Organization","id":"o1","name":"Acme Health"})");
  }
  {
    auto db = Connection::Open(path_, false);
    ASSERT_TRUE(db.ok());
    DowngradeToSchema4(**db);
  }
  auto store = SqliteStore::Open(path_, registry_, clock_);
  ASSERT_TRUE(store.ok()) << store.status().message();
  EXPECT_EQ(IndexNames(path_), fresh);
  EXPECT_EQ(Count(path_, "SELECT value FROM schema_info WHERE key = 'resource_schema'"), 5);
  EXPECT_EQ(Count(path_, "SELECT COUNT(*) FROM sqlite_schema WHERE name LIKE '%_v4'"), 0);
  // One key per pair: the gender of Patient and the status of Coverage are different keys.
  EXPECT_EQ(Count(path_,
                  "SELECT COUNT(*) FROM search_key WHERE type = 'Patient' AND param = "
                  "'gender'"),
            1);
  using V = std::vector<std::string>;
  EXPECT_EQ(Search(**store, "Patient", {{"gender", "female"}}), V{"Patient/p1"});
  EXPECT_EQ(Search(**store, "Patient", {{"family", "ng"}, {"birthdate", "1980"}}), V{"Patient/p1"});
  EXPECT_EQ(Search(**store, "Coverage", {{"beneficiary", "Patient/p1"}, {"status", "active"}}),
            V{"Coverage/c1"});
  EXPECT_EQ(Search(**store, "Coverage", {{"status", "female"}}), V{});
  EXPECT_EQ(
      Search(**store, "Coverage", {{"payor", "Organization/o1"}, {"_include", "Coverage:payor"}}),
      (V{"Coverage/c1", "Organization/o1"}));
  EXPECT_EQ(Search(**store, "Patient", {{"_id", "p1"}, {"_revinclude", "Coverage:beneficiary"}}),
            (V{"Patient/p1", "Coverage/c1"}));
  // A write after the upgrade numbers a pair the old rows never used.
  Put(**store, R"({"resourceType":"Organization","id":"o2","name":"Other","active":true})");
  EXPECT_EQ(Search(**store, "Organization", {{"active", "true"}}), V{"Organization/o2"});
}

TEST_F(SqliteStoreUpgrade, ANumberFromARolledBackBatchIsForgotten) {
  auto store = SqliteStore::Open(path_, registry_, clock_);
  ASSERT_TRUE(store.ok());
  // The first batch numbers (Patient, active) and is rolled back; SQLite may then give the same
  // number to the next new pair, (Organization, active).
  Put(**store, R"({"resourceType":"Patient","id":"p1","active":true})", false);
  Put(**store, R"({"resourceType":"Organization","id":"o1","active":true})");
  Put(**store, R"({"resourceType":"Patient","id":"p1","active":true})");
  using V = std::vector<std::string>;
  EXPECT_EQ(Search(**store, "Patient", {{"active", "true"}}), V{"Patient/p1"});
  EXPECT_EQ(Search(**store, "Organization", {{"active", "true"}}), V{"Organization/o1"});
  EXPECT_EQ(Count(path_, "SELECT COUNT(DISTINCT k) FROM idx_token"),
            Count(path_, "SELECT COUNT(*) FROM search_key WHERE k IN (SELECT k FROM idx_token)"));
  EXPECT_EQ(Count(path_, "SELECT COUNT(*) FROM search_key WHERE param = 'active'"), 2);
}

TEST_F(SqliteStoreUpgrade, ACompositeWithoutAllItsComponentsHasNoRows) {
  auto store = SqliteStore::Open(path_, registry_, clock_);
  ASSERT_TRUE(store.ok());
  Put(**store, R"({"resourceType":"Observation","id":"hr","status":"final",
                   "code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},
                   "valueQuantity":{"value":44,"system":"http://unitsofmeasure.org","code":"/min"}})");
  auto rows = [&](const std::string& param) {
    return Count(path_, "SELECT COUNT(*) FROM idx_composite x JOIN search_key s ON s.k = x.k "
                        "WHERE s.type = 'Observation' AND s.param = '" + param + "'");
  };
  EXPECT_EQ(rows("code-value-quantity"), 2);  // code and value
  // A code alone can never match a search that names a concept, a date or a string too.
  EXPECT_EQ(rows("code-value-concept"), 0);
  EXPECT_EQ(rows("code-value-date"), 0);
  EXPECT_EQ(rows("code-value-string"), 0);
  EXPECT_EQ(Search(**store, "Observation", {{"code-value-quantity", "8867-4$44"}}),
            std::vector<std::string>{"Observation/hr"});
}

TEST_F(SqliteStoreUpgrade, CachedTransactionStatementsRunAgainAndReportErrors) {
  auto db = Connection::Open(path_, false);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t (x INTEGER)").ok());
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE((*db)->RunCached("BEGIN IMMEDIATE").ok()) << round;
    // The same cached statement again, inside the transaction it opened: SQLite refuses it.
    EXPECT_FALSE((*db)->RunCached("BEGIN IMMEDIATE").ok()) << round;
    ASSERT_TRUE((*db)->Exec("INSERT INTO t VALUES (" + std::to_string(round) + ")").ok());
    ASSERT_TRUE((*db)->RunCached(round == 1 ? "ROLLBACK" : "COMMIT").ok()) << round;
  }
  EXPECT_FALSE((*db)->RunCached("COMMIT").ok());  // no transaction is open
  EXPECT_FALSE((*db)->RunCached("NOT SQL").ok());
  EXPECT_EQ(Count(path_, "SELECT COUNT(*) FROM t"), 2);  // round 1 was rolled back
  EXPECT_EQ(Count(path_, "SELECT SUM(x) FROM t"), 2);    // rounds 0 and 2
}

}  // namespace
}  // namespace portico::store::sqlite

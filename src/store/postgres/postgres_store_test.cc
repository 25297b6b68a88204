// PostgreSQL-only behaviour: schema migrations (from an empty database, from the previous
// release's schema, concurrent starts), refusal of a newer schema, start without a reachable
// server, and read-replica routing. The shared behaviour is in store_conformance_test.cc.
// Needs PORTICO_TEST_PG (scripts/with-postgres.sh); skipped without it except in CI.
#ifdef PORTICO_WITH_POSTGRES

#include "src/store/postgres/postgres_store.h"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "src/fhir/model/resource.h"
#include "src/fhir/search/query_parser.h"
#include "src/store/postgres/migrations.h"
#include "src/store/postgres/postgres_auth_store.h"
#include "src/store/store_metrics.h"
#include "src/store/testing/test_backends.h"

namespace portico::store::postgres {
namespace {

class FixedClock : public base::Clock {
 public:
  base::Millis NowMillis() const override { return 1717243200000; }
};

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = testing::SkipReason("postgres"); !why.empty()) {
      GTEST_SKIP() << why;
    }
    auto reg = fhir::SearchParamRegistry::LoadBuiltin();
    ASSERT_TRUE(reg.ok());
    registry_ = *reg;
    auto db = testing::TestDatabase::Create(
        "postgres",
        std::string("pg_") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_TRUE(db.ok()) << db.status().message();
    db_ = std::move(*db);
  }

  std::unique_ptr<PgConn> Connect() {
    PgOptions po;
    po.conninfo = db_->db();
    auto c = PgConn::Connect(po);
    EXPECT_TRUE(c.ok()) << c.status().message();
    return c.ok() ? std::move(*c) : nullptr;
  }

  int64_t Count(PgConn& c, const std::string& sql) {
    auto r = c.Exec(sql);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() && r->rows() > 0 ? r->Int(0, 0) : -1;
  }

  // Ends every other connection to this test's database and waits until they are gone, as a
  // server restart or an administrator's pg_terminate_backend does. Returns how many it ended.
  int64_t TerminateOthers() {
    auto admin = Connect();
    if (admin == nullptr) {
      return -1;
    }
    return Count(*admin,
                 "SELECT COUNT(*) FROM pg_stat_activity a, LATERAL pg_terminate_backend(a.pid, "
                 "5000) t WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() "
                 "AND t");
  }

  PostgresOptions Options() {
    PostgresOptions o;
    o.url = db_->db();
    return o;
  }

  Status Put(ResourceStore& store, const std::string& text) {
    auto v = json::Parse(text);
    if (!v.ok()) {
      return v.status();
    }
    std::string type(v->GetString("resourceType"));
    std::string id(v->GetString("id"));
    auto prepared = fhir::PrepareResource(std::move(*v), type, id);
    auto index = fhir::ExtractIndex(*registry_, type, prepared.value);
    ASSIGN_OR_RETURN(auto batch, store.BeginWrite());
    RETURN_IF_ERROR(
        (*batch)
            .Put(
                type, id, prepared.content_hash,
                [&](int64_t ver, base::Millis at) { return fhir::RenderStored(prepared, ver, at); },
                index)
            .status());
    return batch->Commit();
  }

  FixedClock clock_;
  std::shared_ptr<const fhir::SearchParamRegistry> registry_;
  std::unique_ptr<testing::TestDatabase> db_;
};

TEST_F(PostgresStoreTest, MigratesAnEmptyDatabaseOnceAndIsIdempotent) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(*SchemaVersion(*c), 0);
  auto v = Migrate(*c);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(*v, LatestSchemaVersion());
  EXPECT_EQ(*Migrate(*c), LatestSchemaVersion());
  EXPECT_EQ(Count(*c, "SELECT COUNT(*) FROM schema_migrations"),
            static_cast<int64_t>(Migrations().size()));
  // Every member-data table carries the patient distribution key.
  EXPECT_EQ(Count(*c,
                  "SELECT COUNT(*) FROM information_schema.columns WHERE column_name = "
                  "'patient' AND table_name IN ('resource', 'resource_version', 'idx_token', "
                  "'idx_string', 'idx_date', 'idx_reference', 'idx_quantity', 'idx_number', "
                  "'idx_uri', 'idx_composite', 'compartment')"),
            11);
}

TEST_F(PostgresStoreTest, MigratesThePreviousReleasesSchemaWithItsData) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(*Migrate(*c, 1), 1);
  // Rows as release 0.1 wrote them (no distribution column yet).
  ASSERT_TRUE(c->Exec("INSERT INTO resource (type, id, version, last_updated, deleted, hash, "
                      "body) VALUES ('Patient', 'p1', 1, 1, 0, 'h1', "
                      "'{\"resourceType\":\"Patient\",\"id\":\"p1\",\"gender\":\"female\"}'), "
                      "('Organization', 'o1', 1, 1, 0, 'h2', "
                      "'{\"resourceType\":\"Organization\",\"id\":\"o1\"}')")
                  .ok());
  ASSERT_TRUE(c->Exec("INSERT INTO resource_version (type, id, version, last_updated, deleted, "
                      "body) SELECT type, id, version, last_updated, deleted, body FROM resource")
                  .ok());
  ASSERT_TRUE(c->Exec("INSERT INTO compartment (patient, type, res) SELECT 'p1', 'Patient', seq "
                      "FROM resource WHERE id = 'p1'")
                  .ok());
  ASSERT_TRUE(c->Exec("INSERT INTO idx_token (res, type, param, system, code, text) SELECT seq, "
                      "'Patient', 'gender', 'http://hl7.org/fhir/administrative-gender', "
                      "'female', '' FROM resource WHERE id = 'p1'")
                  .ok());
  // The new release starts: it migrates and serves the old data.
  auto store = PostgresStore::Open(Options(), registry_, clock_);
  ASSERT_TRUE(store.ok()) << store.status().message();
  EXPECT_EQ(*SchemaVersion(*c), LatestSchemaVersion());
  EXPECT_EQ(Count(*c, "SELECT COUNT(*) FROM resource WHERE id = 'p1' AND patient = 'p1'"), 1);
  EXPECT_EQ(Count(*c, "SELECT COUNT(*) FROM resource WHERE id = 'o1' AND patient = ''"), 1);
  EXPECT_EQ(Count(*c, "SELECT COUNT(*) FROM resource_version WHERE patient = 'p1'"), 1);
  EXPECT_EQ(Count(*c, "SELECT COUNT(*) FROM idx_token WHERE patient = 'p1'"), 1);
  // Every unique key of a member-data table holds the patient (a sharded engine requires it).
  EXPECT_EQ(Count(*c,
                  "SELECT COUNT(*) FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
                  "WHERE t.relname IN ('resource', 'resource_version', 'compartment') AND "
                  "i.indisunique AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE "
                  "a.attrelid = t.oid AND a.attname = 'patient' AND a.attnum = ANY(i.indkey))"),
            0);
  EXPECT_EQ(Count(*c,
                  "SELECT COUNT(*) FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
                  "WHERE t.relname = 'resource' AND i.indisunique"),
            2);
  fhir::SearchOptions so;
  so.base_url = "http://x/fhir";
  auto q = fhir::ParseSearch(*registry_, "Patient", {{"gender", "female"}}, so);
  ASSERT_TRUE(q.ok());
  fhir::AccessScope scope;
  scope.unrestricted = false;
  scope.patient_ids = {"p1"};
  auto page = (*store)->Search(q->query, scope);
  ASSERT_TRUE(page.ok()) << page.status().message();
  ASSERT_EQ(page->matches.size(), 1u);
  EXPECT_EQ(page->matches[0].id, "p1");
  // And writes through the new schema work on top of the old rows.
  ASSERT_TRUE(Put(**store, R"({"resourceType":"Patient","id":"p1","gender":"male"})").ok());
  auto cur = (*store)->Read("Patient", "p1");
  ASSERT_TRUE(cur.ok() && cur->has_value());
  EXPECT_EQ((*cur)->version, 2);
}

TEST_F(PostgresStoreTest, NodesStartingTogetherMigrateOnce) {
  constexpr int kNodes = 6;
  std::atomic<int> ok{0};
  std::vector<std::thread> nodes;
  for (int i = 0; i < kNodes; ++i) {
    nodes.emplace_back([&] {
      auto store = PostgresStore::Open(Options(), registry_, clock_);
      if (store.ok() && (*store)->CountByType().ok()) {
        ++ok;
      }
    });
  }
  for (auto& t : nodes) {
    t.join();
  }
  EXPECT_EQ(ok.load(), kNodes);
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(Count(*c, "SELECT COUNT(*) FROM schema_migrations"),
            static_cast<int64_t>(Migrations().size()));
}

TEST_F(PostgresStoreTest, RefusesANewerSchema) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(Migrate(*c).ok());
  ASSERT_TRUE(c->Exec("INSERT INTO schema_migrations VALUES (999, 'from the future', 0)").ok());
  auto store = PostgresStore::Open(Options(), registry_, clock_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(PostgresStoreTest, WithoutMigrateRefusesAnOldSchema) {
  PostgresOptions o = Options();
  o.migrate = false;
  auto store = PostgresStore::Open(o, registry_, clock_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(PostgresStoreTest, StartsWithoutTheServerAndReportsUnavailable) {
  PostgresOptions o;
  o.url = "postgresql://portico@127.0.0.1:1/nothing";  // nothing listens on port 1
  o.connect_timeout_seconds = 2;
  auto store = PostgresStore::Open(o, registry_, clock_);
  ASSERT_TRUE(store.ok()) << store.status().message();
  auto counts = (*store)->CountByType();
  ASSERT_FALSE(counts.ok());
  EXPECT_EQ(counts.status().code(), StatusCode::kUnavailable);
  PostgresAuthStore auth(**store);
  EXPECT_EQ(auth.GrantActive("g").status().code(), StatusCode::kUnavailable);
}

TEST_F(PostgresStoreTest, ReadReplicaServesReadsAndWritersReadTheirWrites) {
  PostgresOptions o = Options();
  o.read_url = db_->db();  // a server that is not a standby counts as fully caught up
  auto store = PostgresStore::Open(o, registry_, clock_);
  ASSERT_TRUE(store.ok()) << store.status().message();
  ASSERT_TRUE(Put(**store, R"({"resourceType":"Patient","id":"r1"})").ok());
  auto cur = (*store)->Read("Patient", "r1");
  ASSERT_TRUE(cur.ok() && cur->has_value());
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  EXPECT_GE(Count(*c,
                  "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = "
                  "'portico-read'"),
            1);
}

// A connection the server dropped while it sat in the pool (a restart, an administrator) is
// replaced before anything is sent on it: the next writes succeed, once each.
TEST_F(PostgresStoreTest, ConnectionsDroppedWhileIdleAreReplacedBeforeAWrite) {
  auto store = PostgresStore::Open(Options(), registry_, clock_);
  ASSERT_TRUE(store.ok()) << store.status().message();
  PostgresAuthStore auth(**store);
  ASSERT_TRUE(Put(**store, R"({"resourceType":"Patient","id":"d1","active":true})").ok());
  Client c;
  c.client_id = "app-before";
  c.name = "Before";
  ASSERT_TRUE(auth.PutClient(c).ok());
  ASSERT_GE(TerminateOthers(), 1);

  Status s = Put(**store, R"({"resourceType":"Patient","id":"d1","active":false})");
  ASSERT_TRUE(s.ok()) << s.message();
  c.client_id = "app-after";
  ASSERT_GE(TerminateOthers(), 1);
  s = auth.PutClient(c);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_GE(TerminateOthers(), 1);
  auto got = auth.GetClient("app-after");
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status().message();

  auto cur = (*store)->Read("Patient", "d1");
  ASSERT_TRUE(cur.ok() && cur->has_value()) << cur.status().message();
  EXPECT_EQ((*cur)->version, 2);
  auto admin = Connect();
  ASSERT_NE(admin, nullptr);
  EXPECT_EQ(Count(*admin, "SELECT COUNT(*) FROM resource_version WHERE id = 'd1'"), 2);
  EXPECT_EQ(Count(*admin, "SELECT COUNT(*) FROM auth_client"), 2);
}

// A connection that drops in the middle of a write batch loses the batch as a whole, and says
// so; the writer's retry then stores it exactly once.
TEST_F(PostgresStoreTest, ADropDuringABatchWritesNothingAndTheRetryWritesOnce) {
  auto store = PostgresStore::Open(Options(), registry_, clock_);
  ASSERT_TRUE(store.ok()) << store.status().message();
  const std::string text = R"({"resourceType":"Patient","id":"d2","active":true})";
  auto v = json::Parse(text);
  ASSERT_TRUE(v.ok());
  auto prepared = fhir::PrepareResource(std::move(*v), "Patient", "d2");
  auto index = fhir::ExtractIndex(*registry_, "Patient", prepared.value);
  {
    auto batch = (*store)->BeginWrite();
    ASSERT_TRUE(batch.ok()) << batch.status().message();
    auto put = (*batch)->Put(
        "Patient", "d2", prepared.content_hash,
        [&](int64_t ver, base::Millis at) { return fhir::RenderStored(prepared, ver, at); }, index);
    ASSERT_TRUE(put.ok()) << put.status().message();
    ASSERT_GE(TerminateOthers(), 1);
    Status commit = (*batch)->Commit();
    ASSERT_FALSE(commit.ok());
    EXPECT_EQ(commit.code(), StatusCode::kUnavailable) << commit.message();
  }
  auto none = (*store)->Read("Patient", "d2");
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(Put(**store, text).ok());
  auto admin = Connect();
  ASSERT_NE(admin, nullptr);
  EXPECT_EQ(Count(*admin, "SELECT COUNT(*) FROM resource_version WHERE id = 'd2'"), 1);
  EXPECT_EQ(Count(*admin, "SELECT MAX(version) FROM resource WHERE id = 'd2'"), 1);
}

// A pipeline runs its statements in order in one round trip; after an error the rest are
// skipped and the error is returned; either way the connection leaves pipeline mode usable.
// Outside a transaction it is all or nothing (one implicit transaction).
TEST_F(PostgresStoreTest, PipelineRunsInOrderAndStopsAtTheFirstError) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  Status s = c->ExecPipeline({{"CREATE TABLE pipe (n BIGINT PRIMARY KEY, t TEXT)", {}},
                              {"INSERT INTO pipe VALUES ($1, $2)", {int64_t{1}, "one"}},
                              {"INSERT INTO pipe VALUES ($1, $2)", {int64_t{2}, "two"}}});
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(Count(*c, "SELECT COUNT(*) FROM pipe"), 2);
  s = c->ExecPipeline({{"INSERT INTO pipe VALUES ($1, $2)", {int64_t{3}, "three"}},
                       {"INSERT INTO pipe VALUES ($1, $2)", {int64_t{1}, "again"}},  // duplicate
                       {"INSERT INTO pipe VALUES ($1, $2)", {int64_t{4}, "four"}}});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kAborted) << s.message();  // unique violation
  // Outside a transaction the pipeline is one implicit transaction: the error undid the first
  // insert, and the last never ran.
  EXPECT_EQ(Count(*c, "SELECT COUNT(*) FROM pipe"), 2);
  // Inside a transaction the error aborts it, as a single statement would.
  s = c->ExecPipeline(
      {{"BEGIN", {}}, {"INSERT INTO pipe VALUES ($1, $2)", {int64_t{5}, "x"}}, {"SELECT 1/0", {}}});
  ASSERT_FALSE(s.ok());
  ASSERT_TRUE(c->Exec("ROLLBACK").ok());
  EXPECT_EQ(Count(*c, "SELECT COUNT(*) FROM pipe WHERE n = 5"), 0);
  EXPECT_TRUE(c->Healthy());
  EXPECT_TRUE(c->ExecPipeline({}).ok());
}

// statement_timeout_ms bounds every statement: a slow one is cancelled and reported as the
// database being unavailable (503), and the connection stays usable.
TEST_F(PostgresStoreTest, StatementTimeoutCancelsSlowStatements) {
  PgOptions po;
  po.conninfo = db_->db();
  po.statement_timeout_ms = 100;
  auto conn = PgConn::Connect(po);
  ASSERT_TRUE(conn.ok()) << conn.status().message();
  auto slow = (*conn)->Exec("SELECT pg_sleep(2)");
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(slow.status().message(), "PostgreSQL: statement timeout");
  auto shown = (*conn)->Exec("SHOW statement_timeout");
  ASSERT_TRUE(shown.ok()) << shown.status().message();
  EXPECT_EQ(shown->Text(0, 0), "100ms");
}

TEST_F(PostgresStoreTest, PoolSizeAndAcquireTimeoutBoundConnections) {
  PostgresOptions o = Options();
  o.pool_size = 1;
  o.acquire_timeout_ms = 200;
  auto store = PostgresStore::Open(o, registry_, clock_);
  ASSERT_TRUE(store.ok());
  StoreMetrics& metrics = StoreMetrics::Global();
  StoreMetrics::Snapshot before = metrics.Get(StoreMetrics::kPostgresPrimary);
  auto b1 = (*store)->BeginWrite();  // holds the only connection
  ASSERT_TRUE(b1.ok());
  EXPECT_EQ(metrics.Get(StoreMetrics::kPostgresPrimary).in_use, before.in_use + 1);
  EXPECT_EQ(metrics.Get(StoreMetrics::kPostgresPrimary).capacity, 1);
  auto counts = (*store)->CountByType();
  ASSERT_FALSE(counts.ok());
  EXPECT_EQ(counts.status().code(), StatusCode::kUnavailable);
  // /metrics shows the exhausted pool.
  EXPECT_EQ(metrics.Get(StoreMetrics::kPostgresPrimary).exhausted, before.exhausted + 1);
  b1->reset();
  EXPECT_TRUE((*store)->CountByType().ok());
  EXPECT_EQ(metrics.Get(StoreMetrics::kPostgresPrimary).in_use, before.in_use);
}

}  // namespace
}  // namespace portico::store::postgres

#endif  // PORTICO_WITH_POSTGRES

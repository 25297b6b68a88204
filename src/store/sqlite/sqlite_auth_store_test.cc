#include "src/store/sqlite/sqlite_auth_store.h"

#include <atomic>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <unistd.h>

namespace portico::store::sqlite {
namespace {

constexpr base::Millis kNow = 1717243200000;

class FakeClock : public base::Clock {
 public:
  base::Millis NowMillis() const override { return kNow; }
};

class SqliteAuthStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto reg = fhir::SearchParamRegistry::LoadBuiltin();
    ASSERT_TRUE(reg.ok()) << reg.status().message();
    path_ = std::filesystem::temp_directory_path() /
            ("portico-auth-store-test-" + std::to_string(getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
    RemoveFiles();
    auto s = SqliteStore::Open(path_.string(), *reg, clock_);
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(*s);
    auto a = SqliteAuthStore::Open(*store_);
    ASSERT_TRUE(a.ok()) << a.status().message();
    auth_ = std::move(*a);
  }
  void TearDown() override {
    auth_.reset();
    store_.reset();
    RemoveFiles();
  }
  void RemoveFiles() {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(path_.string() + suffix);
    }
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
  std::filesystem::path path_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<SqliteAuthStore> auth_;
};

TEST_F(SqliteAuthStoreTest, ReopenKeepsDataAndSchemaVersion) {
  ASSERT_TRUE(auth_->PutGrant(MakeGrant("g1", "alice", "p1", "r1")).ok());
  auth_.reset();
  auto again = SqliteAuthStore::Open(*store_);
  ASSERT_TRUE(again.ok()) << again.status().message();
  auth_ = std::move(*again);
  EXPECT_TRUE(*auth_->GrantActive("g1"));

  auto lease = store_->AcquireReader();
  ASSERT_TRUE(lease.ok());
  auto st = (*lease)->conn().Prepare("SELECT value FROM schema_info WHERE key = 'auth_schema'");
  ASSERT_TRUE(st.ok());
  auto row = (*st)->Step();
  ASSERT_TRUE(row.ok());
  ASSERT_TRUE(*row);
  EXPECT_EQ((*st)->Text(0), "2");
}

// A database file written by release 0.1 (auth schema 1) gains the registration columns and the
// operator table when opened; its clients keep working (active stays active, inactive becomes
// suspended).
TEST_F(SqliteAuthStoreTest, UpgradesASchemaOneFile) {
  auth_.reset();
  {
    SqliteStore::WriterLock lock = store_->LockWriter();
    Connection& db = store_->writer();
    ASSERT_TRUE(db.Exec("DROP TABLE auth_client; DROP TABLE auth_operator;").ok());
    ASSERT_TRUE(db.Exec("CREATE TABLE auth_client (client_id TEXT PRIMARY KEY, name TEXT NOT "
                        "NULL, type TEXT NOT NULL, secret_hash TEXT NOT NULL, jwks_url TEXT NOT "
                        "NULL, jwks_json TEXT NOT NULL, redirect_uris TEXT NOT NULL, scope TEXT "
                        "NOT NULL, active INTEGER NOT NULL, created_at INTEGER NOT NULL) "
                        "WITHOUT ROWID")
                    .ok());
    ASSERT_TRUE(db.Exec("INSERT INTO auth_client VALUES ('old', 'Old App', 'public', '', '', '', "
                        "'[\"https://old.example/cb\"]', '', 1, 1000), ('off', 'Off', "
                        "'public', '', '', '', '[]', '', 0, 2000)")
                    .ok());
    ASSERT_TRUE(db.Exec("UPDATE schema_info SET value = '1' WHERE key = 'auth_schema'").ok());
  }
  auto again = SqliteAuthStore::Open(*store_);
  ASSERT_TRUE(again.ok()) << again.status().message();
  auth_ = std::move(*again);
  auto old = auth_->GetClient("old");
  ASSERT_TRUE(old.ok()) << old.status().message();
  ASSERT_TRUE(old->has_value());
  EXPECT_EQ((*old)->status, ClientStatus::kActive);
  EXPECT_EQ((*old)->registered_by, "cli");
  EXPECT_EQ((*old)->updated_at, 1000);
  EXPECT_EQ((*old)->redirect_uris, std::vector<std::string>{"https://old.example/cb"});
  EXPECT_TRUE((*old)->contacts.empty());
  EXPECT_EQ((*auth_->GetClient("off"))->status, ClientStatus::kSuspended);
  // The new columns and table are writable.
  Client c = **old;
  c.policy_uri = "https://old.example/privacy";
  ASSERT_TRUE(auth_->PutClient(c).ok());
  EXPECT_EQ((*auth_->GetClient("old"))->policy_uri, c.policy_uri);
  Operator op;
  op.username = "olga";
  op.password_hash = "h";
  ASSERT_TRUE(auth_->PutOperator(op).ok());
  // Opening again does not upgrade twice.
  auth_.reset();
  again = SqliteAuthStore::Open(*store_);
  ASSERT_TRUE(again.ok()) << again.status().message();
  auth_ = std::move(*again);
  EXPECT_EQ((*auth_->GetClient("old"))->policy_uri, c.policy_uri);
}

TEST_F(SqliteAuthStoreTest, NewerSchemaIsRefused) {
  {
    SqliteStore::WriterLock lock = store_->LockWriter();
    ASSERT_TRUE(store_->writer()
                    .Exec("UPDATE schema_info SET value = '99' WHERE key = 'auth_schema'")
                    .ok());
  }
  auto again = SqliteAuthStore::Open(*store_);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace portico::store::sqlite

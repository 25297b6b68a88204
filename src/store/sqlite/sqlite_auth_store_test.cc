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
  EXPECT_EQ((*st)->Text(0), "1");
}

TEST_F(SqliteAuthStoreTest, NewerSchemaIsRefused) {
  {
    std::lock_guard<std::mutex> lock(store_->writer_mutex());
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

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

TEST_F(SqliteAuthStoreTest, ClientRoundTrip) {
  Client c;
  c.client_id = "app";
  c.name = "My \"App\"";
  c.type = ClientType::kConfidentialAsymmetric;
  c.secret_hash = "";
  c.jwks_url = "https://app.example/jwks";
  c.jwks_json = R"({"keys":[]})";
  c.redirect_uris = {"https://app.example/cb", "https://app.example/cb2?x=\"y\""};
  c.scope = "launch/patient patient/*.rs";
  c.active = false;
  c.created_at = kNow;
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
  EXPECT_FALSE(g.active);
  EXPECT_EQ(g.created_at, kNow);

  // Replace in place.
  c.type = ClientType::kPublic;
  c.redirect_uris = {};
  c.active = true;
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
  EXPECT_TRUE((*list)[1].active);

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

TEST_F(SqliteAuthStoreTest, RemoveClientRevokesItsGrants) {
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

TEST_F(SqliteAuthStoreTest, UserRoundTripAndRemove) {
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

TEST_F(SqliteAuthStoreTest, LoginFailuresLockAndReset) {
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

TEST_F(SqliteAuthStoreTest, AuthRequestRoundTripDeleteAndPurge) {
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

TEST_F(SqliteAuthStoreTest, CodeIsSingleUse) {
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

TEST_F(SqliteAuthStoreTest, PutCodePurgesLongExpiredCodes) {
  ASSERT_TRUE(auth_->PutCode(MakeCode("old")).ok());
  AuthCode later = MakeCode("later");
  later.expires_at = kNow + 60000 + 86400000LL + 1;
  ASSERT_TRUE(auth_->PutCode(later).ok());
  EXPECT_FALSE(auth_->TakeCode("old")->has_value());
  EXPECT_TRUE(auth_->TakeCode("later")->has_value());
}

TEST_F(SqliteAuthStoreTest, ConcurrentTakeCodeHasOneWinner) {
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

TEST_F(SqliteAuthStoreTest, GrantRoundTripAndLookups) {
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

TEST_F(SqliteAuthStoreTest, RotateRefreshIsCompareAndSwap) {
  ASSERT_TRUE(auth_->PutGrant(MakeGrant("g1", "alice", "p1", "r1")).ok());
  auto ok = auth_->RotateRefresh("g1", "r1", "r2", kNow + 7200000);
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(*ok);
  auto got = auth_->GetGrant("g1");
  EXPECT_EQ((*got)->refresh_hash, "r2");
  EXPECT_EQ((*got)->refresh_expires_at, kNow + 7200000);
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

TEST_F(SqliteAuthStoreTest, RevokeGrant) {
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

TEST_F(SqliteAuthStoreTest, RevokeGrantsOfPatientAndAll) {
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

TEST_F(SqliteAuthStoreTest, SigningKeysRetire) {
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

TEST_F(SqliteAuthStoreTest, AuditNewestFirstWithLimit) {
  for (int i = 0; i < 5; ++i) {
    AuditEvent e;
    e.at = kNow + (i < 3 ? i : 2);  // the last three share a timestamp
    e.event = "event." + std::to_string(i);
    e.client_id = "app";
    e.username = "alice";
    e.patient_id = "p1";
    e.detail = "d" + std::to_string(i);
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

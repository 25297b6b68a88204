#include "src/oauth/key_manager.h"

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "src/auth/base64url.h"
#include "src/auth/jws.h"
#include "src/oauth/access_token.h"
#include "src/store/testing/test_backends.h"

namespace portico::oauth {
namespace {

constexpr base::Millis kStart = 1767225600000;  // 2026-01-01

class StepClock : public base::Clock {
 public:
  base::Millis NowMillis() const override { return now; }
  base::Millis now = kStart;
};

class KeyManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto registry = fhir::SearchParamRegistry::LoadBuiltin();
    ASSERT_TRUE(registry.ok());
    auto db = store::testing::TestDatabase::Create(
        "sqlite", ::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_TRUE(db.ok()) << db.status().message();
    db_ = std::move(*db);
    ASSERT_TRUE(db_->Open(*registry, clock_, resources_, auth_).ok());
  }
  void TearDown() override {
    auth_.reset();
    resources_.reset();
    db_.reset();
  }

  AccessTokenFields Fields() const {
    return {"https://payer.example",
            "https://payer.example/fhir",
            "alice",
            "app",
            "patient/*.rs",
            "g-1",
            "p-1",
            "Patient/p-1",
            clock_.now / 1000,
            1800};
  }

  StatusOr<json::Value> Verify(KeyManager& keys, const std::string& token) {
    return VerifyAccessToken(keys, token, "https://payer.example", "https://payer.example/fhir",
                             clock_.now / 1000, 30);
  }

  static std::string HeaderAlg(const std::string& token) {
    auto header = auth::Base64UrlDecode(token.substr(0, token.find('.')));
    auto parsed = json::Parse(*header);
    return std::string(parsed->GetString("alg"));
  }

  StepClock clock_;
  std::unique_ptr<store::testing::TestDatabase> db_;
  std::unique_ptr<store::ResourceStore> resources_;
  std::unique_ptr<store::AuthStore> auth_;
};

TEST_F(KeyManagerTest, AnEmptyStoreGetsAnRsaKeyForIdTokensAndAnEcKeyForAccessTokens) {
  KeyManager keys(*auth_, clock_);
  ASSERT_TRUE(keys.Init().ok());
  auto snap = keys.Get();
  ASSERT_NE(snap, nullptr);
  ASSERT_NE(snap->id_token_key, nullptr);
  ASSERT_NE(snap->access_token_key, nullptr);
  EXPECT_EQ(snap->id_token_key->alg(), "RS256");
  EXPECT_EQ(snap->access_token_key->alg(), "ES256");
  EXPECT_EQ(snap->published.size(), 2u);
  EXPECT_EQ(auth_->ListSigningKeys()->size(), 2u);

  auto token = SignAccessToken(*snap->access_token_key, Fields());
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(HeaderAlg(*token), "ES256");
  auto claims = Verify(keys, *token);
  ASSERT_TRUE(claims.ok()) << claims.status().message();
  EXPECT_EQ(claims->GetString("patient"), "p-1");

  // A second start (another node) adds nothing.
  KeyManager again(*auth_, clock_);
  ASSERT_TRUE(again.Init().ok());
  EXPECT_EQ(auth_->ListSigningKeys()->size(), 2u);
  EXPECT_EQ(again.Get()->access_token_key->kid(), snap->access_token_key->kid());
}

TEST_F(KeyManagerTest, AStoreWithOnlyAnRsaKeyKeepsItAndGainsAnEcKey) {
  // As a store written before access tokens had a key of their own.
  auto rsa = auth::SigningKey::Generate(auth::KeyType::kRsa);
  ASSERT_TRUE(rsa.ok());
  ASSERT_TRUE(auth_->PutSigningKey({rsa->kid(), *rsa->ToPem(), kStart - 1000, 0}).ok());
  // A token that key signed before the upgrade.
  auto old_token = SignAccessToken(*rsa, Fields());
  ASSERT_TRUE(old_token.ok());
  EXPECT_EQ(HeaderAlg(*old_token), "RS256");

  KeyManager keys(*auth_, clock_);
  ASSERT_TRUE(keys.Init().ok());
  auto snap = keys.Get();
  EXPECT_EQ(snap->id_token_key->kid(), rsa->kid());
  EXPECT_EQ(snap->access_token_key->alg(), "ES256");
  EXPECT_EQ(auth_->ListSigningKeys()->size(), 2u);
  // The old token stays valid until it expires.
  EXPECT_TRUE(Verify(keys, *old_token).ok());
}

TEST_F(KeyManagerTest, RotationReplacesBothKeysAndKeepsTheOldOnesPublished) {
  KeyManager keys(*auth_, clock_);
  ASSERT_TRUE(keys.Init().ok());
  auto before = keys.Get();
  auto old_token = SignAccessToken(*before->access_token_key, Fields());
  ASSERT_TRUE(old_token.ok());

  clock_.now += 1000;
  auto kids = keys.Rotate();
  ASSERT_TRUE(kids.ok()) << kids.status().message();
  ASSERT_EQ(kids->size(), 2u);
  auto after = keys.Get();
  EXPECT_EQ(after->id_token_key->kid(), (*kids)[0]);
  EXPECT_EQ(after->access_token_key->kid(), (*kids)[1]);
  EXPECT_NE(after->id_token_key->kid(), before->id_token_key->kid());
  EXPECT_NE(after->access_token_key->kid(), before->access_token_key->kid());
  EXPECT_EQ(after->published.size(), 4u);
  EXPECT_TRUE(Verify(keys, *old_token).ok());

  // Past the retention (a day by default) the old keys are gone, and so are their tokens.
  clock_.now += 86400 * 1000LL + 10000;
  KeyManager later(*auth_, clock_);
  ASSERT_TRUE(later.Init().ok());
  EXPECT_EQ(later.Get()->published.size(), 2u);
  EXPECT_FALSE(Verify(later, *old_token).ok());
}

TEST_F(KeyManagerTest, OnlyAccessTokensPassAsAccessTokens) {
  KeyManager keys(*auth_, clock_);
  ASSERT_TRUE(keys.Init().ok());
  auto snap = keys.Get();
  json::Value claims = json::Value::MakeObject();
  claims.Set("iss", json::Value::String("https://payer.example"));
  claims.Set("aud", json::Value::String("https://payer.example/fhir"));
  claims.Set("exp", json::Value::Int(clock_.now / 1000 + 600));
  claims.Set("iat", json::Value::Int(clock_.now / 1000));
  claims.Set("gid", json::Value::String("g-1"));
  // The same claims, signed by our own keys, yet not typed as an access token.
  for (const auto& key : {snap->id_token_key, snap->access_token_key}) {
    auto jwt = auth::SignJwt(*key, claims, "JWT");
    ASSERT_TRUE(jwt.ok());
    auto verified = Verify(keys, *jwt);
    ASSERT_FALSE(verified.ok()) << key->alg();
    EXPECT_EQ(verified.status().code(), StatusCode::kUnauthenticated);
  }
  auto at = auth::SignJwt(*snap->access_token_key, claims, "at+jwt");
  ASSERT_TRUE(at.ok());
  EXPECT_TRUE(Verify(keys, *at).ok());
}

}  // namespace
}  // namespace portico::oauth
